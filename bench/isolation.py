"""The execution model's figures (docs/decisions/0011): isolation of heavy work, and what it costs.

- cheap calls' latency (Health/Check, a year of SPY's GetMACD) while every
  render worker draws, against today's single process (``--render-workers 0``);
- charts per second from one server with its render pool against one process;
- GetMACD calls per second at 250 and 2,500 bars, against one process, and on
  a grpc.aio server over the same servicer code and the same interceptor
  work (bench/baselines/aio.py), and on one without the interceptor;
- the peak resident memory of the server's process tree under eight
  concurrent 4000 x 4000 renders.

Both comparisons of throughput run in rotation: each turn starts the
servers afresh and drives them one after another, so that a change in the
machine's load hits each alike and no one pair of processes decides a ratio.

Run alone with ``python -m bench.run --only isolation``. Numbers from a
shared machine are noisy: compare ratios within one run. The machine's load
average is recorded before and after.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import load, workloads
from bench.transports import free_port
from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc

Panel = graph_pb2.ChartPanel
EVERY_PANEL = [
    Panel(volume=graph_pb2.VolumeParameters()),
    Panel(macd=bars_pb2.MACDParameters()),
    Panel(rsi=indicators_pb2.RSIParameters()),
    Panel(kdj=indicators_pb2.KDJParameters()),
]
MODELS = {"pool": ("--render-workers", "2"), "one process": ("--render-workers", "0")}
AIO: dict[str, tuple[str, ...]] = {"grpc.aio": (), "grpc.aio, no interceptor": ("--no-interceptor",)}
SHORT = {"pool": "pool", "one process": "one_process", "grpc.aio": "aio", "grpc.aio, no interceptor": "aio_bare"}
ROTATIONS = 8  # turns of each rotation (fresh servers, order reversed every other turn); medians over them
ROTATION_WINDOW_S = 3.0  # at least: GetMACD's window per server per turn
CHART_WARMUP_S, CHART_WINDOW_S = 5.0, 15.0  # at least: the charts' warm-up and window per server per turn
MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes" / "idc.yaml"
CHEAP_CALLS = 200
CHEAP_SECONDS = 30.0
BIG_RENDERS = 8
Servers = dict[str, tuple[str, int]]  # a turn's servers by name: address and pid


def big_chart(index: int) -> graph_pb2.GetChartRequest:
    """A distinct 4000 x 4000 chart of SPY with every panel (one pixel narrower per index)."""
    return graph_pb2.GetChartRequest(symbol="SPY", width_px=4000 - index, height_px=4000, panels=EVERY_PANEL)


def resident_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * 4096
    except (OSError, IndexError, ValueError):
        return 0


def proportional_bytes(pid: int) -> int:
    """A process's proportional set size (shared pages divided among their sharers); 0 where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def keep_rendering(address: str, stop: threading.Event, threads: int) -> list[threading.Thread]:
    """``threads`` clients that render distinct large charts one after another until ``stop``."""

    def loop(offset: int) -> None:
        with grpc.insecure_channel(address) as channel:
            graphs = graph_grpc.IndicatorGraphServiceStub(channel)
            index = offset
            while not stop.is_set():
                try:
                    for _ in graphs.GetChart(big_chart(index % 1000), timeout=120):
                        pass
                except grpc.RpcError:
                    pass  # a full queue, or the stop
                index += threads

    started = [threading.Thread(target=loop, args=(offset,), daemon=True) for offset in range(threads)]
    for thread in started:
        thread.start()
    return started


def latencies_ms(call: Callable[[], Any], count: int, max_seconds: float = CHEAP_SECONDS) -> list[float]:
    """Up to ``count`` calls one after another, for at most ``max_seconds`` (the old model can take seconds a call)."""
    measured: list[float] = []
    deadline = time.monotonic() + max_seconds
    while len(measured) < count and time.monotonic() < deadline:
        began = time.perf_counter()
        call()
        measured.append((time.perf_counter() - began) * 1000)
    return measured


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
        "max_at": values.index(max(values)),  # which call, in order: 0 would be the connection's first
    }


def cheap_calls_while_rendering(address: str, pid: int) -> dict[str, Any]:
    """Cheap calls' latency while four clients keep every render worker busy."""
    stop = threading.Event()
    renderers = keep_rendering(address, stop, threads=4)
    try:
        time.sleep(2.0)  # the renders under way (a figure, not a test: no condition to poll for)
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            indicators = indicator_grpc.IndicatorServiceStub(channel)
            request = indicator_pb2.GetMACDRequest(symbol="SPY", start_date="2025-03-27")
            # Connected and warm before timing: the first call on a fresh channel
            # also pays for the connection, in this client process where four
            # threads are receiving charts (decision 0011: the 725 ms outlier).
            health.Check(health_pb2.HealthCheckRequest(), timeout=60)
            indicators.GetMACD(request, timeout=60)
            checks = latencies_ms(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=60), CHEAP_CALLS)
            macd = latencies_ms(lambda: indicators.GetMACD(request, timeout=60), CHEAP_CALLS)
    finally:
        stop.set()
        for thread in renderers:
            thread.join(150)
    return {
        "health_check_ms": percentiles(checks),
        "getmacd_250_ms": percentiles(macd),
        "calls": [len(checks), len(macd)],
        "processes": len(tree(pid)),
    }


def peak_memory(address: str, pid: int) -> dict[str, Any]:
    """The process tree's peak memory under 8 big renders: resident (shared pages once per process) and proportional."""
    peak = peak_proportional = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak, peak_proportional
        while not done.wait(0.05):
            processes = tree(pid)
            peak = max(peak, sum(resident_bytes(child) for child in processes))
            peak_proportional = max(peak_proportional, sum(proportional_bytes(child) for child in processes))

    watcher = threading.Thread(target=watch)
    watcher.start()
    codes: list[str] = []

    def render(index: int) -> None:
        with grpc.insecure_channel(address) as channel:
            try:
                for _ in graph_grpc.IndicatorGraphServiceStub(channel).GetChart(big_chart(1000 + index), timeout=600):
                    pass
                codes.append("OK")
            except grpc.RpcError as error:
                codes.append(error.code().name)

    began = time.monotonic()
    clients = [threading.Thread(target=render, args=(index,)) for index in range(BIG_RENDERS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    done.set()
    watcher.join()
    return {
        "peak_tree_rss_mib": peak >> 20,
        "peak_tree_pss_mib": peak_proportional >> 20,
        "seconds": round(time.monotonic() - began, 1),
        "codes": sorted(codes),
    }


def manifest_memory_limit_mib() -> int:
    """The container's memory limit in deploy/kubernetes/idc.yaml, in MiB (0 if it has none in Mi or Gi)."""
    text = MANIFEST.read_text()
    match = re.search(r"^\s+limits:\n(?:\s+cpu: .*\n)?\s+memory: (\d+)(Mi|Gi)$", text, re.MULTILINE)
    if match is None:
        return 0
    return int(match.group(1)) * (1 if match.group(2) == "Mi" else 1024)


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (other work on a shared machine shows here)."""
    return [round(value, 2) for value in os.getloadavg()]


def starting(start: Callable[..., tuple[str, int]], *flags: str) -> Callable[[ExitStack], tuple[str, int]]:
    """``start`` with ``flags``, for a turn's ExitStack."""
    return lambda servers: start(servers, *flags)


def rotation(starts: dict[str, Callable[[ExitStack], tuple[str, int]]]) -> Iterator[tuple[list[str], Servers]]:
    """ROTATIONS turns, each with every server started afresh; the order to drive them in, reversed every other turn.

    Fresh servers each turn: each turn's ratio is between a new pair of
    processes, so the median over the turns is not one pair's.
    """
    for turn in range(ROTATIONS):
        order = list(starts) if turn % 2 == 0 else list(reversed(starts))
        with ExitStack() as servers:
            yield order, {name: starts[name](servers) for name in order}


def summary_of_turns(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median turn's figures; calls/s, server cores and CPU a call as medians, with every turn's beside them."""
    middle = sorted(runs, key=lambda run: run["throughput_rps"])[len(runs) // 2]
    summary = dict(middle)
    for key in ("throughput_rps", "server_cores_busy", "server_cpu_ms_per_call"):
        summary[key] = round(statistics.median(run[key] for run in runs), 3)
        summary[f"{key}_turns"] = [round(run[key], 2) for run in runs]
    summary["errors"] = sum(run["errors"] for run in runs)
    return summary


def go_turn(binary: Path, server: tuple[str, int], settings: load.Load, *flags: str) -> dict[str, Any]:
    """One window of the Go client against ``server``, with the server's process tree's CPU over it."""
    from bench.run import go_bench

    address, pid = server
    before, began = load.process_tree_cpu_s(pid), time.monotonic()
    run = go_bench(binary, address, settings, *flags)
    run["server_cores_busy"] = (load.process_tree_cpu_s(pid) - before) / (time.monotonic() - began)
    # Over the warm-up too, at the same rate as the window: cores busy per call/s.
    run["server_cpu_ms_per_call"] = 1000 * run["server_cores_busy"] / run["throughput_rps"]
    return run


def charts_in_rotation(settings: load.Load, binary: Path, start: Callable[..., tuple[str, int]]) -> dict[str, Any]:
    """Charts per second, 16 connections, every chart distinct, on each model, in rotation."""
    from bench.run import CHART, log

    flags = ["-rpc", "chart", "-symbol", "SPY", "-start", CHART.start_date, "-end", CHART.end_date]
    flags += ["-distinct", "-concurrency", "16", "-connections", "16"]
    # One process draws its 16 charts side by side under one GIL, so they end
    # together, about every 5 s: a window spans three such rounds, and the
    # warm-up lets the first one, which all start at once, go by.
    one_turn = replace(
        settings,
        rounds=1,
        warmup_s=max(settings.warmup_s, CHART_WARMUP_S),
        window_s=max(settings.window_s, CHART_WINDOW_S),
    )
    starts = {
        model: starting(start, *model_flags, "--render-cache-bytes", "0") for model, model_flags in MODELS.items()
    }
    turns: dict[str, list[dict[str, Any]]] = {model: [] for model in MODELS}
    for number, (order, servers) in enumerate(rotation(starts), 1):
        log(f"charts per second, turn {number} of {ROTATIONS}: {', '.join(order)}")
        for model in order:
            turns[model].append(go_turn(binary, servers[model], one_turn, *flags))
    return {model: summary_of_turns(runs) for model, runs in turns.items()}


def getmacd_in_rotation(settings: load.Load, binary: Path, start: Callable[..., tuple[str, int]]) -> dict[str, Any]:
    """GetMACD calls/s at concurrency 8 on one connection, on the four servers, in rotation.

    The Go client drives them, from one process with 8 calls in flight on
    one connection: with Python client processes the same pair of servers
    moved by up to 25 % from turn to turn (decision 0011).
    """
    from bench.run import log, server

    def aio(flags: tuple[str, ...], name: str, servers: ExitStack) -> tuple[str, int]:
        port = free_port()
        command = [sys.executable, "-m", "bench.baselines.aio", "--port", str(port), *flags]
        return f"127.0.0.1:{port}", servers.enter_context(server(command, port, name)).pid

    starts = {model: starting(start, *flags) for model, flags in MODELS.items()}
    starts |= {name: partial(aio, flags, name) for name, flags in AIO.items()}
    windows = {workload.name: workload for workload in (workloads.YEAR, workloads.DECADE)}
    turns: dict[str, dict[str, list[dict[str, Any]]]] = {name: {w: [] for w in windows} for name in starts}
    one_turn = replace(settings, rounds=1, window_s=max(settings.window_s, ROTATION_WINDOW_S))
    for number, (order, servers) in enumerate(rotation(starts), 1):
        for name_of_workload, workload in windows.items():
            log(f"GetMACD {name_of_workload} bars, concurrency 8, turn {number} of {ROTATIONS}: {', '.join(order)}")
            flags = [
                "-rpc",
                "macd",
                "-symbol",
                workload.symbol,
                "-start",
                workload.start_date,
                "-end",
                workload.end_date,
            ]
            for name in order:
                run = go_turn(binary, servers[name], one_turn, *flags, "-concurrency", "8", "-connections", "1")
                turns[name][name_of_workload].append(run)
    return {
        name: {workload: summary_of_turns(runs) for workload, runs in by_workload.items()}
        for name, by_workload in turns.items()
    }


def turn_ratio(ours: dict[str, Any], theirs: dict[str, Any]) -> float:
    """The median, over the rotation's turns, of one server's calls/s over another's in the same turn."""
    turns = zip(ours["throughput_rps_turns"], theirs["throughput_rps_turns"], strict=True)
    return float(statistics.median(mine / other for mine, other in turns))


def isolation(settings: load.Load, binary: Path, start: Callable[..., tuple[str, int]]) -> dict[str, Any]:
    """Every figure of the section, for each execution model."""
    from bench.run import log  # the harness's own helper

    results: dict[str, Any] = {"load_average_before": load_average()}
    for model, flags in MODELS.items():
        with ExitStack() as servers:
            address, pid = start(servers, *flags, "--render-cache-bytes", "0")
            row: dict[str, Any] = {}
            log(f"{model}: cheap calls while renders run")
            row["cheap_calls"] = cheap_calls_while_rendering(address, pid)
            log(f"{model}: peak memory under {BIG_RENDERS} concurrent 4000 x 4000 renders")
            row["memory"] = peak_memory(address, pid)
            results[model] = row
    for model, charts in charts_in_rotation(settings, binary, start).items():
        results[model]["charts"] = charts
    results["getmacd"] = getmacd_in_rotation(settings, binary, start)
    results["manifest_memory_limit_mib"] = manifest_memory_limit_mib()
    results["load_average_after"] = load_average()
    getmacd = results["getmacd"]
    results["ratios"] = {
        f"getmacd_{workload}_{SHORT[name]}_vs_{SHORT[base]}": round(
            turn_ratio(getmacd[name][workload], getmacd[base][workload]), 3
        )
        for workload in ("250", "2500")
        for name, base in (
            ("pool", "one process"),
            ("grpc.aio", "one process"),
            ("grpc.aio", "grpc.aio, no interceptor"),
        )
    }
    results["ratios"]["charts_pool_vs_one_process"] = round(
        turn_ratio(results["pool"]["charts"], results["one process"]["charts"]), 3
    )
    return results
