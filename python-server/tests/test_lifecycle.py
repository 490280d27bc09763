"""``idc-server`` as a process: draining on SIGTERM, and worker processes sharing a port."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from support import EVERY_PANEL, HELD_CHART, HOLDING, free_port, wait_until

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.server import keep_large_buffers

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals, SO_REUSEPORT and /proc as on Linux")

TIMEOUT = 30.0
GET_CHART = "/idc.v1.IndicatorGraphService/GetChart"
LIST_SYMBOLS = "/idc.v1.IndicatorService/ListSymbols"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# A new connection per channel, so that calls on fresh channels can reach different workers.
FRESH_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def free_port_pair() -> int:
    """A port P such that P and P + 1 were both free a moment ago."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two adjacent free ports")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ServerProcess:
    """``python -m idc_server`` (what the ``idc-server`` script runs) with JSON logs to a file."""

    def __init__(self, log: Path, *flags: str) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", "--log-format", "json", *flags],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def entries(self) -> list[dict[str, Any]]:
        """The log so far, one JSON object a line (a last, half-written line is left out)."""
        lines = self.log.read_text().splitlines(keepends=True)
        return [json.loads(line) for line in lines if line.endswith("\n") and line.strip()]

    def messages(self) -> list[str]:
        return [str(entry["message"]) for entry in self.entries()]

    def wait_for_log(self, pattern: str, count: int = 1, seconds: float = 60.0) -> list[re.Match[str]]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            assert self.process.poll() is None, f"idc-server exited early:\n{self.log.read_text()}"
            found[:] = [match for message in self.messages() if (match := re.search(pattern, message))]
            return len(found) >= count

        wait_until(seen, f"{count} log line(s) matching {pattern!r}", seconds)
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(*flags: str) -> ServerProcess:
        server = ServerProcess(tmp_path / f"server-{len(started)}.log", *flags)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def metric_samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def in_flight(metrics_port: int, method: str) -> float:
    return metric_samples(metrics_port).get(("idc_rpcs_in_flight", (("method", method),)), 0.0)


def calls_counted(metrics_port: int, method: str, code: str = "OK") -> float:
    return metric_samples(metrics_port).get(("idc_rpcs_total", (("code", code), ("method", method))), 0.0)


def list_symbols(channel: grpc.Channel) -> list[str]:
    response = indicator_grpc.IndicatorServiceStub(channel).ListSymbols(
        indicator_pb2.ListSymbolsRequest(), timeout=TIMEOUT
    )
    return [info.symbol for info in response.symbols]


# -- SIGTERM: drain ---------------------------------------------------------------------------------


def test_sigterm_drains_finishing_the_call_in_flight_refusing_new_ones_and_exits_0(
    start: Callable[..., ServerProcess],
) -> None:
    port, metrics_port = free_port(), free_port()
    server = start("--port", str(port), "--grace-seconds", "10", "--metrics-port", str(metrics_port))
    server.wait_for_log(r"^idc-server listening on")
    target = f"127.0.0.1:{port}"
    with grpc.insecure_channel(target, options=HOLDING) as channel, grpc.insecure_channel(target) as watching:
        chart: Any = graph_grpc.IndicatorGraphServiceStub(channel).GetChart(HELD_CHART, timeout=120)
        metadata = next(chart).metadata  # rendered; the other ~900 messages wait for us to read them
        assert metadata.size_bytes > 500_000  # far beyond what flow control lets through unread
        watch: Any = health_pb2_grpc.HealthStub(watching).Watch(health_pb2.HealthCheckRequest(service=""), timeout=120)
        assert next(watch).status == SERVING
        assert in_flight(metrics_port, GET_CHART) == 1

        server.process.send_signal(signal.SIGTERM)

        assert next(watch).status == NOT_SERVING  # balancers are told first
        watch.cancel()  # a watch would otherwise hold the drain for its grace
        wait_until(lambda: not listening(port), "the server to stop accepting connections", seconds=TIMEOUT)
        with grpc.insecure_channel(target) as fresh, pytest.raises(grpc.RpcError) as caught:
            list_symbols(fresh)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert server.process.poll() is None, "the server must wait for the call in flight"
        assert in_flight(metrics_port, GET_CHART) == 1

        chunks = [message.chunk for message in chart]  # now read the rest
        data = b"".join(chunks)
        assert len(chunks) == -(-metadata.size_bytes // 1024)
        assert len(data) == metadata.size_bytes
        assert hashlib.sha256(data).digest() == metadata.sha256
        assert data.lstrip().startswith(b"<?xml")
        assert data.rstrip().endswith(b"</svg>")
        assert chart.code() == grpc.StatusCode.OK

    assert server.process.wait(timeout=TIMEOUT) == 0
    entries = server.entries()
    messages = [str(entry["message"]) for entry in entries]
    assert "received SIGTERM" in messages
    assert any(message.startswith("draining for up to 10.0s") for message in messages)
    assert messages[-1] == "stopped"
    charts = [entry for entry in entries if entry.get("method") == GET_CHART]
    assert [entry["code"] for entry in charts] == ["OK"]


def test_sigterm_cuts_off_calls_still_running_after_the_grace_period(start: Callable[..., ServerProcess]) -> None:
    port = free_port()
    server = start("--port", str(port), "--grace-seconds", "1")
    server.wait_for_log(r"^idc-server listening on")
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=HOLDING) as channel:
        chart: Any = graph_grpc.IndicatorGraphServiceStub(channel).GetChart(HELD_CHART, timeout=120)
        next(chart)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=TIMEOUT) == 0  # after about 1 s, without our reading a thing
        with pytest.raises(grpc.RpcError) as caught:
            list(chart)
        assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


# -- workers ------------------------------------------------------------------------------------------


def parent_pid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^PPid:\s+(\d+)$", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_workers_share_the_port_and_stop_on_sigterm(start: Callable[..., ServerProcess]) -> None:
    port, metrics_port = free_port(), free_port_pair()
    server = start("--workers", "2", "--port", str(port), "--metrics-port", str(metrics_port))
    (started,) = server.wait_for_log(rf"^started 2 workers on port {port}: \[(\d+), (\d+)\]$")
    workers = [int(started.group(1)), int(started.group(2))]
    assert len(set(workers)) == 2
    assert all(parent_pid(pid) == server.process.pid for pid in workers)
    server.wait_for_log(rf"^idc-server listening on 127\.0\.0\.1:{port} ", count=2)

    # Every fresh channel is a new connection, which the kernel gives to one
    # worker or the other; each worker counts the calls it served.
    calls = 0
    served: list[float] = [0.0, 0.0]
    for _ in range(100):
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=FRESH_CONNECTION) as channel:
            assert "SPY" in list_symbols(channel)
            assert "SPY" in list_symbols(channel)
        calls += 2
        served = [calls_counted(metrics_port + index, LIST_SYMBOLS) for index in range(2)]
        if calls >= 16 and all(served):
            break
    assert all(served), f"one worker served every call: {served}"
    assert sum(served) == calls

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=TIMEOUT) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert server.messages().count("stopped") == 2
    assert server.messages()[-1] == "all workers stopped"
    assert not listening(port)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_pid(int(entry.name)) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, AssertionError, ProcessLookupError):
                continue
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its children, theirs, and so on."""
    below = children(pid)
    return below + [grandchild for child in below for grandchild in descendants(child)]


def test_a_worker_that_dies_is_restarted_and_the_other_keeps_serving(start: Callable[..., ServerProcess]) -> None:
    port = free_port()
    server = start("--workers", "2", "--port", str(port))
    (started,) = server.wait_for_log(rf"^started 2 workers on port {port}: \[(\d+), (\d+)\]$")
    server.wait_for_log(r"^idc-server listening on", count=2)
    killed = int(started.group(1))
    os.kill(killed, signal.SIGKILL)
    server.wait_for_log(rf"^worker 0 \(pid {killed}\) exited with -9; starting another$")
    server.wait_for_log(r"^idc-server listening on", count=3)
    assert server.process.poll() is None
    for _ in range(8):  # fresh connections reach both workers, the new one included
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=FRESH_CONNECTION) as channel:
            assert "SPY" in list_symbols(channel)
    workers = children(server.process.pid)
    assert len(workers) == 2
    assert killed not in workers
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=TIMEOUT) == 0


def test_the_parents_death_takes_its_workers_and_their_render_processes_with_it(
    start: Callable[..., ServerProcess],
) -> None:
    port = free_port()
    server = start("--workers", "2", "--port", str(port))
    server.wait_for_log(r"^idc-server listening on", count=2)
    tree = descendants(server.process.pid)
    assert len(tree) >= 2 + 2 * 2  # two workers, each with its render processes
    server.process.kill()
    server.process.wait(timeout=TIMEOUT)
    wait_until(lambda: not any(alive(pid) for pid in tree), "every worker and render process to exit")
    wait_until(lambda: not listening(port), "the port to close")


def test_a_second_server_on_a_port_in_use_is_refused_with_workers_too(start: Callable[..., ServerProcess]) -> None:
    port = free_port()
    first = start("--workers", "2", "--port", str(port))
    first.wait_for_log(r"^idc-server listening on", count=2)
    for flags in (("--workers", "2"), ()):
        second = start("--port", str(port), *flags)
        assert second.process.wait(timeout=TIMEOUT) == 1
        assert f"another program is using port {port}" in second.log.read_text()
    assert first.process.poll() is None


def test_sigterm_while_every_render_worker_draws_exits_0_within_the_grace_period_and_a_second(
    start: Callable[..., ServerProcess],
) -> None:
    port = free_port()
    metrics_port = free_port()
    server = start(
        *("--port", str(port), "--metrics-port", str(metrics_port), "--grace-seconds", "1", "--render-workers", "2")
    )
    server.wait_for_log(r"^idc-server listening on")
    render_processes = descendants(server.process.pid)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        graphs = graph_grpc.IndicatorGraphServiceStub(channel)
        calls = [
            graphs.GetChart(
                graph_pb2.GetChartRequest(symbol=symbol, panels=EVERY_PANEL, width_px=4000, height_px=4000), timeout=120
            )
            for symbol in ("SPY", "AAPL", "000001.SH")
        ]
        wait_until(
            lambda: metric_samples(metrics_port).get(("idc_render_workers_busy", ()), 0) == 2,
            "both render workers drawing",
            TIMEOUT,
        )
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=TIMEOUT) == 0
        took = time.monotonic() - sent
        for call in calls:
            call.cancel()  # type: ignore[no-untyped-call]
    assert took < 1 + 1 + 1.5, f"exited {took:.1f}s after SIGTERM with --grace-seconds 1"  # 1.5 s of slack
    wait_until(lambda: not any(alive(pid) for pid in render_processes), "the render processes to exit")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_large_buffers_are_kept_under_glibc() -> None:
    assert keep_large_buffers()
