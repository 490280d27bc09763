"""ComputeIndicators, ListSymbols and inline bars over a real server."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import pytest
import talib
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from talib._ta_lib import MA_Type  # talib does not re-export it for type checkers

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

Spec = indicators_pb2.IndicatorSpec


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


@pytest.fixture(scope="module")
def spy(stub: Any) -> bars_pb2.Bars:
    """SPY's whole history, as the server sends it."""
    bars: bars_pb2.Bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY"), timeout=10).bars
    return bars


def every_indicator() -> list[indicators_pb2.IndicatorSpec]:
    return [
        Spec(label="sma20", sma=indicators_pb2.SMAParameters(period=20)),
        Spec(ema=indicators_pb2.EMAParameters(period=12)),
        Spec(macd=bars_pb2.MACDParameters()),
        Spec(rsi=indicators_pb2.RSIParameters()),
        Spec(boll=indicators_pb2.BollingerParameters()),
        Spec(kdj=indicators_pb2.KDJParameters()),
    ]


def padded(response: indicator_pb2.ComputeIndicatorsResponse) -> dict[str, np.ndarray]:
    """Each series as a full-length array, NaN before its first valid bar."""
    columns = {}
    for series in response.series:
        column = np.full(len(response.dates), np.nan)
        column[series.first_valid_index :] = series.values
        columns[series.name] = column
    return columns


def test_list_symbols_gives_ranges_and_counts(stub: Any) -> None:
    response = stub.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=10)
    assert response.default_symbol == "SPY"
    assert [(s.symbol, s.first_date, s.last_date, s.bar_count) for s in response.symbols] == [
        ("000001.SH", "2010-01-04", "2026-06-16", 3993),
        ("000001.SH-1MIN", "2020-07-01", "2020-07-15", 2640),
        ("AAPL", "2004-08-19", "2018-01-19", 3379),
        ("SPX-1MIN", "2019-11-05", "2019-11-08", 1563),
        ("SPY", "1993-01-29", "2026-03-27", 8347),
    ]


def test_every_indicator_is_served_under_talib_and_matches_talib(stub: Any, spy: bars_pb2.Bars) -> None:
    request = indicator_pb2.ComputeIndicatorsRequest(
        symbol="SPY", convention=indicators_pb2.CONVENTION_TALIB, indicators=every_indicator()
    )
    response = stub.ComputeIndicators(request, timeout=10)
    assert response.symbol == "SPY"
    assert response.convention == indicators_pb2.CONVENTION_TALIB
    assert list(response.dates) == list(spy.dates)
    columns = padded(response)
    assert list(columns) == [
        "sma20", "ema", "macd.macd", "macd.signal", "macd.histogram", "rsi",
        "boll.upper", "boll.middle", "boll.lower", "kdj.k", "kdj.d", "kdj.j",
    ]  # fmt: skip
    close = np.asarray(spy.close)
    upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, matype=MA_Type.SMA)
    macd, signal, histogram = talib.MACD(close, 12, 26, 9)
    expected = {
        "sma20": talib.SMA(close, 20),
        "ema": talib.EMA(close, 12),
        "macd.macd": macd,
        "macd.signal": signal,
        "macd.histogram": histogram,
        "rsi": talib.RSI(close, 14),
        "boll.upper": upper,
        "boll.middle": middle,
        "boll.lower": lower,
    }
    for name, values in expected.items():
        np.testing.assert_allclose(columns[name], values, atol=1e-9, equal_nan=True, err_msg=name)
    assert np.nanmin(columns["kdj.k"]) >= 0
    assert np.nanmax(columns["kdj.k"]) <= 100


def test_window_is_cut_after_computing_over_the_whole_history(stub: Any) -> None:
    def ask(start: str) -> dict[str, np.ndarray]:
        request = indicator_pb2.ComputeIndicatorsRequest(
            symbol="spy", start_date=start, end_date="2023-12-29", indicators=every_indicator()
        )
        return padded(stub.ComputeIndicators(request, timeout=10))

    year, month = ask("2023-01-01"), ask("2023-12-01")
    for name, values in month.items():
        np.testing.assert_array_equal(values, year[name][-len(values) :], err_msg=name)
        assert not np.isnan(values).any()


def test_inline_bars_give_the_same_values_as_the_store(stub: Any, spy: bars_pb2.Bars) -> None:
    request = indicator_pb2.ComputeIndicatorsRequest(indicators=every_indicator(), start_date="2020-01-01")
    from_store = stub.ComputeIndicators(request, timeout=10)
    request.inline_bars.CopyFrom(spy)
    inline = stub.ComputeIndicators(request, timeout=10)
    assert inline.symbol == ""
    assert list(inline.dates) == list(from_store.dates)
    assert list(inline.series) == list(from_store.series)


def test_inline_bars_work_for_get_macd(stub: Any, spy: bars_pb2.Bars) -> None:
    inline = stub.GetMACD(indicator_pb2.GetMACDRequest(inline_bars=spy, start_date="2023-12-29"), timeout=10)
    assert inline.symbol == ""
    assert inline.macd[0] == pytest.approx(7.4880921771, abs=1e-9)


def bars(count: int, **change: list[float]) -> bars_pb2.Bars:
    columns: dict[str, Any] = {
        "dates": list(range(19000, 19000 + count)),
        "open": [10.0] * count,
        "high": [11.0] * count,
        "low": [9.0] * count,
        "close": list(np.linspace(9.5, 10.5, count)),
        "volume": [100.0] * count,
    }
    return bars_pb2.Bars(**(columns | change))


BAD_REQUESTS: list[tuple[dict[str, Any], grpc.StatusCode, str]] = [
    ({"indicators": []}, grpc.StatusCode.INVALID_ARGUMENT, "indicators"),
    ({"indicators": [Spec()] * 33}, grpc.StatusCode.INVALID_ARGUMENT, "indicators"),
    ({"indicators": [Spec(label="x")]}, grpc.StatusCode.INVALID_ARGUMENT, "indicators[0]"),
    (
        {"indicators": [Spec(sma=indicators_pb2.SMAParameters(period=-1))]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].sma.period",
    ),
    (
        {
            "indicators": [
                Spec(rsi=indicators_pb2.RSIParameters()),
                Spec(macd=bars_pb2.MACDParameters(fast_period=26, slow_period=12)),
            ]
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[1].macd.fast_period",
    ),
    (
        {"indicators": [Spec(boll=indicators_pb2.BollingerParameters(k=-1))]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].boll.k",
    ),
    (
        {"indicators": [Spec(boll=indicators_pb2.BollingerParameters(std_dev=9))]},  # type: ignore[arg-type]
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].boll.std_dev",
    ),
    (
        {"indicators": [Spec(kdj=indicators_pb2.KDJParameters(d_period=1001))]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].kdj.d_period",
    ),
    (
        {"inline_bars": bars(10), "indicators": [Spec(sma=indicators_pb2.SMAParameters(period=50))]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].sma.period",
    ),
    (
        {
            "indicators": [
                Spec(label="x", sma=indicators_pb2.SMAParameters()),
                Spec(label="x", ema=indicators_pb2.EMAParameters()),
            ]
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[1].label",
    ),
    (
        {"indicators": [Spec(label="Bad-Label", sma=indicators_pb2.SMAParameters())]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "indicators[0].label",
    ),
    (
        {"indicators": [Spec(sma=indicators_pb2.SMAParameters())], "convention": 7},
        grpc.StatusCode.INVALID_ARGUMENT,
        "convention",
    ),
    (
        {
            "inline_bars": bars(3, close=[1.0, float("nan"), 1.0]),
            "indicators": [Spec(sma=indicators_pb2.SMAParameters())],
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.close",
    ),
    (
        {"inline_bars": bars(3, volume=[1.0, 2.0]), "indicators": [Spec(sma=indicators_pb2.SMAParameters())]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.volume",
    ),
    (
        {"inline_bars": bars(3, dates=[5, 4, 6]), "indicators": [Spec(sma=indicators_pb2.SMAParameters())]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.dates",
    ),
    (
        {"inline_bars": bars(3, high=[11.0, 8.0, 11.0]), "indicators": [Spec(sma=indicators_pb2.SMAParameters())]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.high",
    ),
    (
        {"inline_bars": bars(0), "indicators": [Spec(sma=indicators_pb2.SMAParameters())]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "inline_bars.dates",
    ),
    ({"symbol": "NOPE", "indicators": [Spec(sma=indicators_pb2.SMAParameters())]}, grpc.StatusCode.NOT_FOUND, "symbol"),
    (
        {
            "start_date": "2023-01-07",
            "end_date": "2023-01-08",
            "indicators": [Spec(sma=indicators_pb2.SMAParameters())],
        },
        grpc.StatusCode.NOT_FOUND,
        "start_date",
    ),
]


@pytest.mark.parametrize(("fields", "code", "field"), BAD_REQUESTS)
def test_bad_request_gets_its_status_and_names_the_field(
    stub: Any, fields: dict[str, Any], code: grpc.StatusCode, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ComputeIndicators(indicator_pb2.ComputeIndicatorsRequest(**fields), timeout=10)
    assert caught.value.code() == code
    assert (caught.value.details() or "").startswith(f"{field}: ")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
        bad_request = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(bad_request)
        assert [violation.field for violation in bad_request.field_violations] == [field]
    # The server keeps serving.
    assert stub.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=10).default_symbol == "SPY"


def test_more_inline_bars_than_the_limit_are_refused(stub: Any) -> None:
    from idc_server.config import ServerConfig

    limit = ServerConfig().max_bars
    count = limit + 1
    request = indicator_pb2.ComputeIndicatorsRequest(
        inline_bars=bars(count), indicators=[Spec(sma=indicators_pb2.SMAParameters())]
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.ComputeIndicators(request, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"limit of {limit}" in (caught.value.details() or "")
