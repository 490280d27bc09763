"""Servicers for the canonical idc.v1 API: validate, call the core, convert."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.api import convert
from idc_server.api.errors import domain_errors, field_prefix
from idc_server.core import charts
from idc_server.core.analytics import Analytics


class IndicatorService(indicator_grpc.IndicatorServiceServicer):
    """idc.v1.IndicatorService over the core."""

    def __init__(self, analytics: Analytics, max_bars: int) -> None:
        self._analytics = analytics
        self._max_bars = max_bars

    def GetMACD(
        self, request: indicator_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.GetMACDResponse:
        with domain_errors(context):
            parameters = convert.macd_parameters(request.parameters)
            convention = self._analytics.convention(convert.convention(request.convention))
            selection = convert.selection(self._analytics, request, self._max_bars)
            with field_prefix("parameters"):
                result = self._analytics.macd(selection, parameters, convention)
        response = indicator_pb2.GetMACDResponse(
            symbol=result.symbol,
            parameters=convert.macd_parameters_message(result.parameters),
            convention=convert.convention_message(result.convention),
            first_valid_index=result.first_valid_index,
        )
        convert.fill_bars(response.bars, result.frame)
        valid = result.frame.iloc[result.first_valid_index :]
        response.macd.extend(valid["macd"].to_numpy().tolist())
        response.signal.extend(valid["signal"].to_numpy().tolist())
        response.histogram.extend(valid["histogram"].to_numpy().tolist())
        return response

    def ComputeIndicators(
        self, request: indicator_pb2.ComputeIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ComputeIndicatorsResponse:
        with domain_errors(context):
            requests = convert.indicator_requests(request.indicators)
            convention = self._analytics.convention(convert.convention(request.convention))
            selection = convert.selection(self._analytics, request, self._max_bars)
            series = []
            for index, indicator in enumerate(requests):
                with field_prefix(f"indicators[{index}].{indicator.indicator.name}"):
                    series += self._analytics.indicator(selection, indicator, convention)
        return convert.indicators_response(self._analytics.frame(selection, convention, series))

    def ListSymbols(
        self, request: indicator_pb2.ListSymbolsRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ListSymbolsResponse:
        return indicator_pb2.ListSymbolsResponse(
            default_symbol=self._analytics.default_symbol,
            symbols=[
                indicator_pb2.SymbolInfo(
                    symbol=summary.symbol,
                    first_date=summary.first.isoformat(),
                    last_date=summary.last.isoformat(),
                    bar_count=summary.bar_count,
                )
                for summary in self._analytics.symbols()
            ],
        )


class IndicatorGraphService(graph_grpc.IndicatorGraphServiceServicer):
    """idc.v1.IndicatorGraphService over the core."""

    def __init__(self, analytics: Analytics, max_bars: int, chunk_size: int) -> None:
        self._analytics = analytics
        self._max_bars = max_bars
        self._chunk_size = chunk_size

    def GetMACDGraph(
        self, request: graph_pb2.GetMACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[graph_pb2.GetMACDGraphResponse]:
        with domain_errors(context):
            parameters = convert.macd_parameters(request.parameters)
            convention = self._analytics.convention(convert.convention(request.convention))
            width = convert.image_dimension("width_px", request.width_px, charts.WIDTH_PX)
            height = convert.image_dimension("height_px", request.height_px, charts.HEIGHT_PX)
            selection = convert.selection(self._analytics, request, self._max_bars)
            with field_prefix("parameters"):
                image = self._analytics.macd_chart(selection, parameters, convention, width_px=width, height_px=height)
        yield graph_pb2.GetMACDGraphResponse(
            metadata=graph_pb2.ImageMetadata(
                media_type=image.media_type,
                size_bytes=len(image.data),
                sha256=image.sha256,
                width_px=image.width_px,
                height_px=image.height_px,
            )
        )
        for chunk in convert.live_chunks(context, image.data, self._chunk_size):
            yield graph_pb2.GetMACDGraphResponse(chunk=chunk)
