"""Soak test of idc-server: many mixed requests from many threads; no unexpected errors, bounded memory.

Starts ``idc-server`` (``python -m idc_server`` of this interpreter) on a free
port, warms it up, then sends ``--requests`` mixed requests (GetMACD,
ComputeIndicators, ListSymbols, small GetChart and GetMACDGraph, the
article's two RPCs, bad requests that must get their own status codes, and
oversized charts that must be refused before any work) from ``--threads``
client threads over ``--channels`` channels. Meanwhile ``--idle-watches``
``Health/Watch`` streams stay open and ``--slow-readers`` clients keep
opening large chart streams, reading one message and then nothing, which the
server must cancel after its ``--stream-stall-seconds``. It fails when any
call gets another status than expected, when the run takes longer than
``--time-limit`` seconds, when the resident memory (VmRSS) of the server's
process tree (the server and its render workers) grows by more than
``--max-rss-growth-mib`` between the end of the warm-up and the end, or when
the server does not drain and exit 0 on SIGTERM.

The requests draw from a fixed set of windows and charts, all of which the
warm-up renders once, so the render cache is full before memory is measured:
growth after that is a leak. Linux only (it reads /proc/PID/status).

    python python-server/tests/soak/soak.py                 # 20,000 requests, 32 threads
    python python-server/tests/soak/soak.py --requests 2000 # a quick run
    nox -s soak                                             # the same, in a fresh venv
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idc import indicator_graph_pb2, indicator_graph_pb2_grpc, indicator_pb2, indicator_pb2_grpc
from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as service_pb2
from idc.v1 import indicator_service_pb2_grpc as service_grpc

Code = grpc.StatusCode
CALL_TIMEOUT = 60.0
SYMBOLS = ("SPY", "AAPL", "000001.SH")
# Windows with bars for every symbol (000001.SH starts in 2010, AAPL ends in January 2018).
WINDOWS = (
    ("", ""),
    ("2010-06-01", "2012-12-31"),
    ("2015-01-01", "2015-06-30"),
    ("2016-01-01", "2017-12-31"),
    ("2011-06-01", ""),
)
CONVENTIONS = (indicators_pb2.CONVENTION_UNSPECIFIED, indicators_pb2.CONVENTION_TALIB, indicators_pb2.CONVENTION_TDX)
SPECS = [
    indicators_pb2.IndicatorSpec(label="sma20", sma=indicators_pb2.SMAParameters(period=20)),
    indicators_pb2.IndicatorSpec(label="ema12", ema=indicators_pb2.EMAParameters(period=12)),
    indicators_pb2.IndicatorSpec(label="macd", macd=bars_pb2.MACDParameters()),
    indicators_pb2.IndicatorSpec(label="rsi", rsi=indicators_pb2.RSIParameters()),
    indicators_pb2.IndicatorSpec(label="boll", boll=indicators_pb2.BollingerParameters()),
    indicators_pb2.IndicatorSpec(label="kdj", kdj=indicators_pb2.KDJParameters()),
]
PANELS = [
    graph_pb2.ChartPanel(volume=graph_pb2.VolumeParameters()),
    graph_pb2.ChartPanel(macd=bars_pb2.MACDParameters()),
    graph_pb2.ChartPanel(rsi=indicators_pb2.RSIParameters()),
]
# Every chart the mix asks for (the warm-up renders each once, filling the render cache).
CHARTS = [
    graph_pb2.GetChartRequest(
        symbol=symbol,
        start_date=start,
        end_date=end,
        panels=PANELS[:panels],
        format=image_format,
        width_px=400,
        height_px=300,
    )
    for symbol in SYMBOLS
    for start, end in (("2016-01-01", "2016-12-31"), ("2017-03-01", "2017-09-30"))
    for panels in (1, 3)
    for image_format in (graph_pb2.IMAGE_FORMAT_PNG, graph_pb2.IMAGE_FORMAT_SVG)
]
MACD_GRAPHS = [
    graph_pb2.GetMACDGraphRequest(symbol=symbol, start_date=start, end_date=end, width_px=400, height_px=300)
    for symbol in SYMBOLS
    for start, end in (("2016-01-01", "2016-12-31"), ("2017-03-01", "2017-09-30"))
]
ARTICLE_GRAPH = indicator_graph_pb2.MACDGraphRequest(start_date="2024-01-01", end_date="2024-12-31")


@dataclasses.dataclass(frozen=True)
class Stubs:
    indicators: service_grpc.IndicatorServiceStub
    graphs: graph_grpc.IndicatorGraphServiceStub
    article: indicator_pb2_grpc.IndicatorStub
    article_graph: indicator_graph_pb2_grpc.IndicatorGraphStub


Request = Callable[[Stubs], object]  # makes one call; raises grpc.RpcError when it fails


def inline_bars(count: int, nan_at: int | None = None) -> bars_pb2.Bars:
    closes = [100.0 + (day % 13) - (day % 7) * 0.5 for day in range(count)]
    if nan_at is not None:
        closes[nan_at] = float("nan")
    return bars_pb2.Bars(
        dates=range(18_000, 18_000 + count),
        open=closes,
        high=[close + 1 for close in closes],
        low=[close - 1 for close in closes],
        close=closes,
        volume=[1e6] * count,
    )


def read_stream(call: Any) -> int:
    """Read an image stream to its end; the number of image bytes."""
    return sum(len(message.chunk) for message in call if message.WhichOneof("payload") == "chunk")


def pick_request(rng: random.Random) -> tuple[str, Code, Request]:
    """One request of the mix: its kind, the status it must get, and how to make it."""
    symbol, (start, end), convention = rng.choice(SYMBOLS), rng.choice(WINDOWS), rng.choice(CONVENTIONS)
    roll = rng.random()
    if roll < 0.28:
        request = service_pb2.GetMACDRequest(symbol=symbol, start_date=start, end_date=end, convention=convention)
        return "GetMACD", Code.OK, lambda stubs: stubs.indicators.GetMACD(request, timeout=CALL_TIMEOUT)
    if roll < 0.50:
        specs = rng.sample(SPECS, rng.randint(1, len(SPECS)))
        compute = service_pb2.ComputeIndicatorsRequest(
            symbol=symbol, start_date=start, end_date=end, convention=convention, indicators=specs
        )
        return (
            "ComputeIndicators",
            Code.OK,
            lambda stubs: stubs.indicators.ComputeIndicators(compute, timeout=CALL_TIMEOUT),
        )
    if roll < 0.55:
        bars = inline_bars(rng.choice((60, 250, 1000)))
        inline = service_pb2.GetMACDRequest(inline_bars=bars, convention=convention)
        return "GetMACD inline", Code.OK, lambda stubs: stubs.indicators.GetMACD(inline, timeout=CALL_TIMEOUT)
    if roll < 0.63:
        listing = service_pb2.ListSymbolsRequest()
        return "ListSymbols", Code.OK, lambda stubs: stubs.indicators.ListSymbols(listing, timeout=CALL_TIMEOUT)
    if roll < 0.71:
        return "GetChart", Code.OK, chart_call(rng.choice(CHARTS))
    if roll < 0.75:
        return "GetMACDGraph", Code.OK, macd_graph_call(rng.choice(MACD_GRAPHS))
    if roll < 0.81:
        article = indicator_pb2.MACDRequest(start_date=start or "2020-01-01", end_date=end)
        return "article GetMACD", Code.OK, lambda stubs: stubs.article.GetMACD(article, timeout=CALL_TIMEOUT)
    if roll < 0.83:
        return "article GetMACDGraph", Code.OK, article_graph_call
    return pick_bad_request(rng)


def chart_call(request: graph_pb2.GetChartRequest) -> Request:
    return lambda stubs: read_stream(stubs.graphs.GetChart(request, timeout=CALL_TIMEOUT))


def macd_graph_call(request: graph_pb2.GetMACDGraphRequest) -> Request:
    return lambda stubs: read_stream(stubs.graphs.GetMACDGraph(request, timeout=CALL_TIMEOUT))


def article_graph_call(stubs: Stubs) -> int:
    return sum(len(reply.macd_chunk) for reply in stubs.article_graph.GetMACDGraph(ARTICLE_GRAPH, timeout=CALL_TIMEOUT))


def every_chart() -> list[tuple[str, Code, Request]]:
    """Each chart of the mix once: the start of the warm-up."""
    charts = [("GetChart", Code.OK, chart_call(chart)) for chart in CHARTS]
    charts += [("GetMACDGraph", Code.OK, macd_graph_call(graph)) for graph in MACD_GRAPHS]
    return [*charts, ("article GetMACDGraph", Code.OK, article_graph_call)]


def pick_bad_request(rng: random.Random) -> tuple[str, Code, Request]:
    """A request the server must refuse, with the status it must refuse it with."""
    bad: list[tuple[str, Code, Request]] = [
        (
            "bad: unknown symbol",
            Code.NOT_FOUND,
            lambda stubs: stubs.indicators.GetMACD(service_pb2.GetMACDRequest(symbol="NOPE"), timeout=CALL_TIMEOUT),
        ),
        (
            "bad: malformed date",
            Code.INVALID_ARGUMENT,
            lambda stubs: stubs.indicators.GetMACD(
                service_pb2.GetMACDRequest(start_date="2024-13-45"), timeout=CALL_TIMEOUT
            ),
        ),
        (
            "bad: period",
            Code.INVALID_ARGUMENT,
            lambda stubs: stubs.indicators.GetMACD(
                service_pb2.GetMACDRequest(parameters=bars_pb2.MACDParameters(fast_period=30, slow_period=10)),
                timeout=CALL_TIMEOUT,
            ),
        ),
        (
            "bad: NaN in inline bars",
            Code.INVALID_ARGUMENT,
            lambda stubs: stubs.indicators.GetMACD(
                service_pb2.GetMACDRequest(inline_bars=inline_bars(50, nan_at=7)), timeout=CALL_TIMEOUT
            ),
        ),
        (
            "bad: no indicators",
            Code.INVALID_ARGUMENT,
            lambda stubs: stubs.indicators.ComputeIndicators(
                service_pb2.ComputeIndicatorsRequest(symbol="SPY"), timeout=CALL_TIMEOUT
            ),
        ),
        (
            "bad: chart too large",
            Code.INVALID_ARGUMENT,
            lambda stubs: read_stream(
                stubs.graphs.GetChart(graph_pb2.GetChartRequest(width_px=8000, height_px=8000), timeout=CALL_TIMEOUT)
            ),
        ),
        (
            "bad: oversized chart",
            Code.RESOURCE_EXHAUSTED,
            lambda stubs: read_stream(stubs.graphs.GetChart(oversized_chart(), timeout=CALL_TIMEOUT)),
        ),
        (
            "bad: empty window",
            Code.NOT_FOUND,
            lambda stubs: stubs.article.GetMACD(
                indicator_pb2.MACDRequest(start_date="1900-01-01", end_date="1900-12-31"), timeout=CALL_TIMEOUT
            ),
        ),
    ]
    return rng.choice(bad)


@functools.cache
def oversized_chart() -> graph_pb2.GetChartRequest:
    """100,000 inline bars at 4000 x 4000: within the message and bar limits, over the chart cost budget."""
    return graph_pb2.GetChartRequest(inline_bars=inline_bars(100_000), width_px=4000, height_px=4000)


# A large chart in 1 KiB chunks, over a channel whose flow-control window does
# not grow: the server blocks sending it as soon as the client stops reading.
HOLDING = [("grpc.http2.bdp_probe", 0), ("grpc.use_local_subchannel_pool", 1)]
HELD_CHART = graph_pb2.GetChartRequest(
    symbol="SPY", panels=PANELS, format=graph_pb2.IMAGE_FORMAT_SVG, chunk_size_bytes=1024
)


def slow_reader(target: str, stop: threading.Event, tally: Tally) -> None:
    """Open a large chart stream, take one message, then read nothing until the server cancels it; again."""
    while not stop.is_set():
        with grpc.insecure_channel(target, options=HOLDING) as channel:
            call: Any = graph_grpc.IndicatorGraphServiceStub(channel).GetChart(HELD_CHART, timeout=CALL_TIMEOUT)
            started = time.perf_counter()
            try:
                next(call)
                while call.is_active() and not stop.is_set():
                    stop.wait(0.1)
                if call.is_active():  # the run ended first: nothing to check
                    continue
                got, details = call.code(), str(call.details())
            except grpc.RpcError as error:
                got, details = error.code(), str(error.details())
            finally:
                call.cancel()
            tally.record("slow reader", Code.CANCELLED, got, time.perf_counter() - started, details)


def idle_watches(target: str, count: int) -> tuple[grpc.Channel, list[Any]]:
    """``count`` Health/Watch streams on one connection, each past its first message and idle."""
    channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    health = health_pb2_grpc.HealthStub(channel)
    watches: list[Any] = [health.Watch(health_pb2.HealthCheckRequest(), timeout=3600) for _ in range(count)]
    for watch in watches:
        next(watch)
    return channel, watches


@dataclasses.dataclass
class Tally:
    """What the calls got, shared by the client threads."""

    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    issued: int = 0
    done: Counter[str] = dataclasses.field(default_factory=Counter)
    unexpected: Counter[str] = dataclasses.field(default_factory=Counter)
    examples: list[str] = dataclasses.field(default_factory=list)
    latencies: list[float] = dataclasses.field(default_factory=list)

    def take(self, limit: int) -> int | None:
        """Claim the next of ``limit`` requests: its index, or None when all are claimed."""
        with self.lock:
            if self.issued >= limit:
                return None
            self.issued += 1
            return self.issued - 1

    def record(self, kind: str, expected: Code, got: Code, seconds: float, details: str) -> None:
        with self.lock:
            self.done[kind] += 1
            self.latencies.append(seconds)
            if got != expected:
                self.unexpected[f"{kind}: {got.name} (expected {expected.name})"] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {got.name}: {details}")


def client_thread(
    stubs: Stubs, seed: int, limit: int, deadline: float, tally: Tally, first: Sequence[tuple[str, Code, Request]]
) -> None:
    """Make requests until ``limit`` are claimed or ``deadline`` passes: ``first`` in order, then random ones."""
    rng = random.Random(seed)
    while time.monotonic() < deadline and (index := tally.take(limit)) is not None:
        kind, expected, request = first[index] if index < len(first) else pick_request(rng)
        started = time.perf_counter()
        got, details = Code.OK, ""
        try:
            request(stubs)
        except grpc.RpcError as error:
            got, details = error.code(), str(error.details())
        except Exception as error:  # anything else fails the run rather than crashing it
            got, details = Code.UNKNOWN, f"client-side {type(error).__name__}: {error}"
        tally.record(kind, expected, got, time.perf_counter() - started, details)


def run_load(
    channels: Sequence[grpc.Channel],
    threads: int,
    requests: int,
    seconds: float,
    seed: int,
    first: Sequence[tuple[str, Code, Request]] = (),
) -> tuple[Tally, float]:
    """Send ``requests`` requests (``first`` first) from ``threads`` threads; the tally and the elapsed time."""
    tally = Tally()
    stubs = [
        Stubs(
            service_grpc.IndicatorServiceStub(channel),
            graph_grpc.IndicatorGraphServiceStub(channel),
            indicator_pb2_grpc.IndicatorStub(channel),
            indicator_graph_pb2_grpc.IndicatorGraphStub(channel),
        )
        for channel in channels
    ]
    started = time.monotonic()
    deadline = started + seconds
    with ThreadPoolExecutor(threads, thread_name_prefix="soak-client") as pool:
        futures = [
            pool.submit(client_thread, stubs[index % len(stubs)], seed * 1000 + index, requests, deadline, tally, first)
            for index in range(threads)
        ]
        for future in futures:
            future.result()
    return tally, time.monotonic() - started


def rss_kib(pid: int) -> int:
    """The VmRSS of ``pid`` and every process below it (the render workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_serving(process: subprocess.Popen[bytes], target: str, seconds: float = 120.0) -> None:
    options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 500)]
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(target, options=options) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"idc-server exited with {process.returncode} before serving")
            try:
                response = health.Check(health_pb2.HealthCheckRequest(), timeout=1.0, wait_for_ready=True)
            except grpc.RpcError:
                continue
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
    raise RuntimeError(f"idc-server did not serve on {target} within {seconds:.0f}s")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(title: str, tally: Tally, elapsed: float) -> None:
    total = sum(tally.done.values())
    print(f"{title}: {total} requests in {elapsed:.1f}s = {total / elapsed:.0f} RPS", flush=True)
    print(
        f"  latency p50 {percentile(tally.latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(tally.latencies, 0.99) * 1000:.1f} ms, max {max(tally.latencies, default=0) * 1000:.1f} ms"
    )
    for kind, count in sorted(tally.done.items()):
        print(f"  {kind:24} {count}")
    for problem, count in sorted(tally.unexpected.items()):
        print(f"  UNEXPECTED {problem}: {count}")
    for example in tally.examples:
        print(f"    e.g. {example}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=20_000, help="requests after the warm-up (%(default)s)")
    parser.add_argument("--warmup", type=int, default=1_500, help="warm-up requests (%(default)s)")
    parser.add_argument("--threads", type=int, default=32, help="concurrent client threads (%(default)s)")
    parser.add_argument("--channels", type=int, default=8, help="gRPC channels the threads share (%(default)s)")
    parser.add_argument("--time-limit", type=float, default=900.0, help="most seconds for the requests (%(default)s)")
    parser.add_argument(
        "--max-rss-growth-mib",
        type=float,
        default=150.0,
        help="most the server's VmRSS may grow from the end of the warm-up to the end (%(default)s MiB)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request mix (%(default)s)")
    parser.add_argument("--idle-watches", type=int, default=8, help="Health/Watch streams kept open (%(default)s)")
    parser.add_argument("--slow-readers", type=int, default=4, help="clients that stop reading (%(default)s)")
    parser.add_argument(
        "--stream-stall-seconds", type=float, default=2.0, help="the server's --stream-stall-seconds (%(default)s)"
    )
    parser.add_argument("--keep-log", action="store_true", help="print where the server's log is kept")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("soak: needs Linux (reads /proc/PID/status)", file=sys.stderr)
        return 2
    port = free_port()
    target = f"127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="idc-soak-")) / "server.log"
    command = [sys.executable, "-m", "idc_server", "--host", "127.0.0.1", "--port", str(port)]
    command += [
        "--log-level",
        "WARNING",
        "--grace-seconds",
        "30",
        "--stream-stall-seconds",
        str(args.stream_stall_seconds),
    ]
    # Room for every client thread's stream beside the idle watches and slow readers.
    command += ["--max-streams", str(args.threads + args.idle_watches + args.slow_readers + 8)]
    failures: list[str] = []
    with log.open("wb") as server_log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log)
    try:
        wait_serving(process, target)
        rss_start = rss_kib(process.pid)
        channels = [
            grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(args.channels)
        ]
        try:
            print(f"soak: idc-server pid {process.pid} on {target}, VmRSS {rss_start / 1024:.1f} MiB at start")
            charts = every_chart()
            warmup, warmup_elapsed = run_load(
                channels, args.threads, max(args.warmup, len(charts)), args.time_limit, args.seed + 1, charts
            )
            report("warm-up", warmup, warmup_elapsed)
            rss_before = rss_kib(process.pid)
            watch_channel, watches = idle_watches(target, args.idle_watches)
            abuse, stop = Tally(), threading.Event()
            readers = [
                threading.Thread(target=slow_reader, args=(target, stop, abuse), name=f"soak-slow-{index}")
                for index in range(args.slow_readers)
            ]
            for reader in readers:
                reader.start()
            try:
                tally, elapsed = run_load(channels, args.threads, args.requests, args.time_limit, args.seed)
            finally:
                stop.set()
                for reader in readers:
                    reader.join()
                alive = sum(watch.is_active() for watch in watches)
                for watch in watches:
                    watch.cancel()
                watch_channel.close()
            rss_after = rss_kib(process.pid)
        finally:
            for channel in channels:
                channel.close()
        report("soak", tally, elapsed)
        report("slow readers", abuse, elapsed)
        print(f"idle Health/Watch streams still open at the end: {alive} of {args.idle_watches}")
        if args.slow_readers and elapsed > 10 * args.stream_stall_seconds and not abuse.done:
            failures.append("no slow reader was ever cancelled by the server")
        if alive != args.idle_watches:
            failures.append(f"only {alive} of {args.idle_watches} idle Watch streams lasted the run")
        growth_mib = (rss_after - rss_before) / 1024
        print(
            f"server VmRSS: {rss_before / 1024:.1f} MiB after warm-up, {rss_after / 1024:.1f} MiB at the end, "
            f"growth {growth_mib:+.1f} MiB (limit {args.max_rss_growth_mib:.0f} MiB)"
        )
        total = sum(tally.done.values())
        errors = sum(tally.unexpected.values()) + sum(warmup.unexpected.values()) + sum(abuse.unexpected.values())
        print(f"requests {total}, unexpected errors {errors}, RPS {total / elapsed:.0f}")
        if total < args.requests:
            failures.append(f"only {total} of {args.requests} requests within {args.time_limit:.0f}s")
        if errors:
            failures.append(f"{errors} unexpected statuses")
        if growth_mib > args.max_rss_growth_mib:
            failures.append(f"VmRSS grew by {growth_mib:.1f} MiB, more than {args.max_rss_growth_mib:.0f} MiB")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        print(f"server exit status after SIGTERM: {code}")
        if code != 0:
            failures.append(f"idc-server exited with {code}")
    if failures or args.keep_log:
        print(f"server log: {log}")
    else:
        shutil.rmtree(log.parent, ignore_errors=True)
    for failure in failures:
        print(f"SOAK FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("soak: OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
