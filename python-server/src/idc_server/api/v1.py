"""Servicers for the canonical idc.v1 API: validate, call the core, convert."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from idc.v1 import catalogue_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_graph_service_pb2_grpc as graph_grpc
from idc.v1 import indicator_service_pb2 as indicator_pb2
from idc.v1 import indicator_service_pb2_grpc as indicator_grpc
from idc_server.api import convert, streams
from idc_server.api.errors import domain_errors
from idc_server.api.offload import Offload
from idc_server.core import charts, limits
from idc_server.core.adjustments import Adjustment
from idc_server.core.analytics import Analytics, EntryRequest, Screener, macd_chart_request
from idc_server.core.data import parse_date
from idc_server.core.errors import field_prefix, field_renamed


class IndicatorService(indicator_grpc.IndicatorServiceServicer):
    """idc.v1.IndicatorService over the core."""

    def __init__(self, analytics: Analytics, max_bars: int, offload: Offload | None = None) -> None:
        self._analytics = analytics
        self._max_bars = max_bars
        self._listed: list[catalogue_pb2.IndicatorEntry] | None = None
        self._offload = offload or Offload(analytics)  # large inline calls in the render workers

    def GetMACD(
        self, request: indicator_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.GetMACDResponse:
        with domain_errors(context):
            parameters = convert.macd_parameters(request.parameters)
            convention = self._analytics.convention(convert.convention(request))
            selection = convert.selection(self._analytics, request, self._max_bars)
            with field_prefix("parameters"):
                result = self._offload.call(context, selection, "macd", selection, parameters, convention)
        return convert.macd_response(result)

    def ComputeIndicators(
        self, request: indicator_pb2.ComputeIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ComputeIndicatorsResponse:
        with domain_errors(context):
            requests = convert.indicator_requests(request.indicators, self._analytics.catalogue)
            requested = convert.convention(request)
            convention = self._analytics.convention(requested)
            entry_conventions = [
                self._analytics.entry_convention(item, requested) if isinstance(item, EntryRequest) else convention
                for item in requests
            ]
            selection = convert.selection(self._analytics, request, self._max_bars)
            series = []
            for index, (indicator, used) in enumerate(zip(requests, entry_conventions, strict=True)):
                if isinstance(indicator, EntryRequest):
                    with field_prefix(f"indicators[{index}]"):
                        series += self._offload.call(context, selection, "entry", selection, indicator, used)
                    continue
                with field_prefix(f"indicators[{index}].{indicator.indicator.name}"):
                    series += self._offload.call(context, selection, "indicator", selection, indicator, convention)
        return convert.indicators_response(self._analytics.frame(selection, convention, series))

    def ListIndicators(
        self, request: indicator_pb2.ListIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ListIndicatorsResponse:
        wanted = request.namespace.casefold()
        return indicator_pb2.ListIndicatorsResponse(
            indicators=[entry for entry in self._entries() if not wanted or entry.name.split(".")[0] == wanted]
        )

    def _entries(self) -> list[catalogue_pb2.IndicatorEntry]:
        """Every entry's message, built on first use: the catalogue does not change while the server runs."""
        if self._listed is None:
            self._listed = [convert.entry_message(entry) for entry in self._analytics.catalogue]
        return self._listed

    def DescribeIndicator(
        self, request: indicator_pb2.DescribeIndicatorRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.DescribeIndicatorResponse:
        with domain_errors(context):
            catalogue = self._analytics.catalogue
            described = convert.spec_request("spec", request.spec, catalogue)
            requested = convert.convention(request)
            if isinstance(described, EntryRequest):
                bound = described.bound
                convention = self._analytics.entry_convention(described, requested)
            else:
                bound = convert.typed_bound(
                    "spec", described.indicator.name, getattr(request.spec, described.indicator.name), catalogue
                )
                convention = self._analytics.convention(requested)
            with field_prefix("spec"):
                return convert.describe_response(described, bound, convention)

    def Screen(
        self, request: indicator_pb2.ScreenRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ScreenResponse:
        with domain_errors(context):
            condition = convert.entry_request("condition", request.condition, self._analytics.catalogue)
            convention = self._analytics.entry_convention(condition, convert.convention(request))
            day = parse_date("date", request.date)
            result = Screener(self._analytics).screen(
                condition,
                request.output,
                list(request.symbols),
                day,
                convention,
                interval=convert.interval(request),
                adjustment=convert.enum_field(Adjustment, request, "adjustment"),
            )
        return convert.screen_response(result)

    def ListSymbols(
        self, request: indicator_pb2.ListSymbolsRequest, context: grpc.ServicerContext
    ) -> indicator_pb2.ListSymbolsResponse:
        with domain_errors(context):
            size, after = convert.symbol_page(request)
            summaries, more = self._analytics.store.page(request.prefix, after, size)
        return indicator_pb2.ListSymbolsResponse(
            default_symbol=self._analytics.default_symbol,
            symbols=[convert.symbol_info(summary) for summary in summaries],
            next_page_token=convert.next_page_token(request.prefix, summaries[-1].symbol) if more else "",
        )


class IndicatorGraphService(graph_grpc.IndicatorGraphServiceServicer):
    """idc.v1.IndicatorGraphService over the core."""

    def __init__(self, analytics: Analytics, max_bars: int, max_pixels: int) -> None:
        self._analytics = analytics
        self._max_bars = max_bars
        self._max_pixels = max_pixels

    def GetMACDGraph(
        self, request: graph_pb2.GetMACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[graph_pb2.GetMACDGraphResponse]:
        with domain_errors(context):
            parameters = convert.macd_parameters(request.parameters)
            width, height = limits.image_size(
                request.width_px, request.height_px, limits.MAX_MACD_GRAPH_PX, self._max_pixels
            )
            chunk_size = limits.chunk_size(request.chunk_size_bytes)
            convention = self._analytics.convention(convert.convention(request))
            selection = convert.selection(self._analytics, request, self._max_bars)
            chart = macd_chart_request(parameters, charts.RenderOptions(width_px=width, height_px=height))
            with field_renamed("panels[0].macd", "parameters"):
                image = streams.render(self._analytics, selection, chart, convention, context)
        if image is None:
            return
        yield graph_pb2.GetMACDGraphResponse(metadata=streams.image_metadata(image))
        for chunk in streams.live_chunks(context, image.data, chunk_size):
            yield graph_pb2.GetMACDGraphResponse(chunk=chunk)

    def GetChart(
        self, request: graph_pb2.GetChartRequest, context: grpc.ServicerContext
    ) -> Iterator[graph_pb2.GetChartResponse]:
        with domain_errors(context):
            chart = convert.chart_request(request, self._max_pixels, self._analytics.catalogue)
            chunk_size = limits.chunk_size(request.chunk_size_bytes)
            requested = convert.convention(request)
            for item in (*chart.overlays, *chart.panels):
                if isinstance(item, EntryRequest):
                    self._analytics.entry_convention(item, requested)  # an explicit one the entry lacks: refused
            convention = self._analytics.convention(requested)
            selection = convert.selection(self._analytics, request, self._max_bars)
            image = streams.render(self._analytics, selection, chart, convention, context)
        if image is None:
            return
        yield graph_pb2.GetChartResponse(metadata=streams.image_metadata(image))
        for chunk in streams.live_chunks(context, image.data, chunk_size):
            yield graph_pb2.GetChartResponse(chunk=chunk)
