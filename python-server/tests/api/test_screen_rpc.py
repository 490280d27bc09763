"""Screen (选股) over the bundled symbols, checked against pandas and direct TA-Lib calls."""

from __future__ import annotations

import datetime
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest
import talib

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

Spec = indicators_pb2.IndicatorSpec
EPOCH = datetime.date(1970, 1, 1)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


@pytest.fixture(scope="module")
def bundled(stub: Any) -> dict[str, pd.DataFrame]:
    """Every ready bundled symbol's whole history, as the server sends it, indexed by day number."""
    symbols = stub.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=30).symbols
    frames = {}
    for info in symbols:
        if info.state != indicator_pb2.SYMBOL_STATE_READY:
            continue
        # Short MACD periods: the 1-minute symbols have only a few days of daily bars.
        periods = bars_pb2.MACDParameters(fast_period=1, slow_period=2, signal_period=1)
        bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol=info.symbol, parameters=periods), timeout=30).bars
        columns: dict[str, Any] = {
            name: np.asarray(getattr(bars, name), dtype=np.float64) for name in ("open", "high", "low", "close")
        }
        columns["time"] = np.asarray(bars.times, dtype=np.int64)
        frames[info.symbol] = pd.DataFrame(columns, index=np.asarray(bars.dates))
    assert {"SPY", "AAPL", "000001.SH"} <= set(frames)
    return frames


def day_text(day: int) -> str:
    return (EPOCH + datetime.timedelta(days=int(day))).isoformat()


def above_ma20(frame: pd.DataFrame) -> pd.Series:
    close = frame["close"]
    return close > close.rolling(20).mean()


def test_a_formula_on_each_symbols_last_bar(stub: Any, bundled: dict[str, pd.DataFrame]) -> None:
    response = stub.Screen(indicator_pb2.ScreenRequest(condition=Spec(formula="UP:C>MA(C,20);")), timeout=60)
    expected = sorted(symbol for symbol, frame in bundled.items() if above_ma20(frame).iloc[-1])
    assert [match.symbol for match in response.matches] == expected
    # A comparison has no warm-up (C > NaN is 0), so the short 1-minute symbols are evaluated too.
    assert response.evaluated_count == len(bundled)
    assert not response.skipped
    assert (response.output, response.convention) == ("UP", indicators_pb2.CONVENTION_TDX)
    for match in response.matches:
        frame = bundled[match.symbol]
        assert match.date == frame.index[-1]
        assert match.time == frame["time"].iloc[-1]  # the bar's start: 00:00 of the day in the exchange's zone
        assert dict(match.values) == {"formula": 1.0}  # one output: named by the label alone


def test_a_formula_on_a_date_with_the_deciding_values(stub: Any, bundled: dict[str, pd.DataFrame]) -> None:
    spy = bundled["SPY"]
    day = int(spy.index[-40])
    condition = Spec(label="cmp", formula="MA20:MA(C,20); UP:C>MA20;")
    response = stub.Screen(
        indicator_pb2.ScreenRequest(condition=condition, symbols=["spy", "AAPL"], date=day_text(day)), timeout=60
    )
    expected = []
    for symbol in ("AAPL", "SPY"):
        frame = bundled[symbol].loc[:day]
        if above_ma20(frame).iloc[-1]:
            expected.append(symbol)
    assert [match.symbol for match in response.matches] == expected
    for match in response.matches:
        frame = bundled[match.symbol].loc[:day]
        ma20 = frame["close"].rolling(20).mean().iloc[-1]
        assert match.values["cmp.MA20"] == pytest.approx(ma20, rel=1e-12)
        assert match.values["cmp.UP"] == 1.0


def test_a_talib_pattern_on_a_known_date(stub: Any, bundled: dict[str, pd.DataFrame]) -> None:
    spy = bundled["SPY"]
    codes = talib.CDLENGULFING(*(spy[name].to_numpy() for name in ("open", "high", "low", "close")))
    fired, quiet = np.flatnonzero(codes != 0)[-1], np.flatnonzero(codes == 0)[-1]
    for position, holds in ((fired, True), (quiet, False)):
        request = indicator_pb2.ScreenRequest(
            condition=Spec(name="talib.CDLENGULFING"), symbols=["SPY"], date=day_text(spy.index[position])
        )
        response = stub.Screen(request, timeout=60)
        assert response.evaluated_count == 1
        assert [match.symbol for match in response.matches] == (["SPY"] if holds else [])
        if holds:
            assert response.matches[0].values["cdlengulfing"] == codes[position]
            assert response.matches[0].date == spy.index[position]


def test_symbols_that_cannot_be_evaluated_are_skipped(stub: Any, bundled: dict[str, pd.DataFrame]) -> None:
    spy = bundled["SPY"]
    # A comparison has a value (0) from bar 0 in 通达信; the average itself has 19 warm-up bars.
    response = stub.Screen(
        indicator_pb2.ScreenRequest(condition=Spec(formula="MA(C,20)"), date=day_text(spy.index[5])), timeout=60
    )
    reasons = {skip.symbol: skip.reason for skip in response.skipped}
    assert reasons["SPY"] == "warm-up: the first 19 bars have no value"
    for symbol, frame in bundled.items():
        if frame.index[0] > spy.index[5]:
            assert reasons[symbol] == f"no bar on or before {day_text(spy.index[5])}"
    assert response.evaluated_count + len(response.skipped) == len(bundled)


@pytest.mark.parametrize(
    ("request_fields", "code", "field", "message"),
    [
        ({"condition": Spec(name="nope.X")}, grpc.StatusCode.INVALID_ARGUMENT, "condition.name", "unknown indicator"),
        ({"condition": Spec(name="talib.MACD")}, grpc.StatusCode.INVALID_ARGUMENT, "output", "choose which output"),
        (
            {"condition": Spec(name="talib.MACD"), "output": "K"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "output",
            "talib.MACD has no output 'K'; its outputs are macd, macdsignal, macdhist",
        ),
        (
            {"condition": Spec(formula="C>1"), "symbols": ["SPY", "NOPE"]},
            grpc.StatusCode.NOT_FOUND,
            "symbols[1]",
            "unknown symbol 'NOPE'",
        ),
        ({"condition": Spec(formula="C>1"), "date": "2024-13-01"}, grpc.StatusCode.INVALID_ARGUMENT, "date", ""),
        (
            {"condition": Spec(formula="C>1"), "symbols": ["SPY"] * 1001},
            grpc.StatusCode.INVALID_ARGUMENT,
            "symbols",
            "at most 1000",
        ),
    ],
)
def test_bad_screens_name_the_field(
    stub: Any, request_fields: dict[str, Any], code: grpc.StatusCode, field: str, message: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.Screen(indicator_pb2.ScreenRequest(**request_fields), timeout=30)
    error: Any = caught.value
    assert error.code() == code
    assert error.details().startswith(f"{field}: {message}"), error.details()


def test_a_typed_condition_and_an_output_by_name(stub: Any, bundled: dict[str, pd.DataFrame]) -> None:
    response = stub.Screen(
        indicator_pb2.ScreenRequest(
            condition=Spec(rsi=indicators_pb2.RSIParameters(period=14)), symbols=["SPY"], output="rsi"
        ),
        timeout=60,
    )
    close = bundled["SPY"]["close"].to_numpy()
    rsi = talib.RSI(close, 14)[-1]
    assert [match.symbol for match in response.matches] == ["SPY"]  # an RSI is non-zero: it "holds"
    assert response.matches[0].values["rsi"] == pytest.approx(rsi, abs=1e-9)


def test_the_condition_is_computed_at_the_requested_interval(stub: Any) -> None:
    weekly = stub.GetMACD(
        indicator_pb2.GetMACDRequest(symbol="SPY", interval=bars_pb2.INTERVAL_1_WEEK), timeout=30
    ).bars
    closes = pd.Series(np.asarray(weekly.close))
    request = indicator_pb2.ScreenRequest(
        condition=Spec(formula="D:C-MA(C,20);"), symbols=["SPY"], interval=bars_pb2.INTERVAL_1_WEEK
    )
    response = stub.Screen(request, timeout=60)
    difference = closes.iloc[-1] - closes.iloc[-20:].mean()
    assert difference != 0
    [match] = response.matches
    assert (match.date, match.time) == (weekly.dates[-1], weekly.times[-1])
    assert match.values["formula"] == pytest.approx(difference, rel=1e-12)


def test_a_symbol_that_cannot_take_the_adjustment_or_interval_is_skipped(stub: Any) -> None:
    forward = stub.Screen(
        indicator_pb2.ScreenRequest(
            condition=Spec(formula="C>0;"), symbols=["AAPL", "000001.SH"], adjustment=bars_pb2.ADJUSTMENT_FORWARD
        ),
        timeout=60,
    )
    assert [match.symbol for match in forward.matches] == ["000001.SH"]  # an index needs no adjustment
    [skip] = forward.skipped
    assert skip.symbol == "AAPL"
    assert "adjust" in skip.reason
    minutes = stub.Screen(
        indicator_pb2.ScreenRequest(
            condition=Spec(formula="C>0;"), symbols=["SPY"], interval=bars_pb2.INTERVAL_5_MINUTES
        ),
        timeout=60,
    )
    assert not minutes.matches
    assert [skip.symbol for skip in minutes.skipped] == ["SPY"]
    assert "1 day" in minutes.skipped[0].reason
