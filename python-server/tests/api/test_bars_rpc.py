"""Bars of every interval over a real server: times, intervals, zones, windows of date-times, adjustments."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

SHANGHAI, NEW_YORK = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> indicator_grpc.IndicatorServiceStub:
    return indicator_grpc.IndicatorServiceStub(channel)


def epoch(text: str, zone: ZoneInfo) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp())


def fails(call: Any, request: Any, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=10)
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details() or ""


def test_five_minute_bars_of_a_date_time_window_skip_the_lunch_break(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(
        symbol="000001.sh-1min",
        start_date="2020-07-01T11:00",
        end_date="2020-07-01T13:10",
        interval=bars_pb2.INTERVAL_5_MINUTES,
    )
    response = stub.GetMACD(request, timeout=10)
    bars = response.bars
    starts = ["11:00", "11:05", "11:10", "11:15", "11:20", "11:25", "13:00", "13:05", "13:10"]  # the end is inclusive
    assert list(bars.times) == [epoch(f"2020-07-01T{start}", SHANGHAI) for start in starts]
    assert list(bars.dates) == [18444] * 9  # 2020-07-01
    assert (bars.interval, bars.time_zone) == (bars_pb2.INTERVAL_5_MINUTES, "Asia/Shanghai")
    assert response.adjustment == bars_pb2.ADJUSTMENT_AS_STORED
    assert len(bars.close) == 9


def test_daily_responses_carry_midnight_times_in_the_exchange_zone(stub: Any) -> None:
    bars = stub.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2024-03-08"), timeout=10).bars
    assert bars.dates[0] == 19790  # 2024-03-08, a Friday; New York moved its clocks on Sunday the 10th
    assert list(bars.times[:2]) == [epoch("2024-03-08T00:00", NEW_YORK), epoch("2024-03-11T00:00", NEW_YORK)]
    assert list(bars.times[:2]) == [19790 * 86_400 + 5 * 3600, 19793 * 86_400 + 4 * 3600]
    assert (bars.interval, bars.time_zone) == (bars_pb2.INTERVAL_1_DAY, "America/New_York")


def test_weekly_indicators_say_their_times_interval_zone_and_adjustment(stub: Any) -> None:
    request = indicator_pb2.ComputeIndicatorsRequest(
        symbol="000001.SH",
        start_date="2024-12-01",
        end_date="2025-01-03",
        interval=bars_pb2.INTERVAL_1_WEEK,
        adjustment=bars_pb2.ADJUSTMENT_FORWARD,
        indicators=[indicators_pb2.IndicatorSpec(sma=indicators_pb2.SMAParameters(period=4))],
    )
    response = stub.ComputeIndicators(request, timeout=10)
    mondays = ["2024-12-02", "2024-12-09", "2024-12-16", "2024-12-23", "2024-12-30"]
    assert list(response.times) == [epoch(f"{day}T00:00", SHANGHAI) for day in mondays]
    # Dated by the last trading day, a Friday: the week of 2024-12-30 runs into 2025 and is dated 2025-01-03.
    assert list(response.dates) == [20063, 20070, 20077, 20084, 20091]
    assert (response.interval, response.time_zone) == (bars_pb2.INTERVAL_1_WEEK, "Asia/Shanghai")
    assert response.adjustment == bars_pb2.ADJUSTMENT_FORWARD  # an index: forward-adjusted is as stored


def test_a_finer_interval_than_stored_names_the_symbols_interval(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="spy", interval=bars_pb2.INTERVAL_5_MINUTES)
    details = fails(stub.GetMACD, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert details == "interval: 'SPY' is stored at 1 day; it cannot be served at 5 minutes"


def test_an_adjustment_a_symbol_cannot_have_is_refused(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="SPY", adjustment=bars_pb2.ADJUSTMENT_BACKWARD)
    details = fails(stub.GetMACD, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert details.startswith(
        "adjustment: no adjustment factors for 'SPY' (prices stored split- and dividend-adjusted)"
    )


@pytest.mark.parametrize("text", ["2020-07-01 11:00", "2020-07-01T25:00", "2020-07-01T11", "11:00"])
def test_malformed_date_times_name_the_field(stub: Any, text: str) -> None:
    request = indicator_pb2.GetMACDRequest(symbol="000001.SH-1MIN", start_date=text)
    assert fails(stub.GetMACD, request, grpc.StatusCode.INVALID_ARGUMENT).startswith("start_date: ")


def test_an_end_time_before_the_start_is_refused(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(
        symbol="000001.SH-1MIN", start_date="2020-07-01T13:00", end_date="2020-07-01T11:00"
    )
    assert fails(stub.GetMACD, request, grpc.StatusCode.INVALID_ARGUMENT).startswith("end_date: ")


def test_list_symbols_says_intervals_adjustments_and_zones(stub: Any) -> None:
    symbols = {info.symbol: info for info in stub.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=10).symbols}
    minutes = symbols["000001.SH-1MIN"]
    assert minutes.interval == bars_pb2.INTERVAL_1_MINUTE
    assert list(minutes.intervals) == list(range(bars_pb2.INTERVAL_1_MINUTE, bars_pb2.INTERVAL_1_MONTH + 1))
    assert minutes.time_zone == "Asia/Shanghai"
    assert len(minutes.adjustments) == 4  # an index needs no adjustment: every choice is served
    spy = symbols["SPY"]
    assert list(spy.intervals) == [bars_pb2.INTERVAL_1_DAY, bars_pb2.INTERVAL_1_WEEK, bars_pb2.INTERVAL_1_MONTH]
    assert list(spy.adjustments) == [bars_pb2.ADJUSTMENT_AS_STORED]
    assert (spy.time_zone, symbols["SPX-1MIN"].time_zone) == ("America/New_York", "America/New_York")


def inline_minutes(**changes: Any) -> bars_pb2.Bars:
    start = epoch("2024-03-11T09:30", NEW_YORK)
    values: dict[str, Any] = {
        "times": [start + 60 * i for i in range(6)],
        "open": [10.0] * 6,
        "high": [11.0] * 6,
        "low": [9.0, 9.0, 8.0, 9.0, 9.0, 9.0],
        "close": [10.5] * 6,
        "volume": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "interval": bars_pb2.INTERVAL_1_MINUTE,
        "time_zone": "America/New_York",
    }
    return bars_pb2.Bars(**(values | changes))


def test_inline_minutes_are_aggregated_like_stored_ones(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(
        inline_bars=inline_minutes(),
        interval=bars_pb2.INTERVAL_5_MINUTES,
        parameters=bars_pb2.MACDParameters(fast_period=1, slow_period=2, signal_period=1),
    )
    bars = stub.GetMACD(request, timeout=10).bars
    assert list(bars.times) == [epoch("2024-03-11T09:30", NEW_YORK), epoch("2024-03-11T09:35", NEW_YORK)]
    assert (list(bars.low), list(bars.volume)) == ([8.0, 9.0], [15.0, 6.0])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"interval": bars_pb2.INTERVAL_UNSPECIFIED}, "inline_bars.interval: bars given by times alone"),
        ({"time_zone": "Mars/Olympus"}, "inline_bars.time_zone: 'Mars/Olympus' is not an IANA time zone"),
        ({"adjustment_factors": [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]}, "inline_bars.adjustment_factors: at index 2"),
        ({"volume": [1.0] * 5}, "inline_bars.volume: has 5 values but times has 6"),
    ],
)
def test_bad_inline_times_name_the_field(stub: Any, changes: dict[str, Any], message: str) -> None:
    request = indicator_pb2.GetMACDRequest(inline_bars=inline_minutes(**changes))
    assert fails(stub.GetMACD, request, grpc.StatusCode.INVALID_ARGUMENT).startswith(message)


def test_inline_bars_without_factors_take_only_as_stored(stub: Any) -> None:
    request = indicator_pb2.GetMACDRequest(inline_bars=inline_minutes(), adjustment=bars_pb2.ADJUSTMENT_FORWARD)
    details = fails(stub.GetMACD, request, grpc.StatusCode.FAILED_PRECONDITION)
    assert details.startswith(
        "adjustment: no adjustment factors for inline bars (prices stored with no declared adjustment)"
    )


def test_the_macd_graph_stays_daily(channel: grpc.Channel) -> None:
    graph = graph_grpc.IndicatorGraphServiceStub(channel)
    request = graph_pb2.GetMACDGraphRequest(symbol="SPY", start_date="2024-03-08T10:00")
    with pytest.raises(grpc.RpcError) as caught:
        next(iter(graph.GetMACDGraph(request, timeout=10)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("start_date: ")


def chart_of(channel: grpc.Channel, **fields: Any) -> bytes:
    graph = graph_grpc.IndicatorGraphServiceStub(channel)
    responses = list(graph.GetChart(graph_pb2.GetChartRequest(**fields), timeout=60))
    return b"".join(response.chunk for response in responses[1:])


def test_charts_draw_any_interval_and_refuse_finer_ones(channel: grpc.Channel) -> None:
    fields = {"symbol": "000001.SH-1MIN", "start_date": "2020-07-01", "end_date": "2020-07-02", "width_px": 600}
    five = chart_of(channel, interval=bars_pb2.INTERVAL_5_MINUTES, height_px=400, **fields)
    hour = chart_of(channel, interval=bars_pb2.INTERVAL_1_HOUR, height_px=400, **fields)
    assert five.startswith(b"\x89PNG")
    assert hour.startswith(b"\x89PNG")
    assert five != hour
    with pytest.raises(grpc.RpcError) as caught:
        chart_of(channel, symbol="AAPL", interval=bars_pb2.INTERVAL_1_MINUTE)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.details() == "interval: 'AAPL' is stored at 1 day; it cannot be served at 1 minute"


@pytest.mark.parametrize(("field", "name"), [("interval", "Interval"), ("adjustment", "Adjustment")])
def test_unknown_enum_values_name_the_field(stub: Any, field: str, name: str) -> None:
    fields: dict[str, Any] = {field: 99}
    request = indicator_pb2.GetMACDRequest(symbol="SPY", **fields)
    details = fails(stub.GetMACD, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert details.startswith(f"{field}: unknown {name} value 99; expected one of ")
