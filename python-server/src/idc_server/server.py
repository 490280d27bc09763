"""Builds and runs the gRPC server: every servicer over one shared core."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from types import FrameType

import grpc

from idc import indicator_graph_pb2_grpc, indicator_pb2_grpc
from idc.v1 import indicator_graph_service_pb2_grpc, indicator_service_pb2_grpc
from idc_server.api import article, v1
from idc_server.config import ServerConfig
from idc_server.core.analytics import Analytics
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.indicators import Convention

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A started server, the port it is bound to, and the core it serves."""

    server: grpc.Server
    port: int
    analytics: Analytics

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls and wait up to ``grace`` seconds for in-flight ones."""
        self.server.stop(grace).wait()


def build_analytics(config: ServerConfig) -> Analytics:
    """The core over the bundled data plus the configured folders."""
    store = BarStore((bundled_data_dir(), *config.data_dirs))
    return Analytics(store, config.default_symbol, Convention(config.default_convention), config.render_cache_bytes)


def start_server(config: ServerConfig) -> RunningServer:
    """Create, bind and start the server. Port 0 binds a free port."""
    analytics = build_analytics(config)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers, thread_name_prefix="idc-rpc"),
        # One process per port unless workers are run on purpose: without
        # this, a second server would silently share the port.
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ],
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
    port = server.add_insecure_port(config.address)
    if port == 0:
        raise OSError(f"could not bind {config.address}")
    server.start()
    log.info(
        "idc-server listening on %s:%d, symbols: %s (default %s)",
        config.host,
        port,
        ", ".join(analytics.store.symbols()),
        analytics.default_symbol,
    )
    return RunningServer(server, port, analytics)


def serve(config: ServerConfig) -> None:
    """Run until SIGINT or SIGTERM, then drain in-flight calls and return."""
    running = start_server(config)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, draining for up to %.1fs", signal.Signals(signum).name, config.grace_seconds)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stopping.wait()
    running.stop(config.grace_seconds)
    log.info("stopped")
