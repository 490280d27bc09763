"""Closed-loop load from Python client processes, measured in repeated windows.

Each client thread makes one call after another. Client processes (spawned,
so each has its own GIL) warm up, meet at a barrier, then measure ``rounds``
back-to-back windows of ``window_s`` seconds. A call counts in the window it
completes in. The parent samples the server's CPU time over the same span.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from bench import scenarios, transports, workloads

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Job:
    """What every client thread of a run calls: GetMACD over a transport, or a scenario."""

    transport: str = ""  # a bench.transports name; with ``workload``
    workload: str = ""  # a bench.workloads workload name: "250", "2500" or "100k"
    scenario: scenarios.Scenario | None = None


@dataclass(frozen=True)
class Load:
    """How hard and how long to drive a job."""

    concurrency: int = 1
    processes: int = 1
    warmup_s: float = 1.0
    window_s: float = 3.0
    rounds: int = 3


@dataclass
class Window:
    """One measured window of one client process."""

    calls: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    first_error: str = ""


@dataclass(frozen=True)
class Result:
    """A run's figures, over every window of every client process."""

    concurrency: int
    rounds: int
    window_s: float
    throughput_rps: list[float]  # one per window
    latencies_ms: list[float]
    errors: int
    first_error: str
    client_cpu_s: float
    server_cpu_s: float

    @property
    def calls(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        """The nearest-rank ``q`` percentile of call latency, in milliseconds."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else math.nan

    def summary(self) -> dict[str, Any]:
        """The figures the report and the JSON file keep."""
        calls = max(self.calls, 1)
        return {
            "concurrency": self.concurrency,
            "rounds": self.rounds,
            "window_s": self.window_s,
            "calls": self.calls,
            "errors": self.errors,
            "first_error": self.first_error,
            "throughput_rps": statistics.median(self.throughput_rps) if self.throughput_rps else 0.0,
            "throughput_rps_windows": [round(value, 2) for value in self.throughput_rps],
            "latency_ms": {
                "p50": self.percentile(50),
                "p90": self.percentile(90),
                "p99": self.percentile(99),
                "mean": statistics.fmean(self.latencies_ms) if self.latencies_ms else math.nan,
            },
            "client_cpu_ms_per_call": 1000 * self.client_cpu_s / calls,
            "server_cpu_ms_per_call": 1000 * self.server_cpu_s / calls,
        }


def open_job(job: Job, address: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """One thread's call and the function that closes its connection."""
    if job.scenario is not None:
        return scenarios.open_scenario(job.scenario)
    caller = transports.TRANSPORTS[job.transport].connect(address)
    workload = workloads.by_name(job.workload)
    return (lambda: caller.macd(workload)), caller.close


def process_tree_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` and its descendants (server workers)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _client_process(
    job: Job, address: str, threads: int, load: Load, barrier: Barrier, results: multiprocessing.Queue[Any]
) -> None:
    """Warm up, meet the other processes at the barrier, then measure every window."""
    calls = [open_job(job, address) for _ in range(threads)]
    windows = [Window() for _ in range(load.rounds)]
    lock = threading.Lock()
    start = threading.Event()
    epoch = [0.0]
    end_warmup = time.monotonic() + load.warmup_s
    warmup_errors: list[str] = []

    def work(call: Callable[[], int]) -> None:
        try:
            while time.monotonic() < end_warmup:
                call()
        except Exception as failure:  # reported with the first window's errors
            warmup_errors.append(f"warm-up: {type(failure).__name__}: {failure}"[:500])
        start.wait()
        stop = epoch[0] + load.rounds * load.window_s
        while True:
            began = time.monotonic()
            if began >= stop:
                return
            error = ""
            try:
                call()
            except Exception as failure:  # every failure is counted and the first one reported
                error = f"{type(failure).__name__}: {failure}"[:500]
            ended = time.monotonic()
            index = int((ended - epoch[0]) / load.window_s)
            if index >= load.rounds:
                return
            with lock:
                window = windows[index]
                if error:
                    window.errors += 1
                    window.first_error = window.first_error or error
                else:
                    window.calls += 1
                    window.latencies_ms.append(1000 * (ended - began))

    workers = [threading.Thread(target=work, args=(call,), daemon=True) for call, _ in calls]
    for worker in workers:
        worker.start()
    barrier.wait()
    epoch[0] = time.monotonic()
    start.set()
    cpu = [time.process_time()]
    for index in range(load.rounds):
        time.sleep(max(0.0, epoch[0] + (index + 1) * load.window_s - time.monotonic()))
        cpu.append(time.process_time())
        windows[index].cpu_s = cpu[-1] - cpu[-2]
    for worker in workers:
        worker.join()
    for _, close in calls:
        close()
    if warmup_errors:
        windows[0].errors += len(warmup_errors)
        windows[0].first_error = warmup_errors[0]
    results.put([window.__dict__ for window in windows])


def run(job: Job, address: str, load: Load, server_pid: int | None = None) -> Result:
    """Drive ``job`` against ``address`` as ``load`` says; raise if any client process fails."""
    context = multiprocessing.get_context("spawn")
    processes = min(load.processes, load.concurrency)
    shares = [load.concurrency // processes + (index < load.concurrency % processes) for index in range(processes)]
    barrier = context.Barrier(processes + 1)
    results: multiprocessing.Queue[Any] = context.Queue()
    children = [
        context.Process(target=_client_process, args=(job, address, threads, load, barrier, results), daemon=True)
        for threads in shares
    ]
    for child in children:
        child.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        failed = [child.exitcode for child in children]
        raise RuntimeError(f"client processes failed before measuring (exit codes {failed})") from None
    server_before = process_tree_cpu_s(server_pid) if server_pid else 0.0
    time.sleep(load.rounds * load.window_s)
    server_cpu = process_tree_cpu_s(server_pid) - server_before if server_pid else 0.0
    collected = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    windows = [[Window(**window) for window in process] for process in collected]
    throughput = [sum(process[index].calls for process in windows) / load.window_s for index in range(load.rounds)]
    every = [window for process in windows for window in process]
    return Result(
        concurrency=load.concurrency,
        rounds=load.rounds,
        window_s=load.window_s,
        throughput_rps=throughput,
        latencies_ms=[latency for window in every for latency in window.latencies_ms],
        errors=sum(window.errors for window in every),
        first_error=next((window.first_error for window in every if window.first_error), ""),
        client_cpu_s=sum(window.cpu_s for window in every),
        server_cpu_s=server_cpu,
    )
