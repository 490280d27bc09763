"""Charts render in supervised worker processes: the RPC layer stays responsive, work stops with its caller,
and every resource has its bound (issue: one slow, idle or huge call must never take the service down)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from support import EVERY_PANEL, wait_until

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.config import ServerConfig
from idc_server.core.analytics import ChartRequest, IndicatorRequest, Selection
from idc_server.core.charts import RenderOptions
from idc_server.core.indicators import (
    INDICATORS,
    BollingerParameters,
    Convention,
    KDJParameters,
    MACDParameters,
    RSIParameters,
    SMAParameters,
)
from idc_server.core.render_cache import RenderAbandonedError
from idc_server.render_pool import RenderPool, WorkerSetup, resident_bytes
from idc_server.server import RunningServer, build_analytics, start_server

TIMEOUT = 30.0
CHEAP_CALL_SECONDS = 2.0  # what "answered at once" means on a loaded 2-core machine; the bench measures p99
MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "idc.yaml"
WINDOWS = [(symbol, start) for symbol in ("SPY", "AAPL", "000001.SH") for start in ("", "2011-01-03", "2014-01-02")]


def inline_bars(count: int) -> bars_pb2.Bars:
    """``count`` valid daily bars from 1970-01-01 on, a saw-tooth around 100."""
    closes = [100.0 + (day % 17) - (day % 5) for day in range(count)]
    return bars_pb2.Bars(
        dates=range(count),
        open=closes,
        high=[close + 1 for close in closes],
        low=[close - 1 for close in closes],
        close=closes,
        volume=[1000.0 + day % 100 for day in range(count)],
    )


@pytest.fixture
def pooled(request: pytest.FixtureRequest) -> Iterator[tuple[RunningServer, grpc.Channel]]:
    """A server with two render workers and the settings given as the fixture's parameter."""
    settings = getattr(request, "param", {})
    running = start_server(ServerConfig(host="127.0.0.1", port=0, **settings))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield running, channel
    running.stop(None)


def cheap_calls_answer(channel: grpc.Channel) -> None:
    """Health/Check, ListSymbols and a 250-bar GetMACD each answer within CHEAP_CALL_SECONDS."""
    health = health_pb2_grpc.HealthStub(channel)
    indicators = indicator_grpc.IndicatorServiceStub(channel)
    started = time.monotonic()
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=CHEAP_CALL_SECONDS).status == 1
    assert indicators.ListSymbols(indicator_pb2.ListSymbolsRequest(), timeout=CHEAP_CALL_SECONDS).symbols
    reply = indicators.GetMACD(
        indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2025-04-01"), timeout=CHEAP_CALL_SECONDS
    )
    assert len(reply.bars.dates) > 200
    assert time.monotonic() - started < CHEAP_CALL_SECONDS


def start_charts(channel: grpc.Channel, requests: list[graph_pb2.GetChartRequest], timeout: float = 120) -> list[Any]:
    graphs = graph_grpc.IndicatorGraphServiceStub(channel)
    return [graphs.GetChart(request, timeout=timeout) for request in requests]


def outcome(call: Any) -> grpc.StatusCode:
    try:
        for _ in call:
            pass
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def big_charts(count: int) -> list[graph_pb2.GetChartRequest]:
    return [
        graph_pb2.GetChartRequest(symbol=symbol, start_date=start, width_px=4000, height_px=4000, panels=EVERY_PANEL)
        for symbol, start in WINDOWS[:count]
    ]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process; 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    tree = [pid]
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:"):
                parents[int(entry.name)] = int(line.split()[1])
    for child, parent in sorted(parents.items()):
        if parent in tree:
            tree.append(child)
    return tree


# -- rows of the table ----------------------------------------------------------------------


def test_cheap_calls_answer_while_64_charts_are_asked_for_and_the_queue_refuses_the_rest_at_once(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = pooled
    channels = [
        grpc.insecure_channel(f"127.0.0.1:{running.port}", options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(4)
    ]
    try:
        calls = [
            call
            for index, client in enumerate(channels)
            for call in start_charts(
                client, [graph_pb2.GetChartRequest(symbol="SPY", width_px=1200 + 16 * index + n) for n in range(16)]
            )
        ]
        wait_until(lambda: running.pool is not None and running.pool.stats().busy == 2, "both workers busy", TIMEOUT)
        cheap_calls_answer(channel)
        codes = [outcome(call) for call in calls]
    finally:
        for client in channels:
            client.close()
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert codes.count(grpc.StatusCode.OK) >= 2 + 16  # two drawing, sixteen queued (--render-queue)
    assert codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED) >= 64 - 32  # --max-streams


@pytest.mark.parametrize("pooled", [{"render_queue": 4}], indirect=True)
def test_a_full_queue_refuses_at_once_with_a_retry_hint(pooled: tuple[RunningServer, grpc.Channel]) -> None:
    running, channel = pooled
    calls = start_charts(channel, big_charts(2))
    wait_until(lambda: running.pool is not None and running.pool.stats().busy == 2, "both workers busy", TIMEOUT)
    queued = start_charts(channel, [graph_pb2.GetChartRequest(symbol="SPY", width_px=1000 + n) for n in range(4)])
    wait_until(lambda: running.pool is not None and running.pool.stats().queued == 4, "a full queue", TIMEOUT)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        list(graph_grpc.IndicatorGraphServiceStub(channel).GetChart(graph_pb2.GetChartRequest(), timeout=TIMEOUT))
    assert time.monotonic() - started < CHEAP_CALL_SECONDS
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--render-queue 4" in str(caught.value.details())
    status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
    assert status is not None
    hints = [detail for detail in status.details if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(hints) == 1
    info = error_details_pb2.RetryInfo()
    hints[0].Unpack(info)
    assert info.retry_delay.ToTimedelta().total_seconds() == 1.0
    for call in calls + queued:
        call.cancel()


@pytest.mark.parametrize("pooled", [{"max_chart_cost": 10**14}], indirect=True)
def test_a_render_past_its_deadline_stops_within_a_second_and_the_server_answers_meanwhile(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = pooled
    pool = running.pool
    assert pool is not None
    before = running.analytics.render_cache.stats().abandoned
    # SPY's whole history at 4000 x 4000 with every panel and three overlays (allowed here by a larger
    # budget): over a second of drawing on any machine, past the deadline.
    overlays = [
        graph_pb2.ChartOverlay(sma=indicators_pb2.SMAParameters(period=20)),
        graph_pb2.ChartOverlay(ema=indicators_pb2.EMAParameters(period=50)),
        graph_pb2.ChartOverlay(boll=indicators_pb2.BollingerParameters()),
    ]
    slow = graph_pb2.GetChartRequest(symbol="SPY", width_px=4000, height_px=4000, panels=EVERY_PANEL, overlays=overlays)
    (call,) = start_charts(channel, [slow], timeout=0.5)
    assert outcome(call) == grpc.StatusCode.DEADLINE_EXCEEDED
    ended = time.monotonic()
    wait_until(
        lambda: running.analytics.render_cache.stats().abandoned == before + 1, "the render to be abandoned", TIMEOUT
    )
    assert time.monotonic() - ended < 1.5  # stop signal, up to --render-stop-seconds 0.5, a kill: about 1 s
    assert pool.stats().busy == 0
    assert running.analytics.render_cache.stats().entries == 0  # nothing half-drawn was kept
    # And no worker is still drawing it: none uses a CPU for the next half second.
    before_cpu = {pid: cpu_seconds(pid) for pid in pool.pids()}
    threading.Event().wait(0.5)  # a measuring interval, not synchronisation
    spent = {pid: cpu_seconds(pid) - used for pid, used in before_cpu.items()}
    assert all(seconds < 0.25 for seconds in spent.values()), spent
    cheap_calls_answer(channel)
    wait_until(lambda: pool.stats().processes == 2, "two workers again", TIMEOUT)


def test_a_worker_that_does_not_stop_in_time_is_killed_and_replaced(pooled: tuple[RunningServer, grpc.Channel]) -> None:
    running, channel = pooled
    pool = running.pool
    assert pool is not None
    before = set(pool.pids())
    (call,) = start_charts(channel, big_charts(1))
    wait_until(lambda: len(pool.busy_pids()) == 1, "the render to start", TIMEOUT)
    (drawing,) = pool.busy_pids()
    os.kill(drawing, signal.SIGSTOP)  # a worker that cannot reach its next checkpoint
    try:
        call.cancel()
        assert outcome(call) == grpc.StatusCode.CANCELLED
        wait_until(lambda: pool.stats().killed_abandoned == 1, "the worker to be killed", TIMEOUT)
    finally:
        if drawing in pool.pids():
            os.kill(drawing, signal.SIGCONT)
    wait_until(lambda: len(set(pool.pids()) - before) == 1, "a replacement worker", TIMEOUT)
    assert drawing not in pool.pids()
    assert pool.stats().processes == 2
    assert running.analytics.render_cache.stats().abandoned == 1
    cheap_calls_answer(channel)


def test_a_render_another_caller_still_wants_goes_on_when_one_caller_leaves(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = pooled
    request = big_charts(1)[0]
    leaving, staying = start_charts(channel, [request]), start_charts(channel, [request])
    assert running.pool is not None
    wait_until(lambda: running.pool is not None and running.pool.stats().busy == 1, "the render to start", TIMEOUT)
    leaving[0].cancel()
    assert outcome(staying[0]) == grpc.StatusCode.OK
    assert running.pool.stats().killed_abandoned == 0


@pytest.mark.parametrize("pooled", [{"render_worker_memory_bytes": 200 * 1024 * 1024}], indirect=True)
def test_a_worker_over_its_memory_limit_is_replaced_and_its_call_is_resource_exhausted(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = pooled
    pool = running.pool
    assert pool is not None
    assert all(resident_bytes(pid) < 200 * 1024 * 1024 for pid in pool.pids())  # idle workers fit
    with pytest.raises(grpc.RpcError) as caught:
        list(graph_grpc.IndicatorGraphServiceStub(channel).GetChart(big_charts(1)[0], timeout=120))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "memory limit of 200 MiB (--render-worker-memory-bytes)" in str(caught.value.details())
    assert pool.stats().killed_memory == 1
    wait_until(lambda: pool.stats().processes == 2, "a replacement worker", TIMEOUT)
    small = list(graph_grpc.IndicatorGraphServiceStub(channel).GetChart(graph_pb2.GetChartRequest(), timeout=120))
    assert small[0].metadata.media_type == "image/png"


def test_a_worker_that_dies_mid_render_gives_unavailable_and_is_replaced(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    running, channel = pooled
    pool = running.pool
    assert pool is not None
    (call,) = start_charts(channel, big_charts(1))
    wait_until(lambda: pool.stats().busy == 1, "the render to start", TIMEOUT)
    busy = [pid for pid in pool.pids() if resident_bytes(pid)]
    for pid in busy:
        os.kill(pid, 9)
    with pytest.raises(grpc.RpcError) as caught:
        list(call)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "retry" in str(caught.value.details())
    wait_until(lambda: pool.stats().processes == 2 and pool.stats().died >= 1, "replacement workers", TIMEOUT)
    assert not set(busy) & set(pool.pids())
    cheap_calls_answer(channel)


@pytest.mark.parametrize(("bars", "deadline"), [(500_000, 60.0), (200_000, 5.0)])
def test_a_chart_over_the_cost_budget_is_refused_at_once_naming_the_limit(
    pooled: tuple[RunningServer, grpc.Channel], bars: int, deadline: float
) -> None:
    running, channel = pooled
    request = graph_pb2.GetChartRequest(inline_bars=inline_bars(bars), width_px=4000, height_px=4000)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        list(graph_grpc.IndicatorGraphServiceStub(channel).GetChart(request, timeout=deadline))
    assert time.monotonic() - started < deadline
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"this chart of {bars} bars at 4000 x 4000" in str(caught.value.details())
    assert "(--max-chart-cost)" in str(caught.value.details())
    assert running.pool is not None
    assert running.pool.stats().busy == 0  # no worker ever saw it
    cheap_calls_answer(channel)


def proportional_bytes(pid: int) -> int:
    """A process's proportional set size (its pages, shared ones divided among their sharers); 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def manifest_memory_limit() -> int:
    """The container's memory limit in the Kubernetes manifest (deploy/check_manifests.py checks the rest of it)."""
    text = MANIFEST.read_text()
    match = re.search(r"^\s+limits:\n(?:\s+cpu: .*\n)?\s+memory: (\d+)(Mi|Gi)$", text, re.MULTILINE)
    assert match is not None, "no memory limit in Mi or Gi in the manifest"
    return int(match.group(1)) * 1024 ** (2 if match.group(2) == "Mi" else 3)


def test_eight_concurrent_4000_px_renders_keep_the_process_tree_under_the_manifests_limit(
    pooled: tuple[RunningServer, grpc.Channel],
) -> None:
    _, channel = pooled
    limit = manifest_memory_limit()
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, sum(proportional_bytes(pid) for pid in process_tree(os.getpid())))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        codes = [outcome(call) for call in start_charts(channel, big_charts(8), timeout=300)]
    finally:
        done.set()
        watcher.join()
    assert codes == [grpc.StatusCode.OK] * 8
    # The sum of proportional set sizes counts each page once, divided among
    # the processes that share it (the workers share pages with their fork
    # server), as the container's memory limit charges it. The tree is this
    # test process's, so it counts the test runner too (every test module
    # and fixture): an upper bound of the server's own.
    assert 0 < peak < limit, f"peak {peak >> 20} MiB, limit {limit >> 20} MiB"


def extreme_bars(field: str, value: float, count: int = 300) -> bars_pb2.Bars:
    """Valid bars with one column (or every price, for "prices") at ``value``, finite but near the largest double."""
    bars = inline_bars(count)
    names = ("open", "high", "low", "close") if field == "prices" else (field,)
    for name in names:
        getattr(bars, name)[:] = [value] * count
    if field == "high":
        bars.low[:] = [0.0] * count
    return bars


@pytest.mark.parametrize(("field", "value"), [("volume", 1.7e308), ("high", 1.5e308), ("prices", 1e308)])
def test_extreme_finite_values_never_give_unknown_and_the_worker_goes_on(
    pooled: tuple[RunningServer, grpc.Channel], field: str, value: float
) -> None:
    _, channel = pooled
    request = graph_pb2.GetChartRequest(inline_bars=extreme_bars(field, value), panels=EVERY_PANEL)
    code = outcome(graph_grpc.IndicatorGraphServiceStub(channel).GetChart(request, timeout=120))
    # Which values are drawn and which refused is the data rule's (INVALID_ARGUMENT) and the charts'
    # (OK); whatever the chart code raises unexpectedly reaches the caller as UNAVAILABLE, never UNKNOWN.
    assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE)
    cheap_calls_answer(channel)
    assert outcome(
        graph_grpc.IndicatorGraphServiceStub(channel).GetChart(graph_pb2.GetChartRequest(), timeout=120)
    ) == (grpc.StatusCode.OK)


# -- the stop flag, on a pool of its own (no gRPC) ---------------------------------------------------


def long_draw() -> tuple[Selection, ChartRequest, Convention]:
    """SPY's whole history at 4000 x 4000 with three panels and two overlays: about 2 s of drawing here."""
    analytics = build_analytics(ServerConfig())
    panels = (
        None,
        IndicatorRequest("macd", INDICATORS["macd"], MACDParameters()),
        IndicatorRequest("rsi", INDICATORS["rsi"], RSIParameters()),
        IndicatorRequest("kdj", INDICATORS["kdj"], KDJParameters()),
    )
    overlays = (
        IndicatorRequest("sma", INDICATORS["sma"], SMAParameters(20)),
        IndicatorRequest("boll", INDICATORS["boll"], BollingerParameters()),
    )
    request = ChartRequest(overlays, panels, RenderOptions(width_px=4000, height_px=4000))
    return analytics.select("SPY", None, None), request, Convention.TALIB


@contextmanager
def pool_of_one(stop_seconds: float) -> Iterator[RenderPool]:
    pool = RenderPool(WorkerSetup((), "SPY", "talib", 0), 1, 1, 1 << 30, stop_seconds=stop_seconds)
    pool.start()
    try:
        yield pool
    finally:
        pool.close()


def render_in_thread(pool: RenderPool, abandon: threading.Event) -> tuple[threading.Thread, list[BaseException]]:
    """Start a long draw in ``pool``; the list gets what it raised (RenderAbandonedError when stopped)."""
    raised: list[BaseException] = []

    def render() -> None:
        try:
            pool.render(*long_draw(), abandon.is_set)
        except BaseException as error:  # the test looks at it
            raised.append(error)

    thread = threading.Thread(target=render)
    thread.start()
    return thread, raised


def drawing(pool: RenderPool, cpu_before: float, pid: int) -> bool:
    """Whether the worker is busy and has drawn for 0.2 s of CPU: in the middle of the draw."""
    return pool.stats().busy == 1 and cpu_seconds(pid) - cpu_before > 0.2


def test_a_worker_in_the_middle_of_a_draw_sees_the_stop_flag_and_stops_without_being_killed() -> None:
    with pool_of_one(stop_seconds=60.0) as pool:  # a kill could only come a minute later
        (pid,) = pool.pids()
        abandon = threading.Event()
        thread, raised = render_in_thread(pool, abandon)
        cpu_before = cpu_seconds(pid)
        wait_until(lambda: drawing(pool, cpu_before, pid), "the draw to be under way", TIMEOUT)
        abandon.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        assert [type(error) for error in raised] == [RenderAbandonedError]
        stats = pool.stats()
        assert (stats.stopped, stats.killed_abandoned, stats.restarts, stats.busy) == (1, 0, 0, 0)
        assert pool.pids() == [pid]  # the same worker, alive, takes the next job
        assert pool.render(*long_draw(), lambda: False).data.startswith(b"\x89PNG")


def test_a_worker_that_ignores_the_stop_flag_is_killed_once_the_stop_seconds_have_passed() -> None:
    stop_seconds = 1.0
    with pool_of_one(stop_seconds) as pool:
        (pid,) = pool.pids()
        abandon = threading.Event()
        thread, raised = render_in_thread(pool, abandon)
        cpu_before = cpu_seconds(pid)
        wait_until(lambda: drawing(pool, cpu_before, pid), "the draw to be under way", TIMEOUT)
        os.kill(pid, signal.SIGSTOP)  # mid-draw, it can no longer read the flag
        abandoned_at = time.monotonic()
        abandon.set()
        wait_until(lambda: pool.stats().killed_abandoned == 1, "the worker to be killed", TIMEOUT)
        killed_after = time.monotonic() - abandoned_at
        thread.join(TIMEOUT)
        assert [type(error) for error in raised] == [RenderAbandonedError]
        assert killed_after >= stop_seconds  # not before the flag had its time
        assert killed_after < stop_seconds + 10  # and soon after (a wide margin for a loaded machine)
        assert pool.stats().stopped == 0
        wait_until(lambda: len(pool.pids()) == 1 and pid not in pool.pids(), "a replacement worker", TIMEOUT)
