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
from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.indicators import Convention
from idc_server.interceptors import CallInterceptor
from idc_server.observability import Metrics

log = logging.getLogger(__name__)

SERVICES = (
    indicator_service_pb2.DESCRIPTOR.services_by_name["IndicatorService"].full_name,
    indicator_graph_service_pb2.DESCRIPTOR.services_by_name["IndicatorGraphService"].full_name,
    indicator_pb2.DESCRIPTOR.services_by_name["Indicator"].full_name,
    indicator_graph_pb2.DESCRIPTOR.services_by_name["IndicatorGraph"].full_name,
)


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A started server, the port it is bound to, and what it serves."""

    server: grpc.Server
    port: int
    analytics: Analytics
    health: health.HealthServicer
    metrics: Metrics

    def drain(self) -> None:
        """Report NOT_SERVING on every health status, so that balancers stop sending calls."""
        self.health.enter_graceful_shutdown()

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls and wait up to ``grace`` seconds for in-flight ones."""
        self.drain()
        self.server.stop(grace).wait()


def build_analytics(config: ServerConfig) -> Analytics:
    """The core over the bundled data plus the configured folders."""
    store = BarStore((bundled_data_dir(), *config.data_dirs))
    return Analytics(
        store,
        config.default_symbol,
        Convention(config.default_convention),
        render_cache_bytes=config.render_cache_bytes,
        indicator_cache_bytes=config.indicator_cache_bytes,
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


def start_server(config: ServerConfig, reuse_port: bool = False) -> RunningServer:
    """Create, bind and start the server. Port 0 binds a free port."""
    analytics = build_analytics(config)
    metrics = Metrics(analytics.render_cache.stats, analytics.indicator_cache.stats)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="idc-rpc"),
        interceptors=[CallInterceptor(metrics, config.auth_tokens, config.auth_exempt, config.max_message_bytes)],
        options=server_options(config, reuse_port),
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )
    indicator_service_pb2_grpc.add_IndicatorServiceServicer_to_server(
        v1.IndicatorService(analytics, config.max_bars), server
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
    port = server.add_secure_port(config.address, tls) if tls else server.add_insecure_port(config.address)
    if port == 0:
        raise OSError(f"could not bind {config.address}")
    server.start()
    for service in ("", *SERVICES):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    metrics.serve(config.metrics_port)
    log.info(
        "idc-server listening on %s:%d (%s, auth %s, reflection %s, metrics %s), symbols: %s (default %s)",
        config.host,
        port,
        ("mTLS" if config.tls_client_ca else "TLS") if tls else "plaintext",
        "on" if config.auth_tokens else "off",
        "on" if config.reflection else "off",
        f"on port {config.metrics_port}" if config.metrics_port else "off",
        ", ".join(analytics.store.symbols()),
        analytics.default_symbol,
    )
    return RunningServer(server, port, analytics, health_servicer, metrics)


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
    """Serve until SIGINT or SIGTERM, then drain: new calls are refused, in-flight ones may finish."""
    running = start_server(config, reuse_port)
    wait_for_signal()
    log.info("draining for up to %.1fs", config.grace_seconds)
    running.stop(config.grace_seconds)
    log.info("stopped")


@contextmanager
def reserved_port(config: ServerConfig) -> Iterator[int]:
    """Hold the port with SO_REUSEPORT while the workers start, so that no other program takes it."""
    family = socket.AF_INET6 if ":" in config.host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((config.host.strip("[]"), config.port))
        yield sock.getsockname()[1]


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


def serve(config: ServerConfig) -> None:
    """Run the server: one process, or ``config.workers`` processes sharing the port."""
    if not keep_large_buffers():
        log.info("not glibc: large message buffers are allocated as the C library does by default")
    if config.workers == 1:
        run_one(config)
        return
    # gRPC's multiprocessing pattern: fork the workers before any gRPC object
    # exists in this process, and let each create its own server on the
    # shared port.
    context = multiprocessing.get_context("fork")
    with reserved_port(config):
        workers = []
        for index in range(config.workers):
            metrics_port = config.metrics_port + index if config.metrics_port else 0
            worker_config = dataclasses.replace(config, metrics_port=metrics_port)
            process = context.Process(target=run_one, args=(worker_config, True), name=f"idc-worker-{index}")
            process.start()
            workers.append(process)
        log.info("started %d workers on port %d: %s", len(workers), config.port, [p.pid for p in workers])
        wait_for_signal(lambda: all(process.is_alive() for process in workers))
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in workers:
            process.join()
    failed = [process.exitcode for process in workers if process.exitcode]
    if failed:
        raise SystemExit(f"workers exited with {failed}")
