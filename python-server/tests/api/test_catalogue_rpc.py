"""ListIndicators, DescribeIndicator and ComputeIndicators by name and by formula, over a real server."""

from __future__ import annotations

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
