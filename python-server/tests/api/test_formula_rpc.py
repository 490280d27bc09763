"""Formulas through ComputeIndicators: hostile text is INVALID_ARGUMENT or a documented value, never a crash.

The formula engine's own tests cover each rule (tests/core/formula); these
check that what reaches the server over the wire gets the same answers, with
fields named under the request, and that a fuzzed formula gets nothing but
OK or INVALID_ARGUMENT.
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

Spec = indicators_pb2.IndicatorSpec
Value = indicators_pb2.ParameterValue
BARS = bars_pb2.Bars(
    dates=range(19_000, 19_030),
    open=np.linspace(10, 12, 30),
    high=np.linspace(11, 13, 30),
    low=np.linspace(9, 11, 30),
    close=np.linspace(10.5, 12.5, 30),
    volume=[1000.0] * 30,
)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


def compute(stub: Any, formula: str, **params: float) -> indicator_pb2.ComputeIndicatorsResponse:
    spec = Spec(formula=formula, params={name: Value(number=value) for name, value in params.items()})
    request = indicator_pb2.ComputeIndicatorsRequest(inline_bars=BARS, indicators=[spec])
    response: indicator_pb2.ComputeIndicatorsResponse = stub.ComputeIndicators(request, timeout=60)
    return response


@pytest.mark.parametrize(
    ("formula", "field", "message"),
    [
        ("X:" + "ABS(" * 150 + "C" + ")" * 150 + ";", "indicators[0].formula", "nested deeper than the limit of 100"),
        ("X:C;" * 1_000_000, "indicators[0].formula", "more than the limit of 20000"),
        ("X:C;" * 501, "indicators[0].formula", "501 statements, more than the limit of 500"),
        ("MA(C,100000000)", "indicators[0].formula", "line 1, column 1: MA"),
        ("FOO(C)", "indicators[0].formula", "line 1, column 1"),
        ("均线:MA(C,5);", "indicators[0].formula", "line 1, column 1"),
        ("__import__('os').system('true')", "indicators[0].formula", "line 1, column 1"),
        ("X:C;\x00", "indicators[0].formula", "line 1, column 5"),
        ("AMOUNT", "indicators[0].formula", "AMOUNT (turnover) is not supported"),
        ("X:MA(C,5", "indicators[0].formula", "line 1, column 9: expected"),
        ("", "indicators[0]", "set exactly one"),
    ],
)
def test_hostile_formulas_are_invalid_arguments_naming_the_field(
    stub: Any, formula: str, field: str, message: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        compute(stub, formula)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details().startswith(f"{field}: "), error.details()
    assert message.lower() in error.details().lower(), error.details()
    assert len(error.details()) < 1100


def test_deep_parentheses_alone_are_a_value(stub: Any) -> None:
    # Parentheses add no nesting depth (decision 0019): 9,000 of them around C are C.
    response = compute(stub, "(" * 9_000 + "C" + ")" * 9_000)
    np.testing.assert_array_equal(response.series[0].values, BARS.close)


def test_a_huge_period_through_a_parameter_names_the_parameter(stub: Any) -> None:
    formula = "// param: N = 5, 1..1000000000, the window\nX:MA(C,N);"
    assert compute(stub, formula, N=10).series[0].first_valid_index == 9
    with pytest.raises(grpc.RpcError) as caught:
        compute(stub, formula, N=100_000_000)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("indicators[0].params.N: "), error.details()


def test_division_by_zero_and_undefined_maths_give_nan(stub: Any) -> None:
    # Decision 0019: division by zero and undefined maths give NaN, never inf.
    response = compute(stub, "A:C/0; B:C/(C-C); D:SQRT(0-C); E:C*2;")
    values = {series.name: np.asarray(series.values) for series in response.series}
    assert all(np.isnan(values[name]).all() for name in ("formula.A", "formula.B", "formula.D"))
    np.testing.assert_array_equal(values["formula.E"], np.asarray(BARS.close) * 2)


TOKENS = st.sampled_from(
    [
        "C", "O", "H", "L", "V", "CLOSE", "VOL", "MA(", "EMA(", "SMA(", "REF(", "HHV(", "CROSS(", "IF(", "SUM(",
        "COUNT(", "BARSLAST(", "(", ")", ",", ";", ":", ":=", "+", "-", "*", "/", ">", "<", ">=", "<>", "=",
        "AND", "OR", "NOT", "0", "1", "5", "20", "1000", "1001", "0.5", "-3", "X", "Y", "N", "{c}", "//c\n",
        " ", "\n", "均", "\x00", "'", "__import__", "1e9",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TOKENS, max_size=40).map("".join) | st.text(max_size=60))
def test_fuzzed_formulas_give_ok_or_invalid_argument(stub: Any, formula: str) -> None:
    try:
        response = compute(stub, formula or "C")
    except grpc.RpcError as error:
        code: Any = error
        assert code.code() == grpc.StatusCode.INVALID_ARGUMENT, (formula, code.code(), code.details())
        return
    assert response.series
    for series in response.series:
        assert len(series.values) == len(BARS.dates) - series.first_valid_index
