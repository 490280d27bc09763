"""Builds and runs the gRPC server: every servicer over one shared core."""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from idc import indicator_graph_pb2, indicator_graph_pb2_grpc, indicator_pb2, indicator_pb2_grpc
from idc.v1 import (
    indicator_graph_service_pb2,
    indicator_graph_service_pb2_grpc,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
)
from idc_server.api import article, v1
from idc_server.api.offload import Offload
from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics
from idc_server.core.catalogue import server_catalogue
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.indicators import Convention
from idc_server.core.limits import ChartBudget
from idc_server.core.sources import HeldBars
from idc_server.core.stores import open_source
from idc_server.interceptors import CallInterceptor, CallLimits
from idc_server.observability import Metrics
from idc_server.render_pool import RenderPool, WorkerSetup, die_with_parent

log = logging.getLogger(__name__)


class BindError(OSError):
    """The server cannot listen on its address (the command line says why: in use, no such interface, ...)."""


SERVICES = (
    indicator_service_pb2.DESCRIPTOR.services_by_name["IndicatorService"].full_name,
    indicator_graph_service_pb2.DESCRIPTOR.services_by_name["IndicatorGraphService"].full_name,
    indicator_pb2.DESCRIPTOR.services_by_name["Indicator"].full_name,
    indicator_graph_pb2.DESCRIPTOR.services_by_name["IndicatorGraph"].full_name,
)


THREAD_PREFIX = "idc-rpc"
REFUSAL_THREADS = 8  # threads beyond --max-concurrent-rpcs, so that refusals never wait for one


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A started server, the port it is bound to, and what it serves."""

    server: grpc.Server
    port: int
    analytics: Analytics
    health: health.HealthServicer
    metrics: Metrics
    pool: RenderPool | None
    interceptor: CallInterceptor
    threads: futures.ThreadPoolExecutor

    def drain(self) -> None:
        """Report NOT_SERVING on every health status, so that balancers stop sending calls."""
        self.health.enter_graceful_shutdown()

    def stop(self, grace: float | None = None, linger: float = 1.0) -> bool:
        """Stop accepting calls, give in-flight ones up to ``grace`` seconds, then cancel them and kill the workers.

        Returns whether every RPC thread ended within ``linger`` seconds after that.
        """
        self.drain()
        self.server.stop(grace).wait((grace or 0.0) + 0.5)
        if self.pool is not None:
            self.pool.close()
        self.threads.shutdown(wait=False, cancel_futures=True)
        self.analytics.store.close()
        deadline = time.monotonic() + linger
        threads = [thread for thread in threading.enumerate() if thread.name.startswith(THREAD_PREFIX)]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)


def render_pool(config: ServerConfig) -> RenderPool | None:
    """The started pool of render workers; None when charts render in this process."""
    if config.render_workers == 0:
        return None
    setup = WorkerSetup(
        config.data_dirs,
        config.default_symbol,
        config.default_convention,
        config.indicator_cache_bytes,
        config.data_urls,
        config.store_cache_bytes,
    )
    pool = RenderPool(
        setup,
        processes=config.render_workers,
        max_queued=config.render_queue,
        max_rss_bytes=config.render_worker_memory_bytes,
        stop_seconds=config.render_stop_seconds,
    )
    pool.start()
    return pool


def build_analytics(config: ServerConfig, held: HeldBars | None = None) -> Analytics:
    """The core over the bundled data plus the configured folders and stores (within ``held``'s budget)."""
    held = HeldBars(config.store_cache_bytes) if held is None else held
    store = BarStore((bundled_data_dir(), *config.data_dirs, *(open_source(url, held) for url in config.data_urls)))
    return Analytics(
        store,
        config.default_symbol,
        Convention(config.default_convention),
        render_cache_bytes=config.render_cache_bytes,
        indicator_cache_bytes=config.indicator_cache_bytes,
        catalogue=server_catalogue(config.plugins),
    )


def server_options(config: ServerConfig, reuse_port: bool) -> list[tuple[str, int]]:
    """Channel arguments: message limits, keepalive, connection age, and whether the port may be shared."""
    age: list[tuple[str, int]] = []
    if config.max_connection_age_seconds > 0:
        # A GOAWAY after this long; the client reconnects (and re-resolves) for its next call.
        age = [
            ("grpc.max_connection_age_ms", round(config.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", round(config.grace_seconds * 1000)),
        ]
    return [
        *age,
        # One process per port unless workers run on purpose: otherwise a
        # second server would silently share the port.
        ("grpc.so_reuseport", int(reuse_port)),
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        # Accept client keepalive pings every 10 s or more, even between calls,
        # so that Go clients with keepalive.ClientParameters{Time: >= 10s} are
        # never told "too_many_pings".
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # Ping idle clients every 2 minutes to find dead connections.
        ("grpc.keepalive_time_ms", 120_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]


def credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    """TLS credentials, requiring client certificates when a client CA is set; None for plaintext."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    client_ca = config.tls_client_ca.read_bytes() if config.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(config.tls_key.read_bytes(), config.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def shown_symbols(symbols: list[str], limit: int = 20) -> str:
    """The first ``limit`` symbols for the start-up line, and how many more (a database may hold 10,000)."""
    more = f" and {len(symbols) - limit} more" if len(symbols) > limit else ""
    return ", ".join(symbols[:limit]) + more


def start_server(config: ServerConfig, reuse_port: bool = False) -> RunningServer:
    """Create, bind and start the server. Port 0 binds a free port."""
    held = HeldBars(config.store_cache_bytes)
    analytics = build_analytics(config, held)
    analytics.chart_budget = ChartBudget(config.max_chart_cost)
    metrics = Metrics(analytics.render_cache.stats, analytics.indicator_cache.stats)
    metrics.watch_stores(held.stats)
    limits = CallLimits(
        config.max_concurrent_rpcs, config.max_streams, config.max_streams_per_peer, config.stream_stall_seconds
    )
    interceptor = CallInterceptor(metrics, config.auth_tokens, config.auth_exempt, config.max_message_bytes, limits)
    # Every call the interceptor admits, and every refusal it answers, finds a
    # thread; grpcio's own limit (which nobody would see refusing) is only a
    # backstop at the thread count.
    threads = max(config.max_workers, config.max_concurrent_rpcs + REFUSAL_THREADS)
    executor = futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix=THREAD_PREFIX)
    server = grpc.server(
        executor,
        interceptors=[interceptor],
        options=server_options(config, reuse_port),
        maximum_concurrent_rpcs=threads,
    )
    # The workers start before the port is bound: gRPC's core listens as it
    # binds, and a client that connects must find a server ready to answer.
    pool = render_pool(config)
    offload = Offload(analytics, pool, config.pooled_indicator_bars)
    indicator_service_pb2_grpc.add_IndicatorServiceServicer_to_server(
        v1.IndicatorService(analytics, config.max_bars, offload), server
    )
    indicator_graph_service_pb2_grpc.add_IndicatorGraphServiceServicer_to_server(
        v1.IndicatorGraphService(analytics, config.max_bars, config.max_image_pixels), server
    )
    indicator_pb2_grpc.add_IndicatorServicer_to_server(article.Indicator(analytics), server)
    indicator_graph_pb2_grpc.add_IndicatorGraphServicer_to_server(
        article.IndicatorGraph(analytics, config.chunk_size), server
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if config.reflection:
        reflection.enable_server_reflection((*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    tls = credentials(config)
    if pool is not None:
        analytics.renderer = pool.render
        metrics.watch_pool(pool.stats, lambda: interceptor.stalls.cancelled)
    try:
        port = server.add_secure_port(config.address, tls) if tls else server.add_insecure_port(config.address)
    except RuntimeError:  # grpcio raises this when the port is taken
        port = 0
    if port == 0:
        if pool is not None:
            pool.close()
        raise BindError(f"could not bind {config.address}: is another server on that port?")

    server.start()
    for service in ("", *SERVICES):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    metrics.serve(config.metrics_port, config.metrics_host or config.host)
    log.info(
        "idc-server listening on %s:%d (%s, auth %s, reflection %s, metrics %s, render workers %s), "
        "symbols: %s (default %s)",
        config.host,
        port,
        ("mTLS" if config.tls_client_ca else "TLS") if tls else "plaintext",
        "on" if config.auth_tokens else "off",
        "on" if config.reflection else "off",
        f"on {config.metrics_host or config.host}:{config.metrics_port}" if config.metrics_port else "off",
        pool.pids() if pool else "off",
        shown_symbols(analytics.store.symbols()),
        analytics.default_symbol,
    )
    return RunningServer(server, port, analytics, health_servicer, metrics, pool, interceptor, executor)


def wait_for_signal(still_running: Callable[[], bool] = lambda: True) -> None:
    """Block until SIGINT or SIGTERM, or until ``still_running`` turns False."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping.wait(0.5) and still_running():
        pass


def run_one(config: ServerConfig, reuse_port: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then drain: new calls are refused, in-flight ones get the grace period.

    Exits within the grace period plus about a second whatever is running:
    calls still in flight are cancelled, render workers killed, and RPC
    threads that have not ended a second later are left behind by exiting.
    """
    running = start_server(config, reuse_port)
    wait_for_signal()
    log.info("draining for up to %.1fs", config.grace_seconds)
    if not running.stop(config.grace_seconds):
        log.warning("stopped with calls still running; exiting without them")
        logging.shutdown()
        os._exit(0)
    log.info("stopped")


def check_port_free(config: ServerConfig) -> None:
    """Raise BindError if the server cannot listen on its address: a plain bind, without SO_REUSEPORT, fails then.

    The probe sets SO_REUSEADDR, as gRPC's own listener does, so that
    connections of a previous server still in TIME_WAIT do not count; a
    socket listening on the port does.
    """
    family = socket.AF_INET6 if ":" in config.host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((config.host.strip("[]"), config.port))
        except OSError as error:
            raise BindError(
                f"could not bind {config.address}: is another server on that port? ({error.strerror})"
            ) from None


@contextmanager
def reserved_port(config: ServerConfig) -> Iterator[int]:
    """Hold the port with SO_REUSEPORT while the workers run, so that no other program takes it."""
    check_port_free(config)
    family = socket.AF_INET6 if ":" in config.host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((config.host.strip("[]"), config.port))
        yield sock.getsockname()[1]


def _worker(config: ServerConfig, parent: int) -> None:
    """A ``--workers`` process: dies with its parent, then serves on the shared port."""
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the line above took effect
        return
    run_one(config, True)


# glibc's mallopt parameters: how large an allocation is before it gets its
# own mmap, and how much free memory at the top of the heap is kept.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024


def keep_large_buffers() -> bool:
    """Have glibc's malloc reuse multi-megabyte buffers instead of mapping fresh pages for each one.

    By default glibc gives every allocation above a few hundred KiB its own
    mmap and returns it on free, so each multi-megabyte message (100,000
    inline bars: 4 MB in, 7 MB out) touches fresh pages. A page fault costs
    about 3 us on the virtual machines measured here: copying 6.7 MB took
    5.7 ms, against 1.1 ms with these settings (docs/decisions/0009). The
    cost is that up to 128 MiB of freed memory stays in the process. Returns
    False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


RESTART_DELAY_SECONDS = 1.0  # between a worker's death and its replacement, so that a crash loop stays slow


def serve(config: ServerConfig) -> None:
    """Run the server: one process, or ``config.workers`` supervised processes sharing the port."""
    if not keep_large_buffers():
        log.info("not glibc: large message buffers are allocated as the C library does by default")
    if config.workers == 1:
        # Before gRPC's core binds: its own failure is a log line of its own on
        # stderr, before the command line's one-line reason.
        check_port_free(config)
        run_one(config)
        return
    # gRPC's multiprocessing pattern: fork the workers before any gRPC object
    # exists in this process, and let each create its own server on the
    # shared port. This process creates none, so it can fork replacements.
    context = multiprocessing.get_context("fork")
    parent = os.getpid()

    def start(index: int) -> multiprocessing.process.BaseProcess:
        metrics_port = config.metrics_port + index if config.metrics_port else 0
        worker_config = dataclasses.replace(config, metrics_port=metrics_port)
        process = context.Process(target=_worker, args=(worker_config, parent), name=f"idc-worker-{index}")
        process.start()
        return process

    with reserved_port(config):
        workers = [start(index) for index in range(config.workers)]
        log.info("started %d workers on port %d: %s", len(workers), config.port, [p.pid for p in workers])
        restart_at: dict[int, float] = {}

        def supervise() -> bool:
            for index, process in enumerate(workers):
                if process.is_alive():
                    continue
                due = restart_at.setdefault(index, time.monotonic() + RESTART_DELAY_SECONDS)
                if time.monotonic() >= due:
                    log.error(
                        "worker %d (pid %s) exited with %s; starting another", index, process.pid, process.exitcode
                    )
                    workers[index] = start(index)
                    del restart_at[index]
            return True

        wait_for_signal(supervise)
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + config.grace_seconds + 2.0
        for process in workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
    log.info("all workers stopped")
