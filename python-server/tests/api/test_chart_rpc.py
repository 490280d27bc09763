"""GetChart and the chart stream over a real server: formats, limits, cache, cancellation."""

from __future__ import annotations

import hashlib
import io
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from PIL import Image
from support import EVERY_PANEL

from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc_server.api import convert
from idc_server.config import ServerConfig
from idc_server.core import charts
from idc_server.core.catalogue import default_catalogue
from idc_server.server import RunningServer, start_server

Panel, Overlay = graph_pb2.ChartPanel, graph_pb2.ChartOverlay
EVERY_OVERLAY = [
    Overlay(sma=indicators_pb2.SMAParameters(period=20)),
    Overlay(ema=indicators_pb2.EMAParameters(period=50)),
    Overlay(boll=indicators_pb2.BollingerParameters()),
]


@pytest.fixture(scope="module")
def graphs(channel: grpc.Channel) -> graph_grpc.IndicatorGraphServiceStub:
    return graph_grpc.IndicatorGraphServiceStub(channel)


def receive(stream: Any) -> tuple[graph_pb2.ImageMetadata, bytes, list[int]]:
    messages = list(stream)
    assert messages[0].WhichOneof("payload") == "metadata"
    chunks = [message.chunk for message in messages[1:]]
    assert all(message.WhichOneof("payload") == "chunk" for message in messages[1:])
    data = b"".join(chunks)
    metadata = messages[0].metadata
    assert metadata.size_bytes == len(data)
    assert metadata.sha256 == hashlib.sha256(data).digest()
    return metadata, data, [len(chunk) for chunk in chunks]


def chart(graphs: Any, **fields: Any) -> tuple[graph_pb2.ImageMetadata, bytes, list[int]]:
    return receive(graphs.GetChart(graph_pb2.GetChartRequest(**fields), timeout=60))


def test_empty_request_is_a_default_png(graphs: Any) -> None:
    metadata, data, sizes = chart(graphs)
    assert (metadata.media_type, metadata.width_px, metadata.height_px, metadata.dpi) == ("image/png", 1200, 800, 100)
    assert max(sizes) <= 64 * 1024
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1200, 800)


@pytest.mark.parametrize(
    ("image_format", "media_type", "pillow_format"),
    [
        (graph_pb2.IMAGE_FORMAT_PNG, "image/png", "PNG"),
        (graph_pb2.IMAGE_FORMAT_JPEG, "image/jpeg", "JPEG"),
        (graph_pb2.IMAGE_FORMAT_WEBP, "image/webp", "WEBP"),
    ],
)
def test_raster_formats_decode_at_the_requested_size_and_dpi(
    graphs: Any, image_format: int, media_type: str, pillow_format: str
) -> None:
    metadata, data, _ = chart(
        graphs,
        symbol="000001.SH",
        start_date="2024-01-01",
        end_date="2024-12-31",
        panels=EVERY_PANEL,
        overlays=EVERY_OVERLAY,
        format=image_format,
        width_px=1000,
        height_px=700,
        dpi=120,
        theme=graph_pb2.THEME_DARK,
        color_scheme=graph_pb2.COLOR_SCHEME_CN,
    )
    assert (metadata.media_type, metadata.dpi) == (media_type, 120)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == pillow_format
        assert image.size == (1000, 700)
        if pillow_format != "WEBP":
            assert image.info["dpi"] == pytest.approx((120, 120), abs=0.5)


def test_svg_parses_as_xml_at_the_requested_size(graphs: Any) -> None:
    metadata, data, _ = chart(graphs, format=graph_pb2.IMAGE_FORMAT_SVG, width_px=900, height_px=600, dpi=100)
    assert metadata.media_type == "image/svg+xml"
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert root.get("width") == "648pt"  # 900 px at 100 dpi = 9 in = 648 pt
    assert root.get("height") == "432pt"


def test_chunk_size_is_the_clients_choice(graphs: Any) -> None:
    _, small, sizes = chart(graphs, chunk_size_bytes=1024)
    assert max(sizes) == 1024
    assert len(sizes) == -(-len(small) // 1024)
    _, large, sizes = chart(graphs, chunk_size_bytes=1024 * 1024)
    assert len(sizes) == 1
    assert small == large


def test_the_same_chart_twice_is_served_from_the_cache(graphs: Any, server: RunningServer) -> None:
    request = {"symbol": "AAPL", "start_date": "2015-01-01", "panels": EVERY_PANEL, "overlays": EVERY_OVERLAY}
    before = server.analytics.render_cache.stats()
    _, first, _ = chart(graphs, **request)
    middle = server.analytics.render_cache.stats()
    _, second, _ = chart(graphs, **request)
    after = server.analytics.render_cache.stats()
    assert first == second
    assert middle.misses == before.misses + 1
    assert (after.misses, after.hits) == (middle.misses, middle.hits + 1)


def test_different_requests_give_different_charts(graphs: Any) -> None:
    light = chart(graphs, start_date="2024-01-01")[1]
    dark = chart(graphs, start_date="2024-01-01", theme=graph_pb2.THEME_DARK)[1]
    cn = chart(graphs, start_date="2024-01-01", color_scheme=graph_pb2.COLOR_SCHEME_CN)[1]
    tdx = chart(graphs, start_date="2024-01-01", convention=indicators_pb2.CONVENTION_TDX)[1]
    log = chart(graphs, start_date="2024-01-01", price_scale=graph_pb2.PRICE_SCALE_LOG)[1]
    assert len({light, dark, cn, tdx, log}) == 5


def test_price_scale_maps_to_the_render_options() -> None:
    # Unspecified and AUTO are the same chart (one cache entry); LINEAR and LOG are their own.
    scales = {
        name: convert.chart_request(
            graph_pb2.GetChartRequest(price_scale=value), 16_000_000, default_catalogue()
        ).options.price_scale
        for name, value in graph_pb2.PriceScale.items()
    }
    assert scales == {
        "PRICE_SCALE_UNSPECIFIED": charts.PriceScale.AUTO,
        "PRICE_SCALE_AUTO": charts.PriceScale.AUTO,
        "PRICE_SCALE_LINEAR": charts.PriceScale.LINEAR,
        "PRICE_SCALE_LOG": charts.PriceScale.LOG,
    }


def test_sixteen_concurrent_different_charts_are_each_correct(graphs: Any) -> None:
    def one(year: int) -> tuple[int, graph_pb2.ImageMetadata, bytes]:
        width = 600 + year % 16 * 10
        metadata, data, _ = chart(
            graphs, start_date=f"{year}-01-01", end_date=f"{year}-12-31", width_px=width, height_px=400
        )
        return width, metadata, data

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(2008, 2024)))
    for width, metadata, data in results:
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (width, 400) == (metadata.width_px, metadata.height_px)
    assert len({data for _, _, data in results}) == 16


BAD_CHARTS: list[tuple[dict[str, Any], grpc.StatusCode, str]] = [
    ({"chunk_size_bytes": 100}, grpc.StatusCode.INVALID_ARGUMENT, "chunk_size_bytes"),
    ({"chunk_size_bytes": 2 * 1024 * 1024}, grpc.StatusCode.INVALID_ARGUMENT, "chunk_size_bytes"),
    ({"width_px": 8000, "height_px": 8000}, grpc.StatusCode.INVALID_ARGUMENT, "width_px"),
    ({"height_px": 100}, grpc.StatusCode.INVALID_ARGUMENT, "height_px"),
    ({"dpi": 10}, grpc.StatusCode.INVALID_ARGUMENT, "dpi"),
    ({"format": 9}, grpc.StatusCode.INVALID_ARGUMENT, "format"),
    ({"theme": 9}, grpc.StatusCode.INVALID_ARGUMENT, "theme"),
    ({"color_scheme": 9}, grpc.StatusCode.INVALID_ARGUMENT, "color_scheme"),
    ({"price_scale": 9}, grpc.StatusCode.INVALID_ARGUMENT, "price_scale"),
    ({"panels": [Panel()]}, grpc.StatusCode.INVALID_ARGUMENT, "panels[0]"),
    ({"panels": [Panel(volume=graph_pb2.VolumeParameters())] * 7}, grpc.StatusCode.INVALID_ARGUMENT, "panels"),
    (
        {"panels": [Panel(volume=graph_pb2.VolumeParameters()), Panel(rsi=indicators_pb2.RSIParameters(period=-1))]},
        grpc.StatusCode.INVALID_ARGUMENT,
        "panels[1].rsi.period",
    ),
    ({"overlays": [Overlay()]}, grpc.StatusCode.INVALID_ARGUMENT, "overlays[0]"),
    (
        {
            "inline_bars": bars_pb2.Bars(
                dates=range(10), open=[1.0] * 10, high=[2.0] * 10, low=[0.5] * 10, close=[1.5] * 10, volume=[1.0] * 10
            ),
            "overlays": [Overlay(sma=indicators_pb2.SMAParameters(period=50))],
        },
        grpc.StatusCode.INVALID_ARGUMENT,
        "overlays[0].sma.period",
    ),
    ({"symbol": "NOPE"}, grpc.StatusCode.NOT_FOUND, "symbol"),
]


@pytest.mark.parametrize(("fields", "code", "field"), BAD_CHARTS)
def test_bad_chart_requests_name_the_field(
    graphs: Any, fields: dict[str, Any], code: grpc.StatusCode, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        chart(graphs, **fields)
    assert caught.value.code() == code
    assert (caught.value.details() or "").startswith(f"{field}: ")


def test_macd_graph_takes_a_chunk_size_and_the_pixel_limit(graphs: Any) -> None:
    stream = graphs.GetMACDGraph(graph_pb2.GetMACDGraphRequest(chunk_size_bytes=4096), timeout=60)
    _, _, sizes = receive(stream)
    assert max(sizes) == 4096
    with pytest.raises(grpc.RpcError) as caught:
        list(graphs.GetMACDGraph(graph_pb2.GetMACDGraphRequest(width_px=4001), timeout=60))
    assert (caught.value.details() or "").startswith("width_px: ")


@pytest.fixture
def changing_data(tmp_path: Path) -> Iterator[tuple[Path, graph_grpc.IndicatorGraphServiceStub, RunningServer]]:
    (tmp_path / "MINE.csv").write_text(csv_rows(60))
    running = start_server(ServerConfig(host="127.0.0.1", port=0, data_dirs=(tmp_path,)))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield tmp_path / "MINE.csv", graph_grpc.IndicatorGraphServiceStub(channel), running
    running.stop(None)


def csv_rows(count: int, bump: float = 0.0) -> str:
    lines = ["date,open,high,low,close,volume"]
    for day in range(count):
        close = 100 + day % 7 + bump
        lines.append(f"2024-{1 + day // 28:02d}-{1 + day % 28:02d},{close},{close + 1},{close - 1},{close},1000")
    return "\n".join(lines) + "\n"


def test_changed_data_files_are_never_served_stale(
    changing_data: tuple[Path, graph_grpc.IndicatorGraphServiceStub, RunningServer],
) -> None:
    path, graphs, running = changing_data
    before = chart(graphs, symbol="MINE")[1]
    assert chart(graphs, symbol="MINE")[1] == before
    path.write_text(csv_rows(60, bump=5.0))
    after = chart(graphs, symbol="MINE")[1]
    assert after != before
    assert running.analytics.render_cache.stats().misses == 2


@pytest.fixture
def stuck_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[graph_grpc.IndicatorGraphServiceStub, RunningServer, threading.Event]]:
    """A server whose renders never finish by themselves: they spin on their checkpoint until stopped.

    It renders in its own process (``render_workers=0``), where the patch
    applies; test_render_pool.py stops renders in worker processes.
    """
    started = threading.Event()

    def endless(*args: Any, checkpoint: Callable[[], None] | None = None, **kwargs: Any) -> bytes:
        assert checkpoint is not None
        started.set()
        for _ in range(3000):  # at most 30 s, in case stopping were broken
            checkpoint()
            threading.Event().wait(0.01)
        raise AssertionError("the render was never stopped")

    monkeypatch.setattr(charts, "render_chart", endless)
    running = start_server(ServerConfig(host="127.0.0.1", port=0, render_workers=0))
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield graph_grpc.IndicatorGraphServiceStub(channel), running, started
    running.stop(None)


def wait_for_abandoned(running: RunningServer, count: int) -> None:
    for _ in range(1000):
        if running.analytics.render_cache.stats().abandoned >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the server kept rendering after the caller went away")


def test_a_passed_deadline_stops_the_render(
    stuck_renders: tuple[graph_grpc.IndicatorGraphServiceStub, RunningServer, threading.Event],
) -> None:
    graphs, running, _ = stuck_renders
    with pytest.raises(grpc.RpcError) as caught:
        list(graphs.GetChart(graph_pb2.GetChartRequest(), timeout=0.5))
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_for_abandoned(running, 1)


def test_a_cancelled_call_stops_the_render(
    stuck_renders: tuple[graph_grpc.IndicatorGraphServiceStub, RunningServer, threading.Event],
) -> None:
    graphs, running, started = stuck_renders
    call = graphs.GetMACDGraph(graph_pb2.GetMACDGraphRequest(), timeout=60)
    assert started.wait(30)
    call.cancel()  # type: ignore[no-untyped-call]
    wait_for_abandoned(running, 1)
    assert running.analytics.render_cache.stats().entries == 0
