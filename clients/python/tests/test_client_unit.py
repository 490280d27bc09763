"""Unit tests of IdcClient against in-process fake servicers on a free local port."""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pandas as pd
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from idc.v1 import (
    bars_pb2,
    indicator_graph_service_pb2,
    indicator_graph_service_pb2_grpc,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
    indicators_pb2,
)
from idc_client import (
    IdcClient,
    Image,
    IntegrityError,
    ProtocolError,
    boll,
    boll_overlay,
    ema_overlay,
    field_violations,
    kdj,
    kdj_panel,
    macd,
    macd_panel,
    rsi,
    rsi_panel,
    sma,
    sma_overlay,
    volume_panel,
)
from idc_client.cli import main

GraphResponse = indicator_graph_service_pb2.GetMACDGraphResponse
ChartResponse = indicator_graph_service_pb2.GetChartResponse
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 600  # 153,608 bytes: three 64 KiB chunks


def metadata_message(
    data: bytes, *, size: int | None = None, sha256: bytes | None = None, dpi: int = 0
) -> GraphResponse:
    """The first message of a stream that sends ``data``, optionally lying about it."""
    return GraphResponse(
        metadata=indicator_graph_service_pb2.ImageMetadata(
            media_type="image/png",
            size_bytes=len(data) if size is None else size,
            sha256=hashlib.sha256(data).digest() if sha256 is None else sha256,
            width_px=800,
            height_px=600,
            dpi=dpi,
        )
    )


def chart_message(message: GraphResponse) -> ChartResponse:
    """The GetChart message with the same payload as a GetMACDGraph message."""
    return ChartResponse.FromString(message.SerializeToString())  # The same fields under the same numbers.


def chunk_messages(data: bytes, size: int = 64 * 1024) -> list[GraphResponse]:
    """``data`` as chunk messages of at most ``size`` bytes."""
    return [GraphResponse(chunk=data[i : i + size]) for i in range(0, len(data), size)]


def bad_request_status(field: str, description: str) -> grpc.Status:
    """An INVALID_ARGUMENT status with a BadRequest detail naming ``field``, as the idc server sends."""
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description=description)]
        )
    )
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=f"{field}: {description}", details=[detail])
    )


class FakeIndicatorService(indicator_service_pb2_grpc.IndicatorServiceServicer):
    """Records each request and answers with the matching response, or aborts with ``status``."""

    def __init__(self) -> None:
        self.requests: list[indicator_service_pb2.GetMACDRequest] = []
        self.indicator_requests: list[indicator_service_pb2.ComputeIndicatorsRequest] = []
        self.symbol_requests: list[indicator_service_pb2.ListSymbolsRequest] = []
        self.deadlines: list[float | None] = []
        self.response = indicator_service_pb2.GetMACDResponse()
        self.indicators_response = indicator_service_pb2.ComputeIndicatorsResponse()
        self.symbols_response = indicator_service_pb2.ListSymbolsResponse()
        # With symbol_pages, ListSymbols filters symbols_response by prefix and
        # pages it by page_size, its tokens the index of the next symbol.
        self.symbol_pages = False
        self.status: grpc.Status | None = None

    def GetMACD(
        self, request: indicator_service_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.GetMACDResponse:
        self.requests.append(request)
        self.deadlines.append(context.time_remaining())
        if self.status is not None:
            context.abort_with_status(self.status)
        return self.response

    def ComputeIndicators(
        self, request: indicator_service_pb2.ComputeIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ComputeIndicatorsResponse:
        self.indicator_requests.append(request)
        self.deadlines.append(context.time_remaining())
        if self.status is not None:
            context.abort_with_status(self.status)
        return self.indicators_response

    def ListSymbols(
        self, request: indicator_service_pb2.ListSymbolsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListSymbolsResponse:
        self.symbol_requests.append(request)
        self.deadlines.append(context.time_remaining())
        if self.status is not None:
            context.abort_with_status(self.status)
        if not self.symbol_pages:
            return self.symbols_response
        match = [info for info in self.symbols_response.symbols if info.symbol.startswith(request.prefix)]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 1000)
        return indicator_service_pb2.ListSymbolsResponse(
            symbols=match[start:end],
            default_symbol=self.symbols_response.default_symbol,
            next_page_token=str(end) if end < len(match) else "",
        )

    # The catalogue RPCs are tested in test_catalogue.py, with a fake of their own.

    def ListIndicators(
        self, request: indicator_service_pb2.ListIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListIndicatorsResponse:
        return indicator_service_pb2.ListIndicatorsResponse()

    def DescribeIndicator(
        self, request: indicator_service_pb2.DescribeIndicatorRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.DescribeIndicatorResponse:
        return indicator_service_pb2.DescribeIndicatorResponse()

    def Screen(
        self, request: indicator_service_pb2.ScreenRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ScreenResponse:
        return indicator_service_pb2.ScreenResponse()


class FakeGraphService(indicator_graph_service_pb2_grpc.IndicatorGraphServiceServicer):
    """Records each request and streams ``responses``, then aborts with ``status`` if set.

    GetChart streams the same ``responses`` as GetChartResponse messages.
    """

    def __init__(self) -> None:
        self.requests: list[indicator_graph_service_pb2.GetMACDGraphRequest] = []
        self.chart_requests: list[indicator_graph_service_pb2.GetChartRequest] = []
        self.deadlines: list[float | None] = []
        self.responses: list[GraphResponse] = []
        self.status: grpc.Status | None = None

    def GetChart(
        self, request: indicator_graph_service_pb2.GetChartRequest, context: grpc.ServicerContext
    ) -> Iterator[ChartResponse]:
        self.chart_requests.append(request)
        self.deadlines.append(context.time_remaining())
        for response in self.responses:
            yield chart_message(response)
        if self.status is not None:
            context.abort_with_status(self.status)

    def GetMACDGraph(
        self, request: indicator_graph_service_pb2.GetMACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[GraphResponse]:
        self.requests.append(request)
        yield from self.responses
        if self.status is not None:
            context.abort_with_status(self.status)


class FakeServer:
    """Both fake servicers, served on 127.0.0.1 at a port the OS picked."""

    def __init__(self) -> None:
        self.indicators = FakeIndicatorService()
        self.graphs = FakeGraphService()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        indicator_service_pb2_grpc.add_IndicatorServiceServicer_to_server(self.indicators, self.server)
        indicator_graph_service_pb2_grpc.add_IndicatorGraphServiceServicer_to_server(self.graphs, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        assert port != 0, "could not bind a local port"
        self.target = f"127.0.0.1:{port}"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    server.server.start()
    yield server
    server.server.stop(None).wait()


@pytest.fixture
def client(fake: FakeServer) -> Iterator[IdcClient]:
    with IdcClient(fake.target, timeout=10.0) as client:
        yield client


# -- GetMACD ---------------------------------------------------------------


def test_macd_without_symbol_leaves_the_source_oneof_unset(fake: FakeServer, client: IdcClient) -> None:
    client.macd()

    request = fake.indicators.requests[0]
    assert request.WhichOneof("source") is None
    assert request.start_date == ""
    assert request.end_date == ""
    assert (request.parameters.fast_period, request.parameters.slow_period) == (0, 0)
    assert request.parameters.signal_period == 0


def test_macd_sends_symbol_dates_and_periods(fake: FakeServer, client: IdcClient) -> None:
    client.macd("spy", "2023-01-01", datetime.date(2023, 12, 31), fast=5, slow=35, signal=5)

    request = fake.indicators.requests[0]
    assert request.WhichOneof("source") == "symbol"
    assert request.symbol == "spy"
    assert (request.start_date, request.end_date) == ("2023-01-01", "2023-12-31")
    assert request.parameters == bars_pb2.MACDParameters(fast_period=5, slow_period=35, signal_period=5)


def test_macd_sends_an_empty_symbol_when_given_one(fake: FakeServer, client: IdcClient) -> None:
    client.macd("")

    assert fake.indicators.requests[0].WhichOneof("source") == "symbol"


def test_macd_sends_the_wall_clock_time_of_a_datetime(fake: FakeServer, client: IdcClient) -> None:
    client.macd(start=datetime.datetime(2023, 1, 3, 15, 30), end=pd.Timestamp("2023-01-04", tz="Asia/Shanghai"))
    client.macd(start=pd.Timestamp("2020-07-01 09:30", tz="Asia/Shanghai"), end="2020-07-01T11:30")

    first, second = fake.indicators.requests
    assert (first.start_date, first.end_date) == ("2023-01-03T15:30:00", "2023-01-04")
    assert (second.start_date, second.end_date) == ("2020-07-01T09:30:00", "2020-07-01T11:30")


# Wire times computed with Python's zoneinfo: 2020-07-01 09:30 in Shanghai is
# 1593567000 and 09:35 is 1593567300; 2019-11-05 09:30 in New York (EST) is 1572964200.
SHANGHAI_0930, SHANGHAI_0935, NEW_YORK_0930 = 1593567000, 1593567300, 1572964200


def intraday_response(
    interval: bars_pb2.Interval.ValueType, adjustment: bars_pb2.Adjustment.ValueType
) -> indicator_service_pb2.GetMACDResponse:
    """Two 5-minute bars of a Shanghai morning, 09:30 and 09:35, served with ``interval`` and ``adjustment``."""
    return indicator_service_pb2.GetMACDResponse(
        symbol="000001.SH-1MIN",
        parameters=bars_pb2.MACDParameters(fast_period=12, slow_period=26, signal_period=9),
        bars=bars_pb2.Bars(
            dates=[18444, 18444],
            times=[SHANGHAI_0930, SHANGHAI_0935],
            open=[2991.18, 2990.32],
            high=[2991.5, 2990.32],
            low=[2990.34, 2986.78],
            close=[2990.43, 2986.91],
            volume=[720858300, 311297200],
            interval=interval,
            time_zone="Asia/Shanghai",
        ),
        macd=[0.0, -0.5],
        signal=[0.0, -0.1],
        histogram=[0.0, -0.4],
        convention=indicators_pb2.CONVENTION_TALIB,
        adjustment=adjustment,
    )


@pytest.mark.parametrize(
    ("interval", "adjustment", "wire_interval", "wire_adjustment"),
    [
        ("5m", "forward", bars_pb2.INTERVAL_5_MINUTES, bars_pb2.ADJUSTMENT_FORWARD),
        ("1MO", "qfq", bars_pb2.INTERVAL_1_MONTH, bars_pb2.ADJUSTMENT_FORWARD),
        ("INTERVAL_1_WEEK", "hfq", bars_pb2.INTERVAL_1_WEEK, bars_pb2.ADJUSTMENT_BACKWARD),
        (bars_pb2.INTERVAL_1_HOUR, bars_pb2.ADJUSTMENT_NONE, bars_pb2.INTERVAL_1_HOUR, bars_pb2.ADJUSTMENT_NONE),
        (None, None, bars_pb2.INTERVAL_UNSPECIFIED, bars_pb2.ADJUSTMENT_UNSPECIFIED),
    ],
)
def test_every_call_sends_the_interval_and_adjustment(
    fake: FakeServer,
    client: IdcClient,
    interval: str | int | None,
    adjustment: str | int | None,
    wire_interval: int,
    wire_adjustment: int,
) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]
    client.macd("X", interval=interval, adjustment=adjustment)
    client.indicators([sma(2)], "X", interval=interval, adjustment=adjustment)
    client.chart("X", interval=interval, adjustment=adjustment)

    macd_request, indicators_request = fake.indicators.requests[0], fake.indicators.indicator_requests[0]
    chart_request = fake.graphs.chart_requests[0]
    assert (macd_request.interval, macd_request.adjustment) == (wire_interval, wire_adjustment)
    assert (indicators_request.interval, indicators_request.adjustment) == (wire_interval, wire_adjustment)
    assert (chart_request.interval, chart_request.adjustment) == (wire_interval, wire_adjustment)


@pytest.mark.parametrize(("argument", "value"), [("interval", "2m"), ("interval", 99), ("adjustment", "split")])
def test_an_unknown_interval_or_adjustment_raises_value_error_before_any_call(
    fake: FakeServer, client: IdcClient, argument: str, value: str | int
) -> None:
    with pytest.raises(ValueError, match=f"unknown {argument}"):
        client.macd("X", **{argument: value})  # type: ignore[arg-type]
    assert fake.indicators.requests == []


def test_intraday_frames_are_indexed_in_the_exchange_zone(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.response = intraday_response(bars_pb2.INTERVAL_5_MINUTES, bars_pb2.ADJUSTMENT_AS_STORED)

    frame = client.macd("000001.SH-1MIN", interval="5m")

    index = pd.DatetimeIndex(frame.index)
    assert str(index.tz) == "Asia/Shanghai"
    assert list(index.strftime("%Y-%m-%d %H:%M %z")) == ["2020-07-01 09:30 +0800", "2020-07-01 09:35 +0800"]
    assert (frame.attrs["interval"], frame.attrs["time_zone"], frame.attrs["adjustment"]) == (
        "5m",
        "Asia/Shanghai",
        "as-stored",
    )
    assert len(frame.loc["2020-07-01"]) == 2


def test_every_call_has_the_client_deadline(fake: FakeServer) -> None:
    with IdcClient(fake.target, timeout=7.0) as client:
        client.macd()
        client.macd(timeout=3.0)

    # The wire encoding of a deadline may round it up by a few milliseconds.
    first, second = fake.indicators.deadlines
    assert first is not None
    assert 3.5 < first < 7.5
    assert second is not None
    assert 0 < second < 3.5


def test_macd_returns_the_response_as_a_frame(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.response = indicator_service_pb2.GetMACDResponse(
        symbol="SPY",
        parameters=bars_pb2.MACDParameters(fast_period=12, slow_period=26, signal_period=9),
        bars=bars_pb2.Bars(dates=[19720], open=[476.49], high=[477.03], low=[473.3], close=[475.31], volume=[1e8]),
        macd=[7.49],
        signal=[7.52],
        histogram=[-0.03],
    )

    frame = client.macd("SPY")
    raw = client.macd_response("SPY")

    assert list(pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")) == ["2023-12-29"]
    assert frame.attrs == {
        "symbol": "SPY",
        "parameters": {"fast": 12, "slow": 26, "signal": 9},
        "convention": "unspecified",
        "interval": "1d",
        "time_zone": "UTC",
        "adjustment": "as-stored",
    }
    assert raw == fake.indicators.response


def test_server_errors_propagate_as_rpc_errors_with_their_code(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.NOT_FOUND, message='unknown symbol "NOPE"')
    )

    with pytest.raises(grpc.RpcError) as caught:
        client.macd("NOPE")

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == 'unknown symbol "NOPE"'
    assert field_violations(caught.value) == []


def test_field_violations_unpacks_the_bad_request_detail(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.status = bad_request_status("parameters.fast_period", "must be less than slow_period")

    with pytest.raises(grpc.RpcError) as caught:
        client.macd(fast=26, slow=12)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [("parameters.fast_period", "must be less than slow_period")]


def test_field_violations_of_a_failed_stream(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.status = bad_request_status("width_px", "must be between 200 and 4000 pixels, got 50")

    with pytest.raises(grpc.RpcError) as caught:
        client.graph(width=50)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [("width_px", "must be between 200 and 4000 pixels, got 50")]


def test_field_violations_of_a_plain_rpc_error_is_empty() -> None:
    assert field_violations(grpc.RpcError()) == []


def test_closed_client_refuses_calls(fake: FakeServer) -> None:
    client = IdcClient(fake.target)
    client.close()

    with pytest.raises(ValueError, match="closed channel"):
        client.macd()


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        IdcClient("127.0.0.1:1", timeout=0)


# -- conventions and inline bars ------------------------------------------------


def bars_input() -> pd.DataFrame:
    """Two daily bars, 2023-12-28 and 2023-12-29, as a caller would pass them."""
    return pd.DataFrame(
        {
            "open": [476.88, 476.49],
            "high": [477.55, 477.03],
            "low": [476.26, 473.3],
            "close": [476.69, 475.31],
            "volume": [77158100.0, 122234100.0],
        },
        index=pd.DatetimeIndex(["2023-12-28", "2023-12-29"], name="date"),
    )


EXPECTED_BARS = bars_pb2.Bars(
    dates=[19719, 19720],
    open=[476.88, 476.49],
    high=[477.55, 477.03],
    low=[476.26, 473.3],
    close=[476.69, 475.31],
    volume=[77158100.0, 122234100.0],
)


@pytest.mark.parametrize(
    ("convention", "expected"),
    [
        (None, indicators_pb2.CONVENTION_UNSPECIFIED),
        ("talib", indicators_pb2.CONVENTION_TALIB),
        ("TDX", indicators_pb2.CONVENTION_TDX),
    ],
)
def test_every_call_sends_the_convention(
    fake: FakeServer, client: IdcClient, convention: str | None, expected: int
) -> None:
    fake.graphs.responses = [metadata_message(b"")]

    client.macd("SPY", convention=convention)
    client.macd_response("SPY", convention=convention)
    client.indicators([sma()], "SPY", convention=convention)
    client.indicators_response([sma()], "SPY", convention=convention)
    client.graph("SPY", convention=convention)
    client.chart("SPY", convention=convention)

    assert [request.convention for request in fake.indicators.requests] == [expected, expected]
    assert [request.convention for request in fake.indicators.indicator_requests] == [expected, expected]
    assert fake.graphs.requests[0].convention == expected
    assert fake.graphs.chart_requests[0].convention == expected


CALLS: dict[str, Callable[..., object]] = {
    "macd": lambda client, **kwargs: client.macd(**kwargs),
    "macd_response": lambda client, **kwargs: client.macd_response(**kwargs),
    "graph": lambda client, **kwargs: client.graph(**kwargs),
    "chart": lambda client, **kwargs: client.chart(**kwargs),
    "indicators": lambda client, **kwargs: client.indicators([sma()], **kwargs),
    "indicators_response": lambda client, **kwargs: client.indicators_response([sma()], **kwargs),
}


def no_requests(fake: FakeServer) -> bool:
    """Whether the fake server has received no request at all."""
    return not (
        fake.indicators.requests
        or fake.indicators.indicator_requests
        or fake.graphs.requests
        or fake.graphs.chart_requests
    )


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("convention", ["", "ta-lib", "tongdaxin", "unspecified"])
def test_an_unknown_convention_raises_value_error_before_any_call(
    fake: FakeServer, client: IdcClient, name: str, convention: str
) -> None:
    with pytest.raises(ValueError, match="unknown convention"):
        CALLS[name](client, symbol="SPY", convention=convention)

    assert no_requests(fake)


@pytest.mark.parametrize("name", CALLS)
def test_symbol_and_bars_together_raise_value_error_before_any_call(
    fake: FakeServer, client: IdcClient, name: str
) -> None:
    with pytest.raises(ValueError, match="either symbol or bars, not both"):
        CALLS[name](client, symbol="SPY", bars=bars_input())
    with pytest.raises(ValueError, match="either symbol or bars, not both"):
        CALLS[name](client, symbol="", bars=EXPECTED_BARS)

    assert no_requests(fake)


@pytest.mark.parametrize("name", CALLS)
def test_bars_of_another_type_raise_type_error_before_any_call(fake: FakeServer, client: IdcClient, name: str) -> None:
    with pytest.raises(TypeError, match=r"bars must be a pandas\.DataFrame or an idc\.v1\.Bars message"):
        CALLS[name](client, bars=[[19720, 1.0, 1.0, 1.0, 1.0, 1.0]])

    assert no_requests(fake)


@pytest.mark.parametrize("name", CALLS)
def test_a_frame_without_dates_raises_value_error_before_any_call(
    fake: FakeServer, client: IdcClient, name: str
) -> None:
    with pytest.raises(ValueError, match="indexed by dates"):
        CALLS[name](client, bars=bars_input().reset_index(drop=True))

    assert no_requests(fake)


def test_every_call_sends_inline_bars_from_a_frame(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(b"")]

    for call in CALLS.values():
        call(client, bars=bars_input(), start="2023-12-29")

    requests: list[
        indicator_service_pb2.GetMACDRequest
        | indicator_service_pb2.ComputeIndicatorsRequest
        | indicator_graph_service_pb2.GetMACDGraphRequest
        | indicator_graph_service_pb2.GetChartRequest
    ] = [
        *fake.indicators.requests,
        *fake.indicators.indicator_requests,
        *fake.graphs.requests,
        *fake.graphs.chart_requests,
    ]
    assert len(requests) == 6
    for request in requests:
        assert request.WhichOneof("source") == "inline_bars"
        assert request.inline_bars == EXPECTED_BARS
        assert request.start_date == "2023-12-29"


def test_macd_sends_a_bars_message_as_given(fake: FakeServer, client: IdcClient) -> None:
    client.macd(bars=EXPECTED_BARS)

    request = fake.indicators.requests[0]
    assert request.WhichOneof("source") == "inline_bars"
    assert request.inline_bars == EXPECTED_BARS


def test_an_empty_bars_message_still_selects_inline_bars(fake: FakeServer, client: IdcClient) -> None:
    client.macd(bars=bars_pb2.Bars())
    client.indicators([sma()], bars=bars_input().iloc[:0])

    # The server, not the client, rejects zero bars (INVALID_ARGUMENT "inline_bars.dates").
    assert fake.indicators.requests[0].WhichOneof("source") == "inline_bars"
    assert fake.indicators.indicator_requests[0].WhichOneof("source") == "inline_bars"


def test_macd_pads_warm_up_bars_with_nan(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.response = indicator_service_pb2.GetMACDResponse(
        symbol="",
        convention=indicators_pb2.CONVENTION_TALIB,
        bars=EXPECTED_BARS,
        macd=[7.49],
        signal=[7.52],
        histogram=[-0.03],
        first_valid_index=1,
    )

    frame = client.macd(bars=bars_input(), convention="talib")

    assert frame["macd"].isna().tolist() == [True, False]
    assert frame.loc["2023-12-29", "macd"] == 7.49
    assert frame.attrs["symbol"] == ""
    assert frame.attrs["convention"] == "talib"


def test_macd_refuses_a_response_with_inconsistent_lengths(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.response = indicator_service_pb2.GetMACDResponse(
        bars=EXPECTED_BARS, macd=[1.0, 2.0], signal=[1.0, 2.0], histogram=[1.0, 2.0], first_valid_index=1
    )

    with pytest.raises(ValueError, match="need 1 values"):
        client.macd()


# -- ComputeIndicators -----------------------------------------------------------


def two_series_response() -> indicator_service_pb2.ComputeIndicatorsResponse:
    """Dates 2023-12-28 and 2023-12-29 with an sma20 series and an rsi series that starts a bar later."""
    return indicator_service_pb2.ComputeIndicatorsResponse(
        symbol="SPY",
        convention=indicators_pb2.CONVENTION_TDX,
        dates=[19719, 19720],
        series=[
            indicators_pb2.Series(name="sma20", first_valid_index=0, values=[470.1, 471.2]),
            indicators_pb2.Series(name="rsi", first_valid_index=1, values=[61.5]),
        ],
    )


def test_indicators_sends_the_specs_selection_and_convention(fake: FakeServer, client: IdcClient) -> None:
    specs = [sma(20, label="sma20"), macd(5, 35, 5), boll(k=2.5, std_dev="sample"), kdj(seed="first_rsv")]

    client.indicators(specs, "spy", "2023-01-01", datetime.date(2023, 12, 31), convention="tdx")

    request = fake.indicators.indicator_requests[0]
    assert request.WhichOneof("source") == "symbol"
    assert request.symbol == "spy"
    assert (request.start_date, request.end_date) == ("2023-01-01", "2023-12-31")
    assert request.convention == indicators_pb2.CONVENTION_TDX
    assert list(request.indicators) == specs


def test_indicators_without_symbol_leaves_the_source_oneof_unset(fake: FakeServer, client: IdcClient) -> None:
    client.indicators(spec for spec in [rsi()])

    request = fake.indicators.indicator_requests[0]
    assert request.WhichOneof("source") is None
    assert (request.start_date, request.end_date, request.convention) == ("", "", 0)
    assert [spec.WhichOneof("parameters") for spec in request.indicators] == ["rsi"]


def test_indicators_sends_an_empty_list_for_the_server_to_refuse(fake: FakeServer, client: IdcClient) -> None:
    client.indicators([], "SPY")

    assert list(fake.indicators.indicator_requests[0].indicators) == []


def test_indicators_returns_the_response_as_a_padded_frame(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.indicators_response = two_series_response()

    frame = client.indicators([sma(20, label="sma20"), rsi()], "SPY")
    raw = client.indicators_response([sma(20, label="sma20"), rsi()], "SPY")

    assert raw == two_series_response()
    assert list(frame.columns) == ["sma20", "rsi"]
    assert list(frame.index) == [pd.Timestamp("2023-12-28", tz="UTC"), pd.Timestamp("2023-12-29", tz="UTC")]
    assert frame.index.name == "time"
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert list(frame["sma20"]) == [470.1, 471.2]
    assert np.isnan(frame["rsi"].iloc[0])
    assert frame["rsi"].iloc[1] == 61.5
    assert frame.attrs == {
        "symbol": "SPY",
        "convention": "tdx",
        "kinds": {"sma20": "unspecified", "rsi": "unspecified"},
        "interval": "1d",
        "time_zone": "UTC",
        "adjustment": "as-stored",
    }


def test_indicators_has_the_client_deadline(fake: FakeServer) -> None:
    with IdcClient(fake.target, timeout=7.0) as client:
        client.indicators([sma()])
        client.indicators([sma()], timeout=3.0)

    first, second = fake.indicators.deadlines
    assert first is not None
    assert 3.5 < first < 7.5
    assert second is not None
    assert 0 < second < 3.5


def test_indicators_errors_carry_the_field_of_the_spec(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.status = bad_request_status("indicators[0].sma.period", "must be between 1 and 1000, got -1")

    with pytest.raises(grpc.RpcError) as caught:
        client.indicators([sma(-1)], "SPY")

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [("indicators[0].sma.period", "must be between 1 and 1000, got -1")]


# -- ListSymbols -----------------------------------------------------------------


def symbols_response() -> indicator_service_pb2.ListSymbolsResponse:
    """Two symbols, SPY the default."""
    return indicator_service_pb2.ListSymbolsResponse(
        symbols=[
            indicator_service_pb2.SymbolInfo(
                symbol="000001.SH",
                first_date="2010-01-04",
                last_date="2026-06-16",
                bar_count=3993,
                state=indicator_service_pb2.SYMBOL_STATE_READY,
                price_adjustment=indicator_service_pb2.PRICE_ADJUSTMENT_NOT_NEEDED,
                interval=bars_pb2.INTERVAL_1_DAY,
                intervals=[bars_pb2.INTERVAL_1_DAY, bars_pb2.INTERVAL_1_WEEK, bars_pb2.INTERVAL_1_MONTH],
                adjustments=[
                    bars_pb2.ADJUSTMENT_AS_STORED,
                    bars_pb2.ADJUSTMENT_NONE,
                    bars_pb2.ADJUSTMENT_FORWARD,
                    bars_pb2.ADJUSTMENT_BACKWARD,
                ],
                time_zone="Asia/Shanghai",
            ),
            indicator_service_pb2.SymbolInfo(
                symbol="SPY",
                first_date="1993-01-29",
                last_date="2026-03-27",
                bar_count=8347,
                state=indicator_service_pb2.SYMBOL_STATE_READY,
                price_adjustment=indicator_service_pb2.PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS,
                interval=bars_pb2.INTERVAL_1_DAY,
                time_zone="America/New_York",
            ),
        ],
        default_symbol="SPY",
    )


def test_symbols_returns_a_frame_indexed_by_symbol(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.symbols_response = symbols_response()

    frame = client.symbols()

    assert fake.indicators.symbol_requests == [indicator_service_pb2.ListSymbolsRequest()]
    assert list(frame.index) == ["000001.SH", "SPY"]
    assert frame.loc["SPY", "first_date"] == pd.Timestamp("1993-01-29")
    assert frame.loc["000001.SH", "bar_count"] == 3993
    assert frame.attrs == {"default_symbol": "SPY"}
    assert client.symbols_response() == symbols_response()


def test_symbols_follows_every_page_with_the_prefix(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.symbol_pages = True
    fake.indicators.symbols_response = symbols_response()

    frame = client.symbols("0", page_size=1)

    assert list(frame.index) == ["000001.SH"]
    assert frame.loc["000001.SH", "interval"] == "1d"
    assert frame.loc["000001.SH", "time_zone"] == "Asia/Shanghai"
    assert frame.loc["000001.SH", "state"] == "ready"
    assert frame.loc["000001.SH", "price_adjustment"] == "not-needed"
    assert frame.loc["000001.SH", "intervals"] == ("1d", "1w", "1mo")
    assert frame.loc["000001.SH", "adjustments"] == ("as-stored", "none", "forward", "backward")
    everything = [info.symbol for info in client.iter_symbols(page_size=1)]
    assert everything == ["000001.SH", "SPY"]
    assert [(r.prefix, r.page_size, r.page_token) for r in fake.indicators.symbol_requests] == [
        ("0", 1, ""),
        ("", 1, ""),
        ("", 1, "1"),
    ]


def test_symbols_refuses_a_page_token_sent_twice(fake: FakeServer, client: IdcClient) -> None:
    fake.indicators.symbols_response = indicator_service_pb2.ListSymbolsResponse(next_page_token="again")

    with pytest.raises(ProtocolError, match="page token 'again' twice"):
        client.symbols()
    assert len(fake.indicators.symbol_requests) == 2


def test_symbols_has_the_call_deadline(fake: FakeServer, client: IdcClient) -> None:
    client.symbols(timeout=2.0)

    (deadline,) = fake.indicators.deadlines
    assert deadline is not None
    assert 0 < deadline < 2.5


# -- GetMACDGraph ------------------------------------------------------------


def test_graph_reassembles_a_chunked_image(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    image = client.graph("SPY", "2023-01-01", "2023-12-31", width=800, height=600)

    assert len(fake.graphs.responses) == 4
    assert image == Image(
        data=PNG, media_type="image/png", width_px=800, height_px=600, sha256=hashlib.sha256(PNG).digest()
    )
    assert image.size_bytes == len(PNG)
    assert image.sha256_hex == hashlib.sha256(PNG).hexdigest()


def test_graph_sends_the_selection_and_size(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    client.graph("SPY", datetime.date(2023, 1, 1), "2023-12-31", fast=8, width=800, height=600)

    request = fake.graphs.requests[0]
    assert request.symbol == "SPY"
    assert (request.start_date, request.end_date) == ("2023-01-01", "2023-12-31")
    assert request.parameters.fast_period == 8
    assert (request.width_px, request.height_px) == (800, 600)


def test_graph_without_symbol_leaves_the_source_oneof_unset(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    client.graph()

    assert fake.graphs.requests[0].WhichOneof("source") is None


def test_graph_of_an_empty_image_is_valid(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(b"")]

    assert client.graph().data == b""


def test_graph_with_a_wrong_sha256_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [
        metadata_message(PNG, sha256=hashlib.sha256(b"other").digest()),
        *chunk_messages(PNG),
    ]

    with pytest.raises(IntegrityError, match="SHA-256"):
        client.graph()


def test_graph_with_a_missing_sha256_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, sha256=b""), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match="SHA-256"):
        client.graph()


def test_graph_with_fewer_bytes_than_announced_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, size=len(PNG) + 1), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match=f"sent {len(PNG)} bytes.*announced {len(PNG) + 1}"):
        client.graph()


def test_graph_with_more_bytes_than_announced_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, size=100), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match="more than the announced 100 bytes"):
        client.graph()


def test_graph_with_a_chunk_before_metadata_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [*chunk_messages(PNG), metadata_message(PNG)]

    with pytest.raises(IntegrityError, match="did not start with metadata"):
        client.graph()


def test_graph_with_repeated_metadata_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), metadata_message(PNG), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match="repeated"):
        client.graph()


def test_graph_of_an_empty_stream_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = []

    with pytest.raises(IntegrityError, match="without metadata"):
        client.graph()


def test_client_still_works_after_an_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = []
    with pytest.raises(IntegrityError):
        client.graph()

    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]
    assert client.graph().data == PNG


def test_image_save_writes_the_bytes(tmp_path: Path) -> None:
    image = Image(data=PNG, media_type="image/png", width_px=1, height_px=1, sha256=hashlib.sha256(PNG).digest())

    path = image.save(tmp_path / "macd.png")

    assert path == tmp_path / "macd.png"
    assert path.read_bytes() == PNG


def test_image_repr_leaves_out_the_bytes() -> None:
    image = Image(data=PNG, media_type="image/png", width_px=1, height_px=1, sha256=hashlib.sha256(PNG).digest())

    assert repr(image) == "Image(media_type='image/png', width_px=1, height_px=1, dpi=0)"


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [("image/png", ".png"), ("image/svg+xml", ".svg"), ("image/jpeg", ".jpg"), ("image/webp", ".webp"), ("x/y", "")],
)
def test_image_extension_follows_the_media_type(media_type: str, extension: str) -> None:
    image = Image(data=b"", media_type=media_type, width_px=1, height_px=1, sha256=b"", dpi=100)

    assert image.extension == extension


# -- GetChart --------------------------------------------------------------------


def test_chart_reassembles_a_chunked_image_with_its_dpi(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, dpi=120), *chunk_messages(PNG)]

    image = client.chart("SPY")

    assert image == Image(
        data=PNG, media_type="image/png", width_px=800, height_px=600, sha256=hashlib.sha256(PNG).digest(), dpi=120
    )


def test_chart_sends_every_argument(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]
    panels = [volume_panel(), macd_panel(5, 35, 5), rsi_panel(6), kdj_panel(9, 3, 3)]
    overlays = [sma_overlay(20), ema_overlay(12), boll_overlay(20, 2.5)]

    client.chart(
        "spy",
        datetime.date(2023, 1, 1),
        "2023-12-31",
        convention="TDX",
        panels=panels,
        overlays=iter(overlays),
        format="SVG",
        width=1000,
        height=700,
        dpi=120,
        theme="dark",
        scheme="cn",
        chunk_size=4096,
        price_scale="log",
    )

    assert fake.graphs.chart_requests == [
        indicator_graph_service_pb2.GetChartRequest(
            symbol="spy",
            start_date="2023-01-01",
            end_date="2023-12-31",
            convention=indicators_pb2.CONVENTION_TDX,
            panels=panels,
            overlays=overlays,
            format=indicator_graph_service_pb2.IMAGE_FORMAT_SVG,
            width_px=1000,
            height_px=700,
            dpi=120,
            theme=indicator_graph_service_pb2.THEME_DARK,
            color_scheme=indicator_graph_service_pb2.COLOR_SCHEME_CN,
            chunk_size_bytes=4096,
            price_scale=indicator_graph_service_pb2.PRICE_SCALE_LOG,
        )
    ]


def test_chart_defaults_leave_everything_to_the_server(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    client.chart()

    request = fake.graphs.chart_requests[0]
    assert request.WhichOneof("source") is None
    assert request == indicator_graph_service_pb2.GetChartRequest(format=indicator_graph_service_pb2.IMAGE_FORMAT_PNG)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("format", "gif"),
        ("format", "jpg"),
        ("format", ""),
        ("theme", "blue"),
        ("theme", "Light mode"),
        ("scheme", "us"),
        ("scheme", "china"),
        ("convention", "ta-lib"),
    ],
)
def test_chart_refuses_unknown_options_before_any_call(
    fake: FakeServer, client: IdcClient, option: str, value: str
) -> None:
    kwargs: dict[str, str] = {option: value}
    with pytest.raises(ValueError, match=f"unknown {option} {value!r}"):
        client.chart("SPY", **kwargs)  # type: ignore[arg-type]

    assert no_requests(fake)


def test_chart_with_a_wrong_sha256_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, sha256=hashlib.sha256(b"other").digest()), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match="GetChart image has SHA-256"):
        client.chart()


def test_chart_with_a_chunk_before_metadata_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [*chunk_messages(PNG), metadata_message(PNG)]

    with pytest.raises(IntegrityError, match="GetChart stream did not start with metadata"):
        client.chart()


def test_chart_with_more_bytes_than_announced_raises_integrity_error(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG, size=100), *chunk_messages(PNG)]

    with pytest.raises(IntegrityError, match="more than the announced 100 bytes"):
        client.chart()


def test_chart_errors_carry_the_field(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.status = bad_request_status("panels[1].rsi.period", "must be between 1 and 1000, got -1")

    with pytest.raises(grpc.RpcError) as caught:
        client.chart(panels=[volume_panel(), rsi_panel(-1)])

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [("panels[1].rsi.period", "must be between 1 and 1000, got -1")]


def test_chart_has_the_client_deadline(fake: FakeServer) -> None:
    fake.graphs.responses = [metadata_message(b"")]
    with IdcClient(fake.target, timeout=7.0) as client:
        client.chart()
        client.chart(timeout=3.0)

    first, second = fake.graphs.deadlines
    assert first is not None
    assert 3.5 < first < 7.5
    assert second is not None
    assert 0 < second < 3.5


def test_graph_sends_the_chunk_size(fake: FakeServer, client: IdcClient) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG, 4096)]

    assert client.graph(chunk_size=4096).data == PNG
    assert fake.graphs.requests[0].chunk_size_bytes == 4096


# -- idc-client command ------------------------------------------------------


def spy_response() -> indicator_service_pb2.GetMACDResponse:
    """A one-bar SPY response for 2023-12-29."""
    return indicator_service_pb2.GetMACDResponse(
        symbol="SPY",
        parameters=bars_pb2.MACDParameters(fast_period=12, slow_period=26, signal_period=9),
        bars=bars_pb2.Bars(dates=[19720], open=[476.49], high=[477.03], low=[473.3], close=[475.31], volume=[1e8]),
        macd=[7.49],
        signal=[7.52],
        histogram=[-0.03],
        convention=indicators_pb2.CONVENTION_TALIB,
    )


def test_cli_macd_prints_a_table(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.response = spy_response()

    status = main(["macd", "--target", fake.target, "--symbol", "SPY", "--start", "2023-12-29", "--fast", "12"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0] == "SPY MACD(12,26,9), 1 bars, convention talib"
    assert "2023-12-29" in out
    assert "histogram" in out
    request = fake.indicators.requests[0]
    assert (request.symbol, request.start_date, request.parameters.fast_period) == ("SPY", "2023-12-29", 12)


def test_cli_macd_csv_prints_csv(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.response = spy_response()

    status = main(["macd", "--target", fake.target, "--csv"])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == "date,open,high,low,close,volume,macd,signal,histogram"
    assert lines[1].startswith("2023-12-29,476.49,")


def test_cli_graph_writes_the_file_and_prints_size_and_sha256(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]
    output = tmp_path / "chart.png"

    status = main(["graph", "--target", fake.target, "--width", "800", "--height", "600", "-o", str(output)])

    out = capsys.readouterr().out
    assert status == 0
    assert output.read_bytes() == PNG
    assert f"{len(PNG)} bytes" in out
    assert hashlib.sha256(PNG).hexdigest() in out
    assert (fake.graphs.requests[0].width_px, fake.graphs.requests[0].height_px) == (800, 600)


def test_cli_prints_rpc_errors_with_field_violations_and_exits_with_the_code(
    fake: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.indicators.status = bad_request_status("start_date", 'must be a date as YYYY-MM-DD, got "2023-13-01"')

    status = main(["macd", "--target", fake.target, "--start", "2023-13-01"])

    captured = capsys.readouterr()
    assert status == 3  # INVALID_ARGUMENT
    assert captured.out == ""
    assert captured.err.startswith("error: INVALID_ARGUMENT: start_date: ")
    assert '  start_date: must be a date as YYYY-MM-DD, got "2023-13-01"' in captured.err


def test_cli_prints_protocol_errors_and_exits_13(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.graphs.responses = []

    status = main(["graph", "--target", fake.target, "-o", str(tmp_path / "macd.png")])

    assert status == 13  # INTERNAL, as Go's idc.ErrProtocol
    assert capsys.readouterr().err == "error: INTERNAL: GetMACDGraph stream ended without metadata\n"
    assert not (tmp_path / "macd.png").exists()


def test_cli_chart_sends_every_flag_and_prints_the_image(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.graphs.responses = [metadata_message(PNG, dpi=120), *chunk_messages(PNG)]
    output = tmp_path / "spy.svg"

    status = main(
        [
            "chart",
            "--target",
            fake.target,
            "--symbol",
            "SPY",
            "--start",
            "2023-01-01",
            "--end",
            "2023-12-31",
            "--convention",
            "tdx",
            "--panels",
            "volume,MACD",
            "--panels",
            "rsi,kdj",
            "--fast",
            "5",
            "--sma",
            "20",
            "--ema",
            "12",
            "--boll",
            "20",
            "--boll-k",
            "2.5",
            "--sma",
            "5",
            "--format",
            "SVG",
            "--theme",
            "dark",
            "--scheme",
            "cn",
            "--width",
            "1000",
            "--height",
            "700",
            "--dpi",
            "120",
            "--chunk-size",
            "1024",
            "-o",
            str(output),
        ]
    )

    out = capsys.readouterr().out
    assert status == 0
    assert output.read_bytes() == PNG
    assert (
        f"wrote {output}: image/png 800x600 at 120 dpi, {len(PNG)} bytes, sha256 {hashlib.sha256(PNG).hexdigest()}\n"
        in out
    )
    assert hashlib.sha256(PNG).hexdigest() in out
    assert fake.graphs.chart_requests == [
        indicator_graph_service_pb2.GetChartRequest(
            symbol="SPY",
            start_date="2023-01-01",
            end_date="2023-12-31",
            convention=indicators_pb2.CONVENTION_TDX,
            panels=[volume_panel(), macd_panel(5), rsi_panel(), kdj_panel()],
            overlays=[sma_overlay(20), ema_overlay(12), boll_overlay(20, 2.5), sma_overlay(5)],  # flag order, as Go
            format=indicator_graph_service_pb2.IMAGE_FORMAT_SVG,
            width_px=1000,
            height_px=700,
            dpi=120,
            theme=indicator_graph_service_pb2.THEME_DARK,
            color_scheme=indicator_graph_service_pb2.COLOR_SCHEME_CN,
            chunk_size_bytes=1024,
        )
    ]


@pytest.mark.parametrize(
    ("flags", "name"), [([], "chart.png"), (["--format", "svg"], "chart.svg"), (["--format", "jpeg"], "chart.jpg")]
)
def test_cli_chart_names_its_file_after_the_format(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], name: str
) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]
    monkeypatch.chdir(tmp_path)

    assert main(["chart", "--target", fake.target, *flags]) == 0

    assert (tmp_path / name).read_bytes() == PNG
    assert fake.graphs.chart_requests[0].panels == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--panels", "volume,candles"], "unknown panel 'candles'"),
        (["--format", "gif"], "--format"),
        (["--theme", "blue"], "--theme"),
        (["--scheme", "us"], "--scheme"),
        (["--sma", "x"], "--sma"),
    ],
)
def test_cli_chart_refuses_bad_flags(
    fake: FakeServer, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["chart", "--target", fake.target, *flags])

    assert caught.value.code == 2
    assert message in capsys.readouterr().err
    assert no_requests(fake)


def test_cli_chart_prints_field_violations(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.graphs.status = bad_request_status("dpi", "must be between 50 and 600, got 10")

    status = main(["chart", "--target", fake.target, "--dpi", "10", "-o", str(tmp_path / "c.png")])

    err = capsys.readouterr().err
    assert status == 3  # INVALID_ARGUMENT
    assert err.startswith("error: INVALID_ARGUMENT: dpi: ")
    assert "  dpi: must be between 50 and 600, got 10" in err
    assert not (tmp_path / "c.png").exists()


def test_cli_graph_sends_the_chunk_size(fake: FakeServer, tmp_path: Path) -> None:
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    assert main(["graph", "--target", fake.target, "--chunk-size", "2048", "-o", str(tmp_path / "m.png")]) == 0

    assert fake.graphs.requests[0].chunk_size_bytes == 2048


def test_cli_requires_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([])

    assert caught.value.code == 2
    assert "usage: idc-client" in capsys.readouterr().err


def test_python_m_idc_client_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "idc_client", "macd", "--help"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0
    assert "--symbol" in result.stdout


def test_cli_macd_and_graph_send_the_convention(fake: FakeServer, tmp_path: Path) -> None:
    fake.indicators.response = spy_response()
    fake.graphs.responses = [metadata_message(PNG), *chunk_messages(PNG)]

    assert main(["macd", "--target", fake.target, "--convention", "tdx"]) == 0
    assert main(["graph", "--target", fake.target, "--convention", "TALIB", "-o", str(tmp_path / "m.png")]) == 0

    assert fake.indicators.requests[0].convention == indicators_pb2.CONVENTION_TDX
    assert fake.graphs.requests[0].convention == indicators_pb2.CONVENTION_TALIB


def test_cli_refuses_an_unknown_convention(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["macd", "--target", fake.target, "--convention", "ta-lib"])

    assert caught.value.code == 2
    assert "--convention" in capsys.readouterr().err
    assert fake.indicators.requests == []


def test_cli_indicators_builds_labelled_specs(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.indicators_response = two_series_response()

    status = main(
        [
            "indicators",
            "--target",
            fake.target,
            "--symbol",
            "SPY",
            "--start",
            "2024-01-01",
            "--sma",
            "20",
            "--sma",
            "5",
            "--ema",
            "12",
            "--rsi",
            "14",
            "--boll",
            "20",
            "--kdj",
            "9",
            "--macd",
            "--macd",
            "5,35,5",
            "--convention",
            "tdx",
        ]
    )

    out = capsys.readouterr().out
    assert status == 0
    request = fake.indicators.indicator_requests[0]
    assert (request.symbol, request.start_date, request.convention) == ("SPY", "2024-01-01", 2)
    assert list(request.indicators) == [
        sma(20, label="sma20"),
        sma(5, label="sma5"),
        indicators_pb2.IndicatorSpec(label="ema12", ema=indicators_pb2.EMAParameters(period=12)),
        rsi(14, label="rsi14"),
        boll(20, label="boll20"),
        kdj(9, label="kdj9"),
        macd(label="macd"),
        macd(5, 35, 5, label="macd_5_35_5"),
    ]  # in the order of the flags, as Go's idc indicators
    assert out.splitlines()[0] == "SPY, 2 bars, convention tdx"
    assert "sma20" in out
    assert "61.5000" in out
    assert "NaN" not in out  # warm-up cells are empty, as in Go's tables


def test_cli_indicators_csv_and_period_zero(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.indicators_response = two_series_response()

    status = main(["indicators", "--target", fake.target, "--rsi", "0", "--csv"])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert list(fake.indicators.indicator_requests[0].indicators) == [rsi(label="rsi")]
    assert lines[0] == "date,sma20,rsi"
    assert lines[1] == "2023-12-28,470.1,"
    assert lines[2] == "2023-12-29,471.2,61.5"


def test_cli_indicators_needs_an_indicator(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["indicators", "--target", fake.target, "--symbol", "SPY"])

    assert caught.value.code == 2
    assert "at least one of --sma" in capsys.readouterr().err
    assert fake.indicators.indicator_requests == []


@pytest.mark.parametrize("value", ["5,35", "a,b,c", "1,2,3,4"])
def test_cli_indicators_refuses_bad_macd_periods(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["indicators", "--macd", value])

    assert caught.value.code == 2
    assert "FAST,SLOW,SIGNAL" in capsys.readouterr().err


def test_cli_sends_a_bars_csv_as_inline_bars(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bars.csv"
    bars_input().to_csv(path)
    fake.indicators.response = spy_response()
    fake.indicators.response.symbol = ""
    fake.indicators.indicators_response = two_series_response()

    assert main(["macd", "--target", fake.target, "--bars", str(path)]) == 0
    assert main(["indicators", "--target", fake.target, "--bars", str(path), "--sma", "2"]) == 0

    assert "(inline bars) MACD(12,26,9), 1 bars, convention talib" in capsys.readouterr().out
    requests: list[indicator_service_pb2.GetMACDRequest | indicator_service_pb2.ComputeIndicatorsRequest] = [
        fake.indicators.requests[0],
        fake.indicators.indicator_requests[0],
    ]
    for request in requests:
        assert request.WhichOneof("source") == "inline_bars"
        assert request.inline_bars == EXPECTED_BARS


def test_cli_refuses_symbol_with_bars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["macd", "--symbol", "SPY", "--bars", str(tmp_path / "bars.csv")])

    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_reports_an_unreadable_bars_file(
    fake: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["macd", "--target", fake.target, "--bars", str(tmp_path / "missing.csv")])

    assert status == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert fake.indicators.requests == []


def test_cli_macd_prints_intraday_times_in_the_exchange_zone(
    fake: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.indicators.response = intraday_response(bars_pb2.INTERVAL_5_MINUTES, bars_pb2.ADJUSTMENT_FORWARD)

    status = main(
        [
            *("macd", "--target", fake.target, "--symbol", "M", "--interval", "5m", "--adjust", "forward"),
            *("--start", "2020-07-01T09:30", "--end", "2020-07-01"),
        ]
    )

    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "000001.SH-1MIN MACD(12,26,9), 2 bars of 5m in Asia/Shanghai, convention talib, adjustment forward",
        "time                   open       high        low      close     volume       macd     signal  histogram",
        "2020-07-01 09:30  2991.1800  2991.5000  2990.3400  2990.4300  720858300   0.000000   0.000000   0.000000",
        "2020-07-01 09:35  2990.3200  2990.3200  2986.7800  2986.9100  311297200  -0.500000  -0.100000  -0.400000",
    ]
    request = fake.indicators.requests[0]
    assert (request.interval, request.adjustment) == (bars_pb2.INTERVAL_5_MINUTES, bars_pb2.ADJUSTMENT_FORWARD)
    assert (request.start_date, request.end_date) == ("2020-07-01T09:30", "2020-07-01")


def test_cli_weekly_bars_print_their_dates(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.response = intraday_response(bars_pb2.INTERVAL_1_WEEK, bars_pb2.ADJUSTMENT_AS_STORED)

    assert main(["macd", "--target", fake.target, "--interval", "1w", "--csv"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("date,open")
    assert lines[1].startswith("2020-07-01,2991.18,")


def test_cli_indicators_prints_intraday_times(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.indicators_response = indicator_service_pb2.ComputeIndicatorsResponse(
        symbol="SPX-1MIN",
        dates=[18205, 18205],
        times=[NEW_YORK_0930, NEW_YORK_0930 + 3600],
        interval=bars_pb2.INTERVAL_1_HOUR,
        time_zone="America/New_York",
        adjustment=bars_pb2.ADJUSTMENT_BACKWARD,
        series=[indicators_pb2.Series(name="sma2", first_valid_index=1, values=[1.25])],
    )

    assert main(["indicators", "--target", fake.target, "--interval", "1h", "--adjust", "backward", "--sma", "2"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "SPX-1MIN, 2 bars of 1h in America/New_York, convention unspecified, adjustment backward",
        "time                sma2",
        "2019-11-05 09:30",
        "2019-11-05 10:30  1.2500",
    ]
    request = fake.indicators.indicator_requests[0]
    assert (request.interval, request.adjustment) == (bars_pb2.INTERVAL_1_HOUR, bars_pb2.ADJUSTMENT_BACKWARD)


@pytest.mark.parametrize("flags", [["--interval", "2m"], ["--adjust", "qfq"]])
def test_cli_refuses_an_unknown_interval_or_adjustment(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["macd", *flags])

    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_graph_takes_no_interval(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["graph", "--interval", "5m"])

    assert caught.value.code == 2
    assert "unrecognized arguments: --interval" in capsys.readouterr().err


def test_cli_symbols_prints_a_table(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.symbols_response = symbols_response()

    status = main(["symbols", "--target", fake.target])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines == [
        "symbol          first        last  bars  state          adjusted  interval         time_zone",
        "000001.SH  2010-01-04  2026-06-16  3993  ready        not-needed        1d     Asia/Shanghai",
        "SPY        1993-01-29  2026-03-27  8347  ready  splits+dividends        1d  America/New_York",
        "default symbol: SPY",
    ]


def test_cli_symbols_follows_the_pages_of_a_prefix(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.symbol_pages = True
    fake.indicators.symbols_response = symbols_response()

    assert main(["symbols", "--target", fake.target, "--prefix", "S", "--csv"]) == 0
    assert main(["symbols", "--target", fake.target, "--prefix", "X"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "symbol,first,last,bars,state,adjusted,interval,time_zone",
        "SPY,1993-01-29,2026-03-27,8347,ready,splits+dividends,1d,America/New_York",
        "symbol  first  last  bars  state  adjusted  interval  time_zone",
        "default symbol: SPY",
    ]
    assert [r.prefix for r in fake.indicators.symbol_requests] == ["S", "X"]


def test_cli_symbols_csv(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.indicators.symbols_response = symbols_response()

    status = main(["symbols", "--target", fake.target, "--csv"])

    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "symbol,first,last,bars,state,adjusted,interval,time_zone",
        "000001.SH,2010-01-04,2026-06-16,3993,ready,not-needed,1d,Asia/Shanghai",
        "SPY,1993-01-29,2026-03-27,8347,ready,splits+dividends,1d,America/New_York",
    ]
