"""What operators see: JSON logs, Prometheus metrics (also of cancelled and expired calls), health, reflection."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pandas as pd
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families
from store_kinds import DatasetStore, bars_frame
from support import HELD_CHART, HOLDING, free_port, wait_until

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.observability import setup_logging
from idc_server.server import SERVICES, RunningServer, start_server

TIMEOUT = 30.0
GET_MACD = "/idc.v1.IndicatorService/GetMACD"
GET_CHART = "/idc.v1.IndicatorGraphService/GetChart"
LIST_SYMBOLS = "/idc.v1.IndicatorService/ListSymbols"
SMALL_CHART = graph_pb2.GetChartRequest(symbol="SPY", start_date="2024-01-01", width_px=300, height_px=200)


def read_chart(stream: Any) -> bytes:
    messages = list(stream)
    data = b"".join(message.chunk for message in messages[1:])
    assert messages[0].metadata.sha256 == hashlib.sha256(data).digest()
    return data


@pytest.fixture
def fresh() -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A server of its own, so that its metrics count only this test's calls."""
    running = start_server(ServerConfig(host="127.0.0.1", port=0))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}", options=HOLDING) as channel:
        yield running, channel
    running.stop(None)


# -- JSON logs -------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers and level back after a test that sets up the server's logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_method_peer_code_duration_and_request_id(
    fresh: tuple[RunningServer, grpc.Channel], capsys: pytest.CaptureFixture[str]
) -> None:
    _, channel = fresh
    setup_logging("INFO", "json")  # as --log-format json does, to the captured stderr
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    ok_id, not_found_id, chart_id = (f"test-{uuid.uuid4()}" for _ in range(3))
    indicators.GetMACD(
        indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2024-01-01"),
        timeout=TIMEOUT,
        metadata=(("x-request-id", ok_id),),
    )
    with pytest.raises(grpc.RpcError):
        indicators.GetMACD(
            indicator_pb2.GetMACDRequest(symbol="NOPE"), timeout=TIMEOUT, metadata=(("x-request-id", not_found_id),)
        )
    read_chart(graphs.GetChart(SMALL_CHART, timeout=TIMEOUT, metadata=(("x-request-id", chart_id),)))
    indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT)  # no request id: the server makes one

    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]  # every line is JSON
    rpc = {entry["request_id"]: entry for entry in entries if entry.get("logger") == "idc_server.rpc"}
    expected = {ok_id: (GET_MACD, "OK"), not_found_id: (GET_MACD, "NOT_FOUND"), chart_id: (GET_CHART, "OK")}
    for request_id, (method, code) in expected.items():
        entry = rpc[request_id]
        assert (entry["method"], entry["code"], entry["level"]) == (method, code, "INFO")
        assert re.fullmatch(r"ipv4:127\.0\.0\.1:\d+", entry["peer"])
        assert isinstance(entry["duration_ms"], int | float)
        assert entry["duration_ms"] >= 0
        assert entry["message"].startswith(f"{method} {code} ")
        assert set(entry) >= {"time", "level", "logger", "message", "method", "peer", "code", "duration_ms"}
    generated = [entry for entry in rpc.values() if entry["method"] == LIST_SYMBOLS]
    assert len(generated) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", generated[0]["request_id"])


# -- Prometheus metrics ---------------------------------------------------------------------------


def ipv6_loopback() -> bool:
    """Whether this machine has ::1 to bind."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_metrics_endpoint_serves_rpc_and_cache_metrics() -> None:
    metrics_port = free_port()
    running = start_server(ServerConfig(host="127.0.0.1", port=0, metrics_port=metrics_port))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            indicators = indicator_grpc.IndicatorServiceStub(channel)
            graphs = graph_grpc.IndicatorGraphServiceStub(channel)
            for _ in range(2):  # the second call finds SPY's MACD in the indicator cache
                indicators.GetMACD(indicator_pb2.GetMACDRequest(start_date="2024-01-01"), timeout=TIMEOUT)
            with pytest.raises(grpc.RpcError):
                indicators.GetMACD(indicator_pb2.GetMACDRequest(start_date="not a date"), timeout=TIMEOUT)
            first = read_chart(graphs.GetChart(SMALL_CHART, timeout=TIMEOUT))
            assert read_chart(graphs.GetChart(SMALL_CHART, timeout=TIMEOUT)) == first  # from the cache
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=TIMEOUT) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
        if socket.has_ipv6 and ipv6_loopback():  # the endpoint listens on --host only, not on every interface
            with pytest.raises(OSError, match="Connection refused"):
                urllib.request.urlopen(f"http://[::1]:{metrics_port}/metrics", timeout=TIMEOUT)
    finally:
        running.stop(None)
    for name in (
        "idc_rpcs_total",
        "idc_rpc_duration_seconds_bucket",
        "idc_rpcs_in_flight",
        "idc_chart_cache_hits_total",
        "idc_chart_cache_misses_total",
        "idc_indicator_cache_hits_total",
        "idc_indicator_cache_bytes",
        "idc_chart_renders_abandoned_total",
        "idc_render_workers",
        "idc_render_workers_busy",
        "idc_render_queued",
        "idc_render_worker_restarts_total",
        "idc_render_workers_killed_total",
        "idc_render_worker_deaths_total",
        "idc_streams_stalled_total",
        "idc_store_held_bytes",
        "idc_store_held_symbols",
        "idc_store_held_max_bytes",
        "idc_store_released_total",
    ):
        assert re.search(rf"^{name}[{{ ]", text, re.MULTILINE), f"{name} is missing"
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("idc_rpcs_total", method=GET_MACD, code="OK") == 2
    assert value("idc_rpcs_total", method=GET_MACD, code="INVALID_ARGUMENT") == 1
    assert value("idc_rpcs_total", method=GET_CHART, code="OK") == 2
    assert value("idc_rpc_duration_seconds_count", method=GET_CHART, code="OK") == 2
    assert value("idc_rpc_duration_seconds_bucket", method=GET_CHART, code="OK", le="+Inf") == 2
    assert value("idc_rpcs_in_flight", method=GET_CHART) == 0
    assert value("idc_chart_cache_misses_total") == 1
    assert value("idc_chart_cache_hits_total") == 1
    assert value("idc_indicator_cache_hits_total") >= 1
    assert value("idc_indicator_cache_misses_total") >= 1
    assert value("idc_indicator_cache_bytes") > 0
    assert value("idc_render_workers") == 2
    assert value("idc_render_workers_busy") == 0
    assert value("idc_render_workers_killed_total", reason="abandoned") == 0
    assert value("idc_render_workers_killed_total", reason="memory") == 0


def test_the_stores_budget_and_what_it_let_go_of_are_in_the_metrics(tmp_path: Path) -> None:
    lake = DatasetStore(tmp_path)
    days = [str(day.date()) for day in pd.bdate_range("2024-01-01", periods=60)]
    for symbol, first in (("AAA", 100.0), ("BBB", 200.0)):
        lake.write(symbol, bars_frame(days, [first + day for day in range(60)]))
    # A 1-byte budget: each symbol read is kept (the one just read always stays), and lets go of the other.
    settings = ServerConfig(host="127.0.0.1", port=0, render_workers=0, data_urls=(lake.url,), store_cache_bytes=1)
    running = start_server(settings)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            indicators = indicator_grpc.IndicatorServiceStub(channel)
            for symbol in ("AAA", "BBB"):
                indicators.GetMACD(indicator_pb2.GetMACDRequest(symbol=symbol), timeout=TIMEOUT)

        def value(name: str) -> float | None:
            return running.metrics.registry.get_sample_value(name)

        assert value("idc_store_held_symbols") == 1  # BBB
        assert value("idc_store_held_bytes") == 60 * (8 + 4 + 5 * 8)  # times int64, days int32, 5 float64 columns
        assert value("idc_store_held_max_bytes") == 1
        assert value("idc_store_released_total") == 1  # AAA
    finally:
        running.stop(None)


def recorded(running: RunningServer, method: str) -> dict[str, float]:
    """The calls of ``method`` in ``idc_rpcs_total``, by status code."""
    return {
        sample.labels["code"]: sample.value
        for family in running.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "idc_rpcs_total" and sample.labels["method"] == method and sample.value
    }


def in_flight(running: RunningServer, method: str) -> float:
    return running.metrics.registry.get_sample_value("idc_rpcs_in_flight", {"method": method}) or 0.0


def test_a_cancelled_call_is_counted_as_cancelled(fresh: tuple[RunningServer, grpc.Channel]) -> None:
    running, channel = fresh
    call: Any = graph_grpc.IndicatorGraphServiceStub(channel).GetChart(HELD_CHART, timeout=120)
    next(call)  # rendered; the rest waits for us
    assert in_flight(running, GET_CHART) == 1
    call.cancel()
    wait_until(lambda: sum(recorded(running, GET_CHART).values()) == 1, "the cancelled GetChart to be counted")
    assert recorded(running, GET_CHART) == {"CANCELLED": 1}
    assert in_flight(running, GET_CHART) == 0
    duration = {"method": GET_CHART, "code": "CANCELLED"}
    assert running.metrics.registry.get_sample_value("idc_rpc_duration_seconds_count", duration) == 1


def test_a_call_past_its_deadline_is_counted_as_deadline_exceeded(fresh: tuple[RunningServer, grpc.Channel]) -> None:
    """The client's deadline passes first and it cancels the call: the server still counts DEADLINE_EXCEEDED."""
    running, channel = fresh
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    read_chart(graphs.GetChart(HELD_CHART, timeout=120))  # rendered and cached, so the next call starts at once
    call: Any = graphs.GetChart(HELD_CHART, timeout=2)
    next(call)
    assert in_flight(running, GET_CHART) == 1
    wait_until(lambda: sum(recorded(running, GET_CHART).values()) == 2, "the expired GetChart to be counted")
    assert call.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert in_flight(running, GET_CHART) == 0
    assert recorded(running, GET_CHART) == {"OK": 1, "DEADLINE_EXCEEDED": 1}


# -- health and reflection ------------------------------------------------------------------------


def test_health_serves_every_service_and_not_unknown_ones(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", *SERVICES):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert response.status == health_pb2.HealthCheckResponse.SERVING, service
    assert {"idc.v1.IndicatorService", "idc.v1.IndicatorGraphService", "idc.Indicator", "idc.IndicatorGraph"} == set(
        SERVICES
    )
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(health_pb2.HealthCheckRequest(service="idc.v1.Nope"), timeout=TIMEOUT)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_and_describes_the_idc_services(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert services >= {*SERVICES, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("idc.v1.IndicatorGraphService")
    assert [method.name for method in service.methods] == ["GetMACDGraph", "GetChart"]
    request = pool.FindMessageTypeByName("idc.v1.GetChartRequest")
    assert request.fields_by_name["chunk_size_bytes"].number == 14


def test_reflection_can_be_turned_off() -> None:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, reflection=False))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
            indicators = indicator_grpc.IndicatorServiceStub(channel)
            assert indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT).symbols
    finally:
        running.stop(None)
