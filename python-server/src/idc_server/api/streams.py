"""Rendering for a live call, and streaming the image back in chunks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import grpc

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc_server.core.analytics import Analytics, ChartRequest, Image, Selection
from idc_server.core.indicators import Convention
from idc_server.core.render_cache import RenderAbandonedError

log = logging.getLogger(__name__)


def render(
    analytics: Analytics,
    selection: Selection,
    chart: ChartRequest,
    convention: Convention,
    context: grpc.ServicerContext,
) -> Image | None:
    """Render (or fetch from the cache) a chart for a live call; None once the caller has gone.

    The render stops at its next checkpoint when the call is cancelled or
    its deadline passes.
    """
    gone = threading.Event()
    if not context.add_callback(gone.set):
        return None  # the call already ended
    try:
        return analytics.chart(selection, chart, convention, gone)
    except RenderAbandonedError:
        log.info("stopped rendering: the caller went away")
        return None


def image_metadata(image: Image) -> graph_pb2.ImageMetadata:
    """The first message of an image stream."""
    return graph_pb2.ImageMetadata(
        media_type=image.media_type,
        size_bytes=image.size_bytes,
        sha256=image.sha256,
        width_px=image.width_px,
        height_px=image.height_px,
        dpi=image.dpi,
    )


def live_chunks(context: grpc.ServicerContext, data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in consecutive slices of at most ``size`` bytes, while the call is live.

    Stops as soon as the client cancels or the deadline passes, so a handler
    never yields into a dead stream.
    """
    view = memoryview(data)
    for offset in range(0, len(data), size):
        if not context.is_active():
            return
        yield bytes(view[offset : offset + size])
