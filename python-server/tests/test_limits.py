"""The server's limits: each refuses with its status, and the next request succeeds."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import HELD_CHART, HOLDING, wait_until

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.server import RunningServer, start_server

TIMEOUT = 30.0


def inline_bars(count: int) -> bars_pb2.Bars:
    """``count`` valid daily bars, from 2000-01-01 on."""
    closes = [100.0 + (day % 17) - (day % 5) for day in range(count)]
    return bars_pb2.Bars(
        dates=range(10957, 10957 + count),
        open=closes,
        high=[close + 1 for close in closes],
        low=[close - 1 for close in closes],
        close=closes,
        volume=[1000.0 + day for day in range(count)],
    )


@pytest.fixture
def limited(request: pytest.FixtureRequest) -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A server with the limits given as the fixture's parameter, and a channel to it."""
    running = start_server(ServerConfig(host="127.0.0.1", port=0, **request.param))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}", options=HOLDING) as channel:
        yield running, channel
    running.stop(None)


def refused(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("limited", [{"max_message_bytes": 64 * 1024}], indirect=True)
def test_a_request_over_max_message_bytes_is_resource_exhausted(limited: tuple[RunningServer, grpc.Channel]) -> None:
    _, channel = limited
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    big = indicator_pb2.GetMACDRequest(inline_bars=inline_bars(3000))
    assert big.ByteSize() > 64 * 1024
    error = refused(lambda: indicators.GetMACD(big, timeout=TIMEOUT))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    small = indicator_pb2.GetMACDRequest(inline_bars=inline_bars(300))
    assert len(indicators.GetMACD(small, timeout=TIMEOUT).bars.dates) == 300
    # The limit holds for responses too: SPY's whole history is about 550 kB of MACD. The server
    # says so itself, with advice, rather than leaving it to gRPC after counting the call as OK.
    error = refused(lambda: indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol="SPY"), timeout=TIMEOUT))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "more than this server's limit of 65536 (--max-message-bytes)" in (error.details() or "")
    window = indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2024-01-01", end_date="2024-03-31")
    assert len(indicators.GetMACD(window, timeout=TIMEOUT).bars.dates) > 50


@pytest.mark.parametrize("limited", [{"max_bars": 100}], indirect=True)
def test_inline_bars_over_max_bars_are_invalid_argument(limited: tuple[RunningServer, grpc.Channel]) -> None:
    _, channel = limited
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    calls: list[Callable[[bars_pb2.Bars], object]] = [
        lambda bars: indicators.GetMACD(indicator_pb2.GetMACDRequest(inline_bars=bars), timeout=TIMEOUT),
        lambda bars: indicators.ComputeIndicators(
            indicator_pb2.ComputeIndicatorsRequest(
                inline_bars=bars, indicators=[indicators_pb2.IndicatorSpec(sma=indicators_pb2.SMAParameters())]
            ),
            timeout=TIMEOUT,
        ),
        lambda bars: list(
            graphs.GetChart(graph_pb2.GetChartRequest(inline_bars=bars, width_px=300, height_px=200), timeout=TIMEOUT)
        ),
    ]
    for call in calls:
        error = refused(lambda: call(inline_bars(101)))  # noqa: B023 - called at once
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error.details() or "").startswith("inline_bars.dates: 101 bars is more than")
        assert call(inline_bars(100))


@pytest.mark.parametrize("limited", [{"max_image_pixels": 300_000}], indirect=True)
def test_images_over_max_image_pixels_are_invalid_argument_naming_width_px(
    limited: tuple[RunningServer, grpc.Channel],
) -> None:
    _, channel = limited
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    rpcs: list[tuple[Any, Any]] = [
        (graphs.GetChart, graph_pb2.GetChartRequest),
        (graphs.GetMACDGraph, graph_pb2.GetMACDGraphRequest),
    ]
    for rpc, request_type in rpcs:
        window = {"symbol": "SPY", "start_date": "2024-01-01", "end_date": "2024-06-30"}
        error = refused(lambda: list(rpc(request_type(width_px=600, height_px=600, **window), timeout=TIMEOUT)))  # noqa: B023
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error.details() or "").startswith("width_px: 600 x 600 = 360000 pixels is more than")
        messages = list(rpc(request_type(width_px=500, height_px=600, **window), timeout=TIMEOUT))
        metadata = messages[0].metadata
        assert (metadata.width_px, metadata.height_px) == (500, 600)
        data = b"".join(message.chunk for message in messages[1:])
        assert metadata.sha256 == hashlib.sha256(data).digest()


def in_flight(running: RunningServer, method: str) -> float:
    return running.metrics.registry.get_sample_value("idc_rpcs_in_flight", {"method": method}) or 0.0


@pytest.mark.parametrize("limited", [{"max_concurrent_rpcs": 1}], indirect=True)
def test_a_call_over_max_concurrent_rpcs_is_resource_exhausted_until_the_first_ends(
    limited: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = limited
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    held: Any = graphs.GetChart(HELD_CHART, timeout=120)
    metadata = next(held).metadata  # rendered; now the stream waits for us to read
    assert in_flight(running, "/idc.v1.IndicatorGraphService/GetChart") == 1
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as second:
        error = refused(
            lambda: indicator_grpc.IndicatorServiceStub(second).ListSymbols(
                indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT
            )
        )
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    error = refused(lambda: indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "(--max-concurrent-rpcs 1)" in str(error.details())
    assert refused_counted(running, "/idc.v1.IndicatorService/ListSymbols") == 2  # visible, unlike grpcio's own
    data = b"".join(message.chunk for message in held)
    assert hashlib.sha256(data).digest() == metadata.sha256
    # gRPC frees the slot once it has sent the first call's status, which
    # the client may see a moment before the server has counted it.
    response = None
    for _ in range(200):
        try:
            response = indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            threading.Event().wait(0.01)
        else:
            break
    assert response is not None, "the slot of the finished call was never freed"
    assert "SPY" in [info.symbol for info in response.symbols]


@pytest.mark.parametrize("limited", [{"max_connection_age_seconds": 1.0}], indirect=True)
def test_connections_are_closed_after_max_connection_age_and_clients_reconnect(
    limited: tuple[RunningServer, grpc.Channel],
) -> None:
    _, channel = limited
    states: list[grpc.ChannelConnectivity] = []
    channel.subscribe(states.append)
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    assert indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT).symbols
    ready, idle = grpc.ChannelConnectivity.READY, grpc.ChannelConnectivity.IDLE
    wait_until(lambda: ready in states and idle in states[states.index(ready) :], "the server to close the connection")
    # The server sent GOAWAY when the connection reached its age; the next call connects again.
    assert indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT).symbols
    channel.unsubscribe(states.append)


# -- streams: idle Watch streams and slow readers ------------------------------------------------------

TOKEN = "s3cret-token"
AUTHORIZED = (("authorization", f"Bearer {TOKEN}"),)


def refused_counted(running: RunningServer, method: str, code: str = "RESOURCE_EXHAUSTED") -> float:
    return running.metrics.registry.get_sample_value("idc_rpcs_total", {"method": method, "code": code}) or 0.0


def quick_calls_answer(running: RunningServer, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    """Health/Check and GetMACD, on a connection of their own, answer within 2 s."""
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as other:
        health = health_pb2_grpc.HealthStub(other)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING
        reply = indicator_grpc.IndicatorServiceStub(other).GetMACD(
            indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2025-01-02"), timeout=2, metadata=metadata
        )
        assert len(reply.bars.dates) > 200


@pytest.mark.parametrize("limited", [{"auth_tokens": (TOKEN,), "render_workers": 0}], indirect=True)
def test_sixteen_idle_watch_streams_on_one_connection_leave_authorized_calls_answered(
    limited: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = limited
    health = health_pb2_grpc.HealthStub(channel)
    watches: list[Any] = [health.Watch(health_pb2.HealthCheckRequest(), timeout=60) for _ in range(16)]
    for watch in watches:
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING  # now each one idles
    quick_calls_answer(running, AUTHORIZED)
    # One more on the same connection is over --max-streams-per-peer, at once, and counted.
    extra = health.Watch(health_pb2.HealthCheckRequest(), timeout=10)
    error = refused(lambda: next(extra))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "(--max-streams-per-peer 16)" in str(error.details())
    assert refused_counted(running, "/grpc.health.v1.Health/Watch") == 1
    for watch in watches:
        watch.cancel()


@pytest.mark.parametrize("limited", [{"auth_tokens": (TOKEN,), "max_streams": 8, "render_workers": 0}], indirect=True)
def test_callers_without_a_token_get_half_the_streams(limited: tuple[RunningServer, grpc.Channel]) -> None:
    _, channel = limited
    health = health_pb2_grpc.HealthStub(channel)
    watches: list[Any] = [health.Watch(health_pb2.HealthCheckRequest(), timeout=60) for _ in range(4)]
    for watch in watches:
        next(watch)
    error = refused(lambda: next(health.Watch(health_pb2.HealthCheckRequest(), timeout=10)))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "without a token" in str(error.details())
    with_token = health.Watch(health_pb2.HealthCheckRequest(), timeout=60, metadata=AUTHORIZED)
    assert next(with_token).status == health_pb2.HealthCheckResponse.SERVING
    for watch in [*watches, with_token]:
        watch.cancel()


@pytest.mark.parametrize("limited", [{"stream_stall_seconds": 1.0}], indirect=True)
def test_sixteen_readers_that_stop_reading_leave_cheap_calls_answered_and_are_cancelled(
    limited: tuple[RunningServer, grpc.Channel],
) -> None:
    running, _ = limited
    channels = [
        grpc.insecure_channel(f"127.0.0.1:{running.port}", options=[*HOLDING, ("grpc.use_local_subchannel_pool", 1)])
        for _ in range(16)
    ]
    try:
        readers: list[Any] = [
            graph_grpc.IndicatorGraphServiceStub(c).GetChart(HELD_CHART, timeout=120) for c in channels
        ]
        for reader in readers:
            next(reader)  # one message each, then they stop reading
        quick_calls_answer(running)
        gauge = "/idc.v1.IndicatorGraphService/GetChart"
        wait_until(lambda: in_flight(running, gauge) == 0, "every stalled stream to be cancelled", 30)
        assert running.interceptor.stalls.cancelled == 16
        for reader in readers:
            error = refused(lambda reader=reader: list(reader))
            assert error.code() == grpc.StatusCode.CANCELLED
    finally:
        for client in channels:
            client.close()
    quick_calls_answer(running)
