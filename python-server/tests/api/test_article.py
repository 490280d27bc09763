"""The article's frozen idc package, served over the same core."""

from __future__ import annotations

import io
from typing import Any

import grpc
import pytest
from PIL import Image

from idc import indicator_graph_pb2, indicator_graph_pb2_grpc, indicator_pb2, indicator_pb2_grpc


@pytest.fixture(scope="module")
def indicator(channel: grpc.Channel) -> Any:
    return indicator_pb2_grpc.IndicatorStub(channel)


@pytest.fixture(scope="module")
def graph(channel: grpc.Channel) -> Any:
    return indicator_graph_pb2_grpc.IndicatorGraphStub(channel)


def test_article_request_gets_real_2023_rows(indicator: Any) -> None:
    reply = indicator.GetMACD(indicator_pb2.MACDRequest(start_date="2023-01-01", end_date="2023-12-31"), timeout=10)
    assert len(reply.macd) == 250
    first, last = reply.macd[0], reply.macd[-1]
    assert (first.date, last.date) == ("2023-01-03", "2023-12-29")
    # float fields: compare at single precision.
    assert last.macd == pytest.approx(7.4880921771, rel=1e-6)
    assert last.close == pytest.approx(462.58, abs=0.01)
    assert all(row.low <= row.close <= row.high for row in reply.macd)


def test_article_graph_is_plain_png_chunks(graph: Any) -> None:
    chunks = [
        reply.macd_chunk
        for reply in graph.GetMACDGraph(
            indicator_graph_pb2.MACDGraphRequest(start_date="2023-01-01", end_date="2023-12-31"), timeout=30
        )
    ]
    assert all(0 < len(chunk) <= 64 * 1024 for chunk in chunks)
    with Image.open(io.BytesIO(b"".join(chunks))) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 800)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("2023-13-01", "", grpc.StatusCode.INVALID_ARGUMENT),
        ("2023-12-31", "2023-01-01", grpc.StatusCode.INVALID_ARGUMENT),
        ("2023-01-07", "2023-01-08", grpc.StatusCode.NOT_FOUND),
    ],
)
def test_article_bad_dates_get_precise_statuses(indicator: Any, graph: Any, start: str, end: str, code: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        indicator.GetMACD(indicator_pb2.MACDRequest(start_date=start, end_date=end), timeout=10)
    assert caught.value.code() == code
    with pytest.raises(grpc.RpcError) as caught:
        list(graph.GetMACDGraph(indicator_graph_pb2.MACDGraphRequest(start_date=start, end_date=end), timeout=10))
    assert caught.value.code() == code
