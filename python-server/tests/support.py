"""Helpers shared by the server's tests (importable as ``support``; see pytest.ini)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2

Panel = graph_pb2.ChartPanel
EVERY_PANEL = [
    Panel(volume=graph_pb2.VolumeParameters()),
    Panel(macd=bars_pb2.MACDParameters()),
    Panel(rsi=indicators_pb2.RSIParameters()),
    Panel(kdj=indicators_pb2.KDJParameters()),
]
# An SVG of SPY's whole history is about 0.9 MB: some 900 chunks of 1 KiB.
# Over a channel that does not grow its flow-control window (HOLDING), the
# call stays in flight on the server for as long as the client does not read.
HOLDING = [("grpc.http2.bdp_probe", 0)]
HELD_CHART = graph_pb2.GetChartRequest(
    symbol="SPY", panels=EVERY_PANEL, format=graph_pb2.IMAGE_FORMAT_SVG, chunk_size_bytes=1024
)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    """Poll ``condition`` every 10 ms for up to ``seconds``."""
    for _ in range(int(seconds * 100)):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")
