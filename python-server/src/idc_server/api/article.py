"""Servicers for the article's frozen ``idc`` package, over the same core.

The article's clients send only a date window; they get the server's default
symbol and MACD(12, 26, 9) under the 通达信 convention, so that every row has
a value from the first bar on, and the chart arrives as plain PNG chunks.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from idc import indicator_graph_pb2, indicator_graph_pb2_grpc, indicator_pb2, indicator_pb2_grpc
from idc_server.api import streams
from idc_server.api.errors import domain_errors
from idc_server.core import charts
from idc_server.core.analytics import Analytics, MACDResult, Selection, macd_chart_request
from idc_server.core.data import parse_date
from idc_server.core.indicators import Convention, MACDParameters

PARAMETERS = MACDParameters()
CONVENTION = Convention.TDX
CHART = macd_chart_request(PARAMETERS, charts.RenderOptions())  # 1200x800 PNG, as GetMACDGraph's default


def article_selection(analytics: Analytics, start_date: str, end_date: str) -> Selection:
    """The default symbol's bars in the article's date window."""
    return analytics.select(None, parse_date("start_date", start_date), parse_date("end_date", end_date))


class Indicator(indicator_pb2_grpc.IndicatorServicer):
    """idc.Indicator: one MACDData row per bar."""

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    def GetMACD(self, request: indicator_pb2.MACDRequest, context: grpc.ServicerContext) -> indicator_pb2.MACDReply:
        with domain_errors(context):
            selection = article_selection(self._analytics, request.start_date, request.end_date)
            result = self._analytics.macd(selection, PARAMETERS, CONVENTION)
        return macd_reply(result)


def macd_reply(result: MACDResult) -> indicator_pb2.MACDReply:
    """The article's reply: one ``MACDData`` message per bar, with the date as ``YYYY-MM-DD``."""
    columns = result.selection.columns()
    dates = result.selection.days.astype("datetime64[D]").astype(str).tolist()
    rows = zip(
        dates,
        *(columns[name].tolist() for name in ("open", "close", "high", "low")),
        result.outputs["macd"].tolist(),
        strict=True,
    )
    return indicator_pb2.MACDReply(
        macd=[
            indicator_pb2.MACDData(date=day, open=open_, close=close, high=high, low=low, macd=macd)
            for day, open_, close, high, low, macd in rows
        ]
    )


class IndicatorGraph(indicator_graph_pb2_grpc.IndicatorGraphServicer):
    """idc.IndicatorGraph: the v1 chart as plain PNG chunks, no metadata."""

    def __init__(self, analytics: Analytics, chunk_size: int) -> None:
        self._analytics = analytics
        self._chunk_size = chunk_size

    def GetMACDGraph(
        self, request: indicator_graph_pb2.MACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[indicator_graph_pb2.MACDGraphReply]:
        with domain_errors(context):
            selection = article_selection(self._analytics, request.start_date, request.end_date)
            image = streams.render(self._analytics, selection, CHART, CONVENTION, context)
        if image is None:
            return
        for chunk in streams.live_chunks(context, image.data, self._chunk_size):
            yield indicator_graph_pb2.MACDGraphReply(macd_chunk=chunk)
