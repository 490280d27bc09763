"""Run every benchmark side by side on this machine; write the JSON figures, the plot and the doc.

``nox -s bench`` runs this (``python -m bench.run --help`` for the knobs).
Servers and client processes run on the same machine; each server is one
process unless a section says otherwise. See docs/benchmarks.md for the
method and the latest figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import formulas, isolation, load, profile, report, scenarios, workloads
from bench.transports import TRANSPORTS, free_port
from idc_server.config import ServerConfig
from idc_server.core.analytics import IndicatorRequest
from idc_server.core.data import bars_from_columns, parse_date
from idc_server.server import build_analytics

ROOT = Path(__file__).resolve().parent.parent
GO_MODULE = ROOT / "clients" / "go"
PACKAGES = (
    *("grpcio", "protobuf", "numpy", "pandas", "matplotlib", "idc-server", "idc-client"),
    *("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "urllib3", "pyarrow", "py-spy"),
)
COMPARED = ("idc", "seed", "rest", "flight")
CLIENT_PROCESSES = 2  # Python client processes for concurrency above 1, each with its own GIL
MIN_CALLS = 20  # calls a window should hold at least, when calls are slow
MAX_WINDOW_S = 30.0


def at(settings: load.Load, concurrency: int, window_s: float | None = None) -> load.Load:
    """The run's settings at ``concurrency`` client threads: one process for one thread, else all of them."""
    processes = 1 if concurrency == 1 else settings.processes
    return replace(settings, concurrency=concurrency, processes=processes, window_s=window_s or settings.window_s)


def sized_for(settings: load.Load, concurrency: int, latency_s: float) -> load.Load:
    """``at(settings, concurrency)`` with a warm-up and windows that suit calls of ``latency_s`` (median at 1).

    With one server process, calls in flight mostly wait their turn, so a
    call takes about ``concurrency * latency_s``. Slow calls get a warm-up
    of one such call, and windows of 1.5 such calls and at least
    ``MIN_CALLS`` calls, up to ``MAX_WINDOW_S``.
    """
    warmup = min(max(settings.warmup_s, concurrency * latency_s), MAX_WINDOW_S)
    window = min(max(settings.window_s, MIN_CALLS * latency_s, 1.5 * concurrency * latency_s), MAX_WINDOW_S)
    return replace(at(settings, concurrency), warmup_s=warmup, window_s=window)


@contextmanager
def server(command: list[str], port: int, name: str, timeout: float = 180.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; wait until its port accepts connections."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"{name} exited with {process.returncode} before serving:\n{error}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def idc_server(stack: ExitStack, *flags: str) -> tuple[str, int]:
    """Start an idc-server with ``flags`` for the rest of the run; its address and pid."""
    port = free_port()
    process = stack.enter_context(server([*TRANSPORTS["idc"].server_command(port), *flags], port, "idc-server"))
    return f"127.0.0.1:{port}", process.pid


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def figures(result: load.Result, **labels: Any) -> dict[str, Any]:
    """One run's summary with what it measured; fails the benchmark if any call failed."""
    summary = {**labels, **result.summary()}
    if result.errors or not result.calls:
        raise RuntimeError(f"{labels}: {result.errors} failed calls of {result.calls}: {result.first_error}")
    return summary


# --- 1. GetMACD against the alternatives -------------------------------------------------


def macd_comparison(settings: load.Load, stack: ExitStack, work: Path) -> dict[str, Any]:
    """GetMACD over each transport: latency at concurrency 1, throughput at 8 and 32, for each size."""
    addresses: dict[str, tuple[str, int]] = {}
    for name in COMPARED:
        port = free_port()
        # In-process, as the baselines: a transport comparison (section 6 measures the render pool).
        in_process = ["--pooled-indicator-bars", "0"] if name == "idc" else []
        command = [*TRANSPORTS[name].server_command(port), *in_process]
        process = stack.enter_context(server(command, port, TRANSPORTS[name].label))
        addresses[name] = (f"127.0.0.1:{port}", process.pid)
    runs = []
    for workload in workloads.workloads():
        for name in COMPARED:
            address, pid = addresses[name]
            latency_s = 0.0
            for concurrency in (1, 8, 32):
                log(f"GetMACD {workload.name} bars over {name}, concurrency {concurrency}")
                job = load.Job(transport=name, workload=workload.name)
                result = load.run(job, address, sized_for(settings, concurrency, latency_s), pid)
                if concurrency == 1:
                    latency_s = result.percentile(50) / 1000
                runs.append(
                    figures(
                        result,
                        transport=name,
                        label=TRANSPORTS[name].label,
                        workload=workload.name,
                        rows=workload.rows,
                    )
                )
    address, pid = addresses["idc"]
    ceiling = []
    for concurrency in (8, 32):
        log(f"Health/Check on idc-server, concurrency {concurrency}")
        job = load.Job(scenario=scenarios.Scenario("health", address))
        ceiling.append(figures(load.run(job, address, at(settings, concurrency), pid), rpc="Health/Check"))
    return {"runs": runs, "grpc_ceiling": ceiling, "profile_250": profile_250(settings, address, pid, work)}


def profile_250(settings: load.Load, address: str, pid: int, work: Path) -> dict[str, Any]:
    """Sample idc-server's GIL holder while 250-bar GetMACD calls run at concurrency 8."""
    if profile.executable() is None:
        return {"available": False, "error": "py-spy is not installed"}
    output = work / "profile-250.txt"
    load_ = at(settings, 8)
    seconds = load_.warmup_s + load_.rounds * load_.window_s
    log("GetMACD 250 bars at concurrency 8 under the sampling profiler")
    sampler = profile.record(pid, seconds, output)
    result = load.run(load.Job(transport="idc", workload="250"), address, load_, pid)
    _, error = sampler.communicate(timeout=120)
    if sampler.returncode != 0 or not output.exists():
        return {"available": False, "error": error.decode(errors="replace")[-500:]}
    sampled = profile.summarise(output, seconds)
    # The samples cover the warm-up too; the calls in it ran at the measured rate.
    calls = result.summary()["throughput_rps"] * seconds
    python_ms = 1000 * sampled.samples / sampled.rate / calls if calls else 0.0
    return {
        "available": True,
        "summary": result.summary(),
        "samples": sampled.samples,
        "gil_busy": sampled.gil_busy,
        "python_ms_per_call": python_ms,
        "shares": sampled.shares,
        "top_frames": sampled.top_frames,
    }


# --- 2. ComputeIndicators: the RPC against the same core in-process -------------------------


def in_process_indicators(workload_name: str, calls: int) -> list[float]:
    """Milliseconds per call of the core work ComputeIndicators does, called directly.

    The same five indicators as ``scenarios.FIVE_INDICATORS``, on the same
    bars: the stored decade of SPY ("2500") or the synthetic bars ("inline2500").
    """
    from idc_server.core.indicators import (
        INDICATORS,
        BollingerParameters,
        EMAParameters,
        MACDParameters,
        RSIParameters,
        SMAParameters,
    )

    analytics = build_analytics(ServerConfig())
    requests = [
        IndicatorRequest("sma", INDICATORS["sma"], SMAParameters(20)),
        IndicatorRequest("ema", INDICATORS["ema"], EMAParameters(20)),
        IndicatorRequest("macd", INDICATORS["macd"], MACDParameters()),
        IndicatorRequest("rsi", INDICATORS["rsi"], RSIParameters(14)),
        IndicatorRequest("boll", INDICATORS["boll"], BollingerParameters(20, 2.0)),
    ]
    if workload_name == "2500":
        window = workloads.DECADE

        def select() -> Any:
            start = parse_date("start_date", window.start_date)
            end = parse_date("end_date", window.end_date)
            return analytics.select(window.symbol, start, end)
    else:
        bars = workloads.synthetic_bars(2500)

        def select() -> Any:
            frame = bars_from_columns(bars.days, bars.columns(), max_bars=ServerConfig().max_bars)
            return analytics.select(None, None, None, frame)

    def call() -> None:
        selection = select()
        convention = analytics.default_convention
        series = [result for request in requests for result in analytics.indicator(selection, request, convention)]
        analytics.frame(selection, convention, series)

    for _ in range(20):
        call()
    timings = []
    for _ in range(calls):
        began = time.perf_counter()
        call()
        timings.append(1000 * (time.perf_counter() - began))
    return timings


def indicators_comparison(settings: load.Load, stack: ExitStack) -> list[dict[str, Any]]:
    """ComputeIndicators with five indicators over 2,500 bars, over gRPC and in-process."""
    address, pid = idc_server(stack)
    rows = []
    for workload_name in ("2500", "inline2500"):
        log(f"ComputeIndicators, five indicators, {workload_name} bars, over gRPC and in-process")
        job = load.Job(scenario=scenarios.Scenario("indicators", address, workload_name))
        rpc = figures(load.run(job, address, at(settings, 1), pid), workload=workload_name)
        local = in_process_indicators(workload_name, calls=300)
        ordered = sorted(local)
        rows.append(
            {
                "workload": workload_name,
                "rpc": rpc,
                "in_process_ms": {
                    "p50": statistics.median(local),
                    "p99": ordered[max(0, int(0.99 * len(ordered)) - 1)],
                    "calls": len(local),
                },
            }
        )
    return rows


# --- 3. Charts: render, cache hit, chunk size -----------------------------------------------


CHART = scenarios.ChartSpec()  # a year of SPY, volume and MACD panels, 1200x800 PNG
LARGE = scenarios.ChartSpec(start_date="1993-01-01", end_date="2024-12-31", format="svg")  # SPY's whole history


def charts_comparison(settings: load.Load, stack: ExitStack, binary: Path) -> dict[str, Any]:
    """Render latency with no cache, latency on a cache hit, and stream throughput by chunk size."""
    uncached, uncached_pid = idc_server(stack, "--render-cache-bytes", "0")
    cached, cached_pid = idc_server(stack)
    runs: dict[str, Any] = {}
    log("GetChart rendered every time (cache off)")
    job = load.Job(scenario=scenarios.Scenario("chart", uncached, chart=CHART))
    runs["render"] = figures(load.run(job, uncached, at(settings, 1, settings.window_s * 2), uncached_pid))
    log("GetChart from the render cache, Python client")
    job = load.Job(scenario=scenarios.Scenario("chart", cached, chart=CHART))
    runs["cache_hit_python"] = figures(load.run(job, cached, at(settings, 1), cached_pid))
    log("GetChart from the render cache, Go client")
    flags = ["-rpc", "chart", "-symbol", "SPY", "-start", CHART.start_date, "-end", CHART.end_date]
    runs["cache_hit"] = go_bench(binary, cached, settings, *flags, "-concurrency", "1")
    for chunk in (1024, 64 * 1024, 256 * 1024):
        log(f"GetChart stream of a large cached image in {chunk // 1024} KiB chunks")
        spec = replace(LARGE, chunk_bytes=chunk)
        job = load.Job(scenario=scenarios.Scenario("chart", cached, chart=spec))
        runs[f"stream_{chunk // 1024}k"] = figures(load.run(job, cached, at(settings, 1), cached_pid))
    runs["image_bytes"] = {"chart": chart_size(cached, CHART), "large": chart_size(cached, LARGE)}
    return runs


def chart_size(address: str, spec: scenarios.ChartSpec) -> int:
    """The encoded size of a chart, in bytes."""
    call, close = scenarios.open_scenario(scenarios.Scenario("chart", address, chart=spec))
    try:
        return call()
    finally:
        close()


# --- 4 and 5. Workers, and the Go client against the Python client ----------------------------


def go_bench(binary: Path, address: str, settings: load.Load, *flags: str) -> dict[str, Any]:
    """Run idc-bench ``rounds`` times; the figures of each window and their median."""
    windows = []
    for _ in range(settings.rounds):
        command = [str(binary), "-addr", address, "-warmup", f"{settings.warmup_s}s", "-duration"]
        output = subprocess.run(
            [*command, f"{settings.window_s}s", *flags], check=True, capture_output=True, text=True, timeout=300
        )
        window = json.loads(output.stdout)
        if window["errors"] or not window["requests"]:
            raise RuntimeError(f"idc-bench {flags}: {window['errors']} errors: {window['first_error']}")
        windows.append(window)
    middle = sorted(windows, key=lambda window: window["throughput_rps"])[len(windows) // 2]
    requests = sum(window["requests"] for window in windows)
    return {
        **middle,
        "throughput_rps_windows": [round(window["throughput_rps"], 2) for window in windows],
        "client_cpu_ms_per_call": 1000 * sum(window["cpu_seconds"] for window in windows) / requests,
    }


def build_go_bench(work: Path) -> Path:
    """Compile clients/go/cmd/idc-bench once."""
    binary = work / "idc-bench"
    subprocess.run(["go", "build", "-o", str(binary), "./cmd/idc-bench"], cwd=GO_MODULE, check=True)
    return binary


def scaling(settings: load.Load, binary: Path) -> list[dict[str, Any]]:
    """Chart throughput with one server process and with two; every call renders a chart of its own.

    The servers render in their RPC processes (``--render-workers 0``): this
    measures what ``--workers`` adds by itself. With the render pool, one
    process already renders on every core (section 6), so a second process
    on 2 cores has no core left to add.
    """
    rows = []
    chart = ["-rpc", "chart", "-symbol", "SPY", "-start", CHART.start_date, "-end", CHART.end_date]
    for workers in (1, 2):
        port = free_port()
        command = [*TRANSPORTS["idc"].server_command(port), "--workers", str(workers), "--render-cache-bytes", "0"]
        command += ["--render-workers", "0"]
        with server(command, port, f"idc-server --workers {workers}") as process:
            time.sleep(1.0 if workers > 1 else 0.0)  # every worker listening
            log(f"GetChart throughput with --workers {workers}, 16 connections")
            before, began = load.process_tree_cpu_s(process.pid), time.monotonic()
            flags = [*chart, "-distinct", "-concurrency", "16", "-connections", "16"]
            measured = go_bench(binary, f"127.0.0.1:{port}", settings, *flags)
            cores = (load.process_tree_cpu_s(process.pid) - before) / (time.monotonic() - began)
            rows.append({"workers": workers, **measured, "server_cores_busy": cores})
    return rows


def clients_comparison(settings: load.Load, stack: ExitStack, binary: Path) -> list[dict[str, Any]]:
    """The same GetMACD load (a decade of SPY) from the Go client and from the Python client."""
    address, pid = idc_server(stack)
    window = workloads.DECADE
    rows = []
    for concurrency in (8, 32):
        log(f"GetMACD 2500 bars from the Go client, concurrency {concurrency}")
        flags = ["-rpc", "macd", "-symbol", window.symbol, "-start", window.start_date, "-end", window.end_date]
        go = go_bench(binary, address, settings, *flags, "-concurrency", str(concurrency), "-connections", "2")
        rows.append({"client": "go", "concurrency": concurrency, **go})
        log(f"GetMACD 2500 bars from the Python client, concurrency {concurrency}")
        job = load.Job(scenario=scenarios.Scenario("macd", address, "2500"))
        rows.append(
            {"client": "python", **figures(load.run(job, address, at(settings, concurrency), pid), client="python")}
        )
    return rows


# --- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What this machine is, for the report."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    go = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout.strip()
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "go": go,
        "packages": versions,
    }


# idc-server tunes glibc's malloc for large messages itself (server.keep_large_buffers);
# every other process here, servers and clients, gets the same through glibc's
# environment variables, so that the comparison is of the protocols only.
MALLOC_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024), "MALLOC_TRIM_THRESHOLD_": str(128 * 1024 * 1024)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for benchmarks.{md,json,png}")
    parser.add_argument("--window", type=float, default=2.0, help="seconds per measured window")
    parser.add_argument("--rounds", type=int, default=3, help="measured windows per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per run")
    parser.add_argument(
        "--only",
        choices=["macd", "indicators", "formulas", "charts", "scaling", "clients", "isolation"],
        action="append",
        help="run only these sections (default: all); the doc is written only for a full run",
    )
    parser.add_argument(
        "--report-from", type=Path, metavar="JSON", help="measure nothing: write the doc and plot from earlier figures"
    )
    args = parser.parse_args(argv)
    if args.report_from:
        report.write(json.loads(args.report_from.read_text()), args.out)
        log(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.png'} from {args.report_from}")
        return 0
    # The defaults of every run; ``at`` and ``sized_for`` adapt them to each.
    settings = load.Load(processes=CLIENT_PROCESSES, warmup_s=args.warmup, window_s=args.window, rounds=args.rounds)
    os.environ.update(MALLOC_ENVIRONMENT)  # inherited by every server and client process started below
    sections = args.only or ["macd", "indicators", "formulas", "charts", "scaling", "clients", "isolation"]
    started = time.monotonic()
    results: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": settings.__dict__,
    }
    with tempfile.TemporaryDirectory(prefix="idc-bench-") as scratch:
        work = Path(scratch)
        binary = build_go_bench(work) if {"charts", "scaling", "clients", "isolation"} & set(sections) else None
        for section in sections:
            with ExitStack() as stack:  # each section's servers stop before the next starts
                if section == "macd":
                    results["macd"] = macd_comparison(settings, stack, work)
                elif section == "indicators":
                    results["indicators"] = indicators_comparison(settings, stack)
                elif section == "formulas":
                    log(f"formulas over {formulas.BARS:,} inline bars, over gRPC and in-process")
                    results["formulas"] = formulas.formulas_comparison(idc_server(stack)[0])
                    for line in formulas.lines(results["formulas"]):
                        log(line)
                elif section == "charts":
                    assert binary is not None
                    results["charts"] = charts_comparison(settings, stack, binary)
                elif section == "scaling":
                    assert binary is not None
                    results["scaling"] = scaling(settings, binary)
                elif section == "clients":
                    assert binary is not None
                    results["clients"] = clients_comparison(settings, stack, binary)
                elif section == "isolation":
                    assert binary is not None  # built for this section
                    results["isolation"] = isolation.isolation(settings, binary, idc_server)
    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.only is None else "-partial"
    json_path = args.out / f"benchmarks{suffix}.json"
    json_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    log(f"wrote {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}")
    if args.only is None:
        report.write(results, args.out)
        log(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.png'}")
    print(report.targets_table(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
