"""Servicers for the canonical idc.v1 API."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.api.convert import (
    fill_bars,
    image_dimension,
    live_chunks,
    macd_periods,
    periods_message,
    window_query,
)
from idc_server.api.errors import domain_errors
from idc_server.core import charts
from idc_server.core.analytics import Analytics


def request_field(field: str) -> str:
    """The request path of a core field name: periods live under ``parameters``."""
    return f"parameters.{field}" if field.endswith("_period") else field


class IndicatorService(indicator_grpc.IndicatorServiceServicer):
    """idc.v1.IndicatorService over the core."""

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    def GetMACD(
        self, request: indicator_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.GetMACDResponse:
        with domain_errors(context, request_field):
            query = window_query(request.symbol, request.start_date, request.end_date)
            periods = macd_periods(request.parameters)
            result = self._analytics.macd(query.symbol, query.start, query.end, periods)
        response = indicator_pb2.GetMACDResponse(symbol=result.symbol, parameters=periods_message(result.periods))
        fill_bars(response.bars, result.frame)
        response.macd.extend(result.frame["macd"].to_numpy().tolist())
        response.signal.extend(result.frame["signal"].to_numpy().tolist())
        response.histogram.extend(result.frame["histogram"].to_numpy().tolist())
        return response


class IndicatorGraphService(graph_grpc.IndicatorGraphServiceServicer):
    """idc.v1.IndicatorGraphService over the core."""

    def __init__(self, analytics: Analytics, chunk_size: int) -> None:
        self._analytics = analytics
        self._chunk_size = chunk_size

    def GetMACDGraph(
        self, request: graph_pb2.GetMACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[graph_pb2.GetMACDGraphResponse]:
        with domain_errors(context, request_field):
            query = window_query(request.symbol, request.start_date, request.end_date)
            periods = macd_periods(request.parameters)
            width = image_dimension("width_px", request.width_px, charts.WIDTH_PX)
            height = image_dimension("height_px", request.height_px, charts.HEIGHT_PX)
            image = self._analytics.macd_chart(
                query.symbol, query.start, query.end, periods, width_px=width, height_px=height
            )
        yield graph_pb2.GetMACDGraphResponse(
            metadata=graph_pb2.ImageMetadata(
                media_type=image.media_type,
                size_bytes=len(image.data),
                sha256=image.sha256,
                width_px=image.width_px,
                height_px=image.height_px,
            )
        )
        for chunk in live_chunks(context, image.data, self._chunk_size):
            yield graph_pb2.GetMACDGraphResponse(chunk=chunk)
