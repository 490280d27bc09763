"""ListIndicators, DescribeIndicator and ComputeIndicators by name and by formula, over a real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
import talib
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from idc.v1 import bars_pb2, catalogue_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.server import start_server

Spec = indicators_pb2.IndicatorSpec
Value = indicators_pb2.ParameterValue


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


def rejected(call: Any, request: Any) -> tuple[grpc.StatusCode, str, list[str]]:
    """The status code, message and BadRequest fields of a call that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=30)
    error: Any = caught.value
    fields = []
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [violation.field for violation in bad.field_violations]
    return error.code(), error.details(), fields


def padded(response: indicator_pb2.ComputeIndicatorsResponse) -> dict[str, np.ndarray]:
    columns = {}
    for series in response.series:
        column = np.full(len(response.dates), np.nan)
        column[series.first_valid_index :] = series.values
        columns[series.name] = column
    return columns


def spy_close(stub: Any) -> np.ndarray:
    bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY"), timeout=30).bars
    return np.asarray(bars.close, dtype=np.float64)


def test_list_indicators_lists_every_source(stub: Any) -> None:
    listed = stub.ListIndicators(indicator_pb2.ListIndicatorsRequest(), timeout=30).indicators
    names = [entry.name for entry in listed]
    assert names == sorted(names, key=str.casefold)
    namespaces = {name.split(".")[0] for name in names}
    assert {"talib", "tdx", "idc", "example"} <= namespaces
    assert len([name for name in names if name.startswith("talib.")]) == len(talib.get_functions()) - 1  # less MAVP
    assert {f"tdx.{name}" for name in ("MACD", "KDJ", "RSI", "BOLL", "DMI", "ASI")} <= set(names)
    adx = next(entry for entry in listed if entry.name == "talib.ADX")
    assert adx.group == "Momentum Indicators"
    assert list(adx.inputs) == ["high", "low", "close"]
    (period,) = adx.parameters
    assert (period.name, period.type, period.default_value.number) == (
        "timeperiod",
        catalogue_pb2.PARAMETER_TYPE_INT,
        14,
    )
    assert (period.minimum, period.maximum) == (2, 1000)
    assert [(o.name, o.kind) for o in adx.outputs] == [("real", indicators_pb2.OUTPUT_KIND_PERCENT)]
    assert list(adx.conventions) == [indicators_pb2.CONVENTION_TALIB]
    assert list(adx.warm_up_bars) == [talib.abstract.Function("ADX").lookback]  # 27
    macd = next(entry for entry in listed if entry.name == "tdx.MACD")
    assert macd.formula.startswith("// group: trend")
    assert "DIF:EMA(CLOSE,SHORT)-EMA(CLOSE,LONG)" in macd.formula
    assert list(macd.conventions) == [indicators_pb2.CONVENTION_TDX]
    engulfing = next(entry for entry in listed if entry.name == "talib.CDLENGULFING")
    assert engulfing.outputs[0].kind == indicators_pb2.OUTPUT_KIND_SIGNAL


def test_list_indicators_filters_by_namespace(stub: Any) -> None:
    tdx = stub.ListIndicators(indicator_pb2.ListIndicatorsRequest(namespace="TDX"), timeout=30).indicators
    assert len(tdx) == 18
    assert all(entry.name.startswith("tdx.") for entry in tdx)
    assert not stub.ListIndicators(indicator_pb2.ListIndicatorsRequest(namespace="nope"), timeout=30).indicators


def test_compute_by_name_equals_talib(stub: Any) -> None:
    response = stub.ComputeIndicators(
        indicator_pb2.ComputeIndicatorsRequest(
            symbol="SPY",
            indicators=[
                Spec(name="talib.ADX", params={"timeperiod": Value(number=10)}),
                Spec(name="bbands", label="bb", params={"matype": Value(choice="ema"), "nbdevup": Value(number=1.5)}),
                Spec(sma=indicators_pb2.SMAParameters(period=5)),
            ],
        ),
        timeout=30,
    )
    bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY"), timeout=30).bars
    high, low, close = (np.asarray(getattr(bars, name), dtype=np.float64) for name in ("high", "low", "close"))
    columns = padded(response)
    assert [series.name for series in response.series] == [
        "adx",
        "bb.upperband",
        "bb.middleband",
        "bb.lowerband",
        "sma",
    ]
    np.testing.assert_array_equal(columns["adx"], talib.ADX(high, low, close, 10))
    assert response.series[0].first_valid_index == talib.abstract.Function("ADX", timeperiod=10).lookback
    upper, _middle, lower = talib.BBANDS(close, 20, 1.5, 2.0, 1)  # TA-Lib's default period is 20
    np.testing.assert_array_equal(columns["bb.upperband"], upper)
    np.testing.assert_array_equal(columns["bb.lowerband"], lower)
    kinds = [series.kind for series in response.series]
    assert kinds == [indicators_pb2.OUTPUT_KIND_PERCENT, *[indicators_pb2.OUTPUT_KIND_PRICE] * 4]


def test_compute_a_formula_and_a_tdx_file(stub: Any) -> None:
    formula = "DIF:EMA(CLOSE,12)-EMA(CLOSE,26); DEA:EMA(DIF,9); MACD:(DIF-DEA)*2; UP:CROSS(DIF,DEA);"
    response = stub.ComputeIndicators(
        indicator_pb2.ComputeIndicatorsRequest(
            symbol="SPY",
            indicators=[
                Spec(formula=formula),
                Spec(name="tdx.MACD", label="file"),
                Spec(label="typed", macd=bars_pb2.MACDParameters()),
            ],
            convention=indicators_pb2.CONVENTION_TDX,
        ),
        timeout=30,
    )
    columns = padded(response)
    close = pd.Series(spy_close(stub))
    dif = close.ewm(span=12, adjust=False).mean() - close.ewm(span=26, adjust=False).mean()
    dea = dif.ewm(span=9, adjust=False).mean()
    np.testing.assert_allclose(columns["formula.DIF"], dif, rtol=0, atol=1e-9)
    np.testing.assert_allclose(columns["formula.DEA"], dea, rtol=0, atol=1e-9)
    for name in ("DIF", "DEA", "MACD"):
        np.testing.assert_array_equal(columns[f"formula.{name}"], columns[f"file.{name}"])
    # The shipped MACD file agrees with the typed 通达信 MACD (decision 0005) to 1e-9.
    np.testing.assert_allclose(columns["file.DIF"], columns["typed.macd"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(columns["file.DEA"], columns["typed.signal"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(columns["file.MACD"], columns["typed.histogram"], rtol=0, atol=1e-9)
    up = (dif > dea) & (dif.shift(1) <= dea.shift(1))
    np.testing.assert_array_equal(columns["formula.UP"][1:], up.to_numpy(dtype=float)[1:])
    signal = next(series for series in response.series if series.name == "formula.UP")
    assert signal.kind == indicators_pb2.OUTPUT_KIND_SIGNAL


def test_the_example_plugin_computes_by_name(stub: Any) -> None:
    response = stub.ComputeIndicators(
        indicator_pb2.ComputeIndicatorsRequest(
            symbol="SPY",
            indicators=[
                Spec(name="example.ZSCORE", params={"timeperiod": Value(number=10)}),
                Spec(name="example.DONCHIAN"),  # a bare DONCHIAN is ambiguous: TA-Lib 0.8 has one too
            ],
        ),
        timeout=30,
    )
    close = pd.Series(spy_close(stub))
    # An independent z-score: pandas' rolling mean and population standard deviation.
    expected = (close - close.rolling(10).mean()) / close.rolling(10).std(ddof=0)
    columns = padded(response)
    # pandas' rolling std is a running sum: about 1e-9 from the plugin's exact windows on near-flat ones.
    np.testing.assert_allclose(columns["zscore"], expected.to_numpy(), rtol=1e-8, atol=1e-9)
    assert response.series[0].first_valid_index == 9
    assert [series.name for series in response.series[1:]] == ["donchian.upper", "donchian.middle", "donchian.lower"]
    assert {series.kind for series in response.series[1:]} == {indicators_pb2.OUTPUT_KIND_PRICE}


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (Spec(name="talib.ADXX"), "indicators[0].name", "unknown indicator 'talib.ADXX'; did you mean talib.ADX"),
        (Spec(name="macd"), "indicators[0].name", "'macd' is ambiguous: idc.macd, talib.MACD, tdx.MACD"),
        (
            Spec(name="talib.ADX", params={"timeperiod": Value(number=0)}),
            "indicators[0].params.timeperiod",
            "0 is below the minimum 2",
        ),
        (
            Spec(name="talib.ADX", params={"period": Value(number=5)}),
            "indicators[0].params.period",
            "talib.ADX has no parameter 'period'; its parameters are timeperiod",
        ),
        (
            Spec(name="talib.ADX", params={"timeperiod": Value(choice="x")}),
            "indicators[0].params.timeperiod",
            "must be an integer, got 'x'",
        ),
        (Spec(name="talib.ADX", params={"timeperiod": Value()}), "indicators[0].params.timeperiod", "no value set"),
        (Spec(), "indicators[0]", "set exactly one of a typed member"),
        (Spec(name="talib.ADX", formula="C;"), "indicators[0]", "got name and formula"),
        (
            Spec(sma=indicators_pb2.SMAParameters(), params={"period": Value(number=5)}),
            "indicators[0].params",
            "must be empty with a typed member",
        ),
        (Spec(formula="X:MA(C,5"), "indicators[0].formula", "line 1, column 9: expected"),
        (Spec(name="example.ZSCORE", label="Z"), "indicators[0].label", "must match"),
    ],
)
def test_bad_specs_name_the_field(stub: Any, spec: Any, field: str, message: str) -> None:
    request = indicator_pb2.ComputeIndicatorsRequest(symbol="SPY", indicators=[spec])
    code, details, fields = rejected(stub.ComputeIndicators, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == [field]
    assert message in details, details


def test_a_convention_the_entry_does_not_support_is_refused(stub: Any) -> None:
    request = indicator_pb2.ComputeIndicatorsRequest(
        symbol="SPY", indicators=[Spec(name="talib.SMA")], convention=indicators_pb2.CONVENTION_TDX
    )
    code, details, fields = rejected(stub.ComputeIndicators, request)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["convention"])
    assert "talib.SMA supports TALIB, not TDX" in details


def test_describe_fills_defaults_and_warm_up(stub: Any) -> None:
    response = stub.DescribeIndicator(
        indicator_pb2.DescribeIndicatorRequest(
            spec=Spec(name="talib.MACD", params={"slowperiod": Value(number=30)}, label="m")
        ),
        timeout=30,
    )
    assert response.indicator.name == "talib.MACD"
    assert {name: value.number for name, value in response.params.items()} == {
        "fastperiod": 12,
        "slowperiod": 30,
        "signalperiod": 9,
    }
    assert response.warm_up_bars == talib.abstract.Function("MACD", slowperiod=30).lookback  # 37
    assert list(response.series_names) == ["m.macd", "m.macdsignal", "m.macdhist"]
    assert response.convention == indicators_pb2.CONVENTION_TALIB
    typed = stub.DescribeIndicator(
        indicator_pb2.DescribeIndicatorRequest(spec=Spec(rsi=indicators_pb2.RSIParameters(period=6))), timeout=30
    )
    assert (typed.indicator.name, typed.params["period"].number, typed.warm_up_bars) == ("idc.rsi", 6, 6)
    formula = stub.DescribeIndicator(
        indicator_pb2.DescribeIndicatorRequest(
            spec=Spec(formula="// param: N = 5, 1..50, the window\nM:MA(C,N);\nUP:C>M;", params={"N": Value(number=7)})
        ),
        timeout=30,
    )
    assert formula.indicator.name == "formula.formula"
    assert [(p.name, p.minimum, p.maximum) for p in formula.indicator.parameters] == [("N", 1, 50)]
    assert (formula.params["N"].number, formula.warm_up_bars) == (7, 6)
    assert list(formula.series_names) == ["formula.M", "formula.UP"]
    assert formula.convention == indicators_pb2.CONVENTION_TDX
    code, _, fields = rejected(stub.DescribeIndicator, indicator_pb2.DescribeIndicatorRequest(spec=Spec(name="ZZZ")))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["spec.name"])


@pytest.fixture(scope="module")
def broken_stub() -> Iterator[indicator_grpc.IndicatorServiceStub]:
    """A server of its own with misbehaving plugins (tests/plugin_support.py)."""
    running = start_server(ServerConfig(host="127.0.0.1", port=0, render_workers=0, plugins=("plugin_support:BROKEN",)))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield indicator_grpc.IndicatorServiceStub(channel)
    running.stop(None)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken.RAISES", "indicator broken.RAISES failed on these bars (ZeroDivisionError)"),
        ("broken.SHORT", "indicator broken.SHORT failed on these bars (CatalogueError)"),
    ],
)
def test_a_failing_plugin_is_failed_precondition_naming_it(broken_stub: Any, name: str, message: str) -> None:
    listed = broken_stub.ListIndicators(indicator_pb2.ListIndicatorsRequest(namespace="broken"), timeout=30)
    assert [entry.name for entry in listed.indicators] == ["broken.RAISES", "broken.SHORT"]
    for source in (
        {"symbol": "SPY"},
        {"inline_bars": bars_pb2.Bars(dates=[1, 2], open=[1, 1], high=[2, 2], low=[1, 1], close=[1, 2], volume=[5, 5])},
    ):
        request = indicator_pb2.ComputeIndicatorsRequest(indicators=[Spec(name=name)], **source)
        code, details, _ = rejected(broken_stub.ComputeIndicators, request)
        assert code == grpc.StatusCode.FAILED_PRECONDITION
        assert details == f"indicators[0]: {message}; see the server's log"
    # The server still serves.
    ok = broken_stub.ComputeIndicators(
        indicator_pb2.ComputeIndicatorsRequest(symbol="SPY", indicators=[Spec(name="talib.SMA")]), timeout=30
    )
    assert ok.series[0].name == "sma"
