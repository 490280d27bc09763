"""Conversions between proto messages and core types.

Indicator parameters convert generically: a proto parameters message and the
core dataclass of the same indicator share field names, zero means "the
dataclass default", and enum values map by name (``STD_DEV_SAMPLE`` to
``StdDev.SAMPLE``). So a new indicator needs no code here.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import json
import re
import types
import typing
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message

from idc.v1 import bars_pb2, indicator_service_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc_server.api import packed
from idc_server.core import charts, limits
from idc_server.core.adjustments import Adjustment
from idc_server.core.analytics import (
    DEFAULT_PANELS,
    Analytics,
    ChartRequest,
    IndicatorFrame,
    IndicatorRequest,
    MACDResult,
    Selection,
)
from idc_server.core.bars import Interval
from idc_server.core.data import BAR_COLUMNS, SymbolSummary, inline_history, parse_bound, parse_date
from idc_server.core.errors import InvalidArgumentError, field_prefix, shown
from idc_server.core.indicators import INDICATORS, Convention, MACDParameters

MAX_INDICATORS = 32
MAX_PANELS = 6
MAX_OVERLAYS = 8
LABEL = re.compile(r"[a-z0-9_]{1,32}")


class SelectionRequest(Protocol):
    """The fields every bar-selecting request shares."""

    symbol: str
    start_date: str
    end_date: str

    @property
    def inline_bars(self) -> bars_pb2.Bars: ...

    def WhichOneof(self, oneof_group: typing.Literal["source"]) -> str | None: ...


# Proto Interval values by core member: the enums are declared apart, so the mapping is written once here.
INTERVALS: Mapping[Interval, bars_pb2.Interval.ValueType] = {
    Interval.ONE_MINUTE: bars_pb2.INTERVAL_1_MINUTE,
    Interval.FIVE_MINUTES: bars_pb2.INTERVAL_5_MINUTES,
    Interval.FIFTEEN_MINUTES: bars_pb2.INTERVAL_15_MINUTES,
    Interval.THIRTY_MINUTES: bars_pb2.INTERVAL_30_MINUTES,
    Interval.ONE_HOUR: bars_pb2.INTERVAL_1_HOUR,
    Interval.ONE_DAY: bars_pb2.INTERVAL_1_DAY,
    Interval.ONE_WEEK: bars_pb2.INTERVAL_1_WEEK,
    Interval.ONE_MONTH: bars_pb2.INTERVAL_1_MONTH,
}
_INTERVALS_BY_NUMBER = {number: member for member, number in INTERVALS.items()}


def interval(message: Message, field: str = "interval") -> Interval | None:
    """A message's Interval field; None when unspecified; INVALID_ARGUMENT naming it for an unknown value."""
    number = getattr(message, field)
    if number == 0:
        return None
    member = _INTERVALS_BY_NUMBER.get(number)
    if member is None:
        known = ", ".join(bars_pb2.Interval.Name(value) for value in INTERVALS.values())
        raise InvalidArgumentError(field, f"unknown Interval value {number}; expected one of {known}")
    return member


def interval_message(value: Interval) -> bars_pb2.Interval.ValueType:
    """The proto Interval of a core one."""
    return INTERVALS[value]


def adjustment_message(value: Adjustment) -> bars_pb2.Adjustment.ValueType:
    """The proto Adjustment of a core one."""
    return bars_pb2.Adjustment.Value(f"ADJUSTMENT_{value.name}")


def selection(analytics: Analytics, request: SelectionRequest, max_bars: int) -> Selection:
    """Validate a request's bar selection (symbol or inline bars, window, interval and adjustment)."""
    message = cast(Message, request)
    fields = message.DESCRIPTOR.fields_by_name
    # GetMACDGraph stays daily: its window is days only, as before.
    parse = parse_bound if "interval" in fields else parse_date
    start = parse("start_date", request.start_date)
    end = parse("end_date", request.end_date)
    wanted = interval(message) if "interval" in fields else None
    adjustment = enum_field(Adjustment, message, "adjustment") if "adjustment" in fields else None
    inline = None
    if request.WhichOneof("source") == "inline_bars":
        bars = request.inline_bars
        with field_prefix("inline_bars"):
            inline = inline_history(
                bars.dates,
                bars.times,
                {name: getattr(bars, name) for name in BAR_COLUMNS},
                bars.adjustment_factors,
                interval=interval(bars),
                time_zone=bars.time_zone,
                max_bars=max_bars,
            )
    return analytics.select(request.symbol, start, end, inline, interval=wanted, adjustment=adjustment)


def fill_bars(bars: bars_pb2.Bars, selection: Selection) -> None:
    """A response's Bars: the window's dates, times, columns, interval and time zone."""
    packed.append_columns(bars, {"dates": selection.days, "times": selection.times, **selection.columns()})
    bars.interval = interval_message(selection.interval)
    bars.time_zone = selection.time_zone


E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def enum_member(core: type[E], descriptor: EnumDescriptor, number: int) -> E | None:
    """The core enum member for a proto enum value; None for ``..._UNSPECIFIED`` (0).

    Proto values carry the enum's prefix (``STD_DEV_SAMPLE``); core members
    do not (``StdDev.SAMPLE``). Unknown numbers raise InvalidArgumentError.
    """
    if number == 0:
        return None
    value = descriptor.values_by_number.get(number)
    prefix = descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")
    name = value.name.removeprefix(prefix) if value else None
    if name is None or name not in core.__members__:
        known = ", ".join(v.name for v in descriptor.values if v.number)
        raise InvalidArgumentError("", f"unknown {descriptor.name} value {number}; expected one of {known}")
    return core[name]


def enum_field(core: type[E], message: Message, name: str) -> E | None:
    """The core enum member for a message's enum field; None when unspecified."""
    descriptor = message.DESCRIPTOR.fields_by_name[name].enum_type
    assert descriptor is not None, f"{name} is not an enum field"
    with field_prefix(name):
        return enum_member(core, cast(EnumDescriptor, descriptor), getattr(message, name))


def convention(message: Message) -> Convention | None:
    """A request's convention; None means the server default."""
    return enum_field(Convention, message, "convention")


def _enum_type(hint: Any) -> type[enum.Enum] | None:
    """The enum class in a dataclass field's type hint (``StdDev | None``), if any."""
    candidates = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, enum.Enum)), None)


@functools.cache
def _fields(core: Hashable) -> tuple[tuple[str, type[enum.Enum] | None], ...]:
    """A parameters dataclass's field names, each with its enum class if it has one."""
    hints = typing.get_type_hints(core)
    return tuple((field.name, _enum_type(hints[field.name])) for field in dataclasses.fields(core))  # type: ignore[arg-type]


def parameters(core: type[T], message: Message) -> T:
    """The core parameters dataclass from its proto message; zero fields take defaults."""
    values: dict[str, Any] = {}
    for name, enum_type in _fields(cast(Hashable, core)):
        if enum_type is not None:
            member = enum_field(enum_type, message, name)
            if member is not None:
                values[name] = member
        elif value := getattr(message, name):
            values[name] = value
    return core(**values)


def macd_parameters(message: bars_pb2.MACDParameters) -> MACDParameters:
    """MACD periods from a request's ``parameters`` field."""
    with field_prefix("parameters"):
        return parameters(MACDParameters, message)


def indicator_requests(specs: Sequence[indicators_pb2.IndicatorSpec]) -> list[IndicatorRequest]:
    """Validate a ComputeIndicators request's specs, naming each by its index."""
    if not specs:
        raise InvalidArgumentError("indicators", "at least one indicator is required")
    if len(specs) > MAX_INDICATORS:
        raise InvalidArgumentError("indicators", f"at most {MAX_INDICATORS} indicators, got {len(specs)}")
    requests: list[IndicatorRequest] = []
    labels: set[str] = set()
    for index, spec in enumerate(specs):
        path = f"indicators[{index}]"
        kind = spec.WhichOneof("parameters")
        if kind is None or kind not in INDICATORS:
            known = ", ".join(INDICATORS)
            raise InvalidArgumentError(
                path, f"no indicator set, or one this server does not know; expected one of {known}"
            )
        request = indicator_request(path, kind, getattr(spec, kind))
        label = spec.label or kind
        if not LABEL.fullmatch(label):
            raise InvalidArgumentError(f"{path}.label", f"{shown(label)} must match [a-z0-9_]{{1,32}}")
        if label in labels:
            raise InvalidArgumentError(f"{path}.label", f"{shown(label)} is already used by an earlier indicator")
        labels.add(label)
        requests.append(dataclasses.replace(request, label=label))
    return requests


def indicator_request(path: str, kind: str, message: Message) -> IndicatorRequest:
    """A registered indicator with its parameters from ``message``; errors named under ``path``."""
    indicator = INDICATORS[kind]
    with field_prefix(f"{path}.{kind}"):
        values: Any = parameters(indicator.parameters, message)
    return IndicatorRequest(kind, indicator, values)


def chart_items(
    field: str,
    items: Sequence[Message],
    allowed: Mapping[str, charts.PanelKind] | Mapping[str, charts.OverlayKind],
    limit: int,
) -> tuple[IndicatorRequest | None, ...]:
    """Panels or overlays of a GetChart request, of the kinds in ``allowed``; a panel of the bars' columns is None."""
    if len(items) > limit:
        raise InvalidArgumentError(field, f"at most {limit} entries, got {len(items)}")
    chosen: list[IndicatorRequest | None] = []
    for index, item in enumerate(items):
        kind = item.WhichOneof("kind")
        if kind is None or kind not in allowed:
            raise InvalidArgumentError(f"{field}[{index}]", f"nothing set; expected one of {', '.join(allowed)}")
        declared = allowed[kind]
        from_bars = isinstance(declared, charts.PanelKind) and declared.from_bars
        chosen.append(None if from_bars else indicator_request(f"{field}[{index}]", kind, getattr(item, kind)))
    return tuple(chosen)


def chart_request(request: graph_pb2.GetChartRequest, max_pixels: int) -> ChartRequest:
    """Everything a GetChart request asks to draw, validated."""
    overlays = chart_items("overlays", request.overlays, charts.OVERLAYS, MAX_OVERLAYS)
    panels = chart_items("panels", request.panels, charts.PANELS, MAX_PANELS)
    width, height = limits.image_size(request.width_px, request.height_px, limits.MAX_CHART_PX, max_pixels)
    options = charts.RenderOptions(
        width_px=width,
        height_px=height,
        dpi=limits.dpi(request.dpi),
        format=enum_field(charts.ImageFormat, request, "format") or charts.ImageFormat.PNG,
        theme=enum_field(charts.Theme, request, "theme") or charts.Theme.LIGHT,
        scheme=enum_field(charts.ColorScheme, request, "color_scheme") or charts.ColorScheme.WESTERN,
        price_scale=enum_field(charts.PriceScale, request, "price_scale") or charts.PriceScale.AUTO,
    )
    return ChartRequest(
        overlays=tuple(item for item in overlays if item is not None), panels=panels or DEFAULT_PANELS, options=options
    )


def convention_message(value: Convention) -> indicators_pb2.Convention.ValueType:
    """The proto enum value of a core convention."""
    return indicators_pb2.Convention.Value(f"CONVENTION_{value.name}")


def macd_parameters_message(value: MACDParameters) -> bars_pb2.MACDParameters:
    """The periods actually used, for a response."""
    return bars_pb2.MACDParameters(
        fast_period=value.fast_period, slow_period=value.slow_period, signal_period=value.signal_period
    )


def macd_response(result: MACDResult) -> indicator_service_pb2.GetMACDResponse:
    """A GetMACD response: the window's bars and its MACD columns from ``first_valid_index`` on."""
    response = indicator_service_pb2.GetMACDResponse(
        symbol=result.symbol,
        parameters=macd_parameters_message(result.parameters),
        convention=convention_message(result.convention),
        first_valid_index=result.first_valid_index,
    )
    fill_bars(response.bars, result.selection)
    response.adjustment = adjustment_message(result.selection.adjustment)
    start = result.first_valid_index
    packed.append_columns(response, {name: values[start:] for name, values in result.outputs.items()})
    return response


def indicators_response(frame: IndicatorFrame) -> indicator_service_pb2.ComputeIndicatorsResponse:
    """A ComputeIndicators response from the core's frame."""
    response = indicator_service_pb2.ComputeIndicatorsResponse(
        symbol=frame.symbol,
        convention=convention_message(frame.convention),
        interval=interval_message(frame.interval),
        time_zone=frame.time_zone,
        adjustment=adjustment_message(frame.adjustment),
    )
    packed.append_columns(response, {"dates": frame.days})
    if frame.times is not None:
        packed.append_columns(response, {"times": frame.times})
    for result in frame.series:
        series = response.series.add(name=result.name, first_valid_index=result.first_valid_index)
        packed.append_columns(series, {"values": result.values})
    return response


def symbol_info(summary: SymbolSummary) -> indicator_service_pb2.SymbolInfo:
    """A ListSymbols entry: the symbol's range, state, warnings, price adjustment, intervals and time zone."""
    adjustment = summary.price_adjustment
    return indicator_service_pb2.SymbolInfo(
        symbol=summary.symbol,
        first_date=summary.first.isoformat() if summary.first else "",
        last_date=summary.last.isoformat() if summary.last else "",
        bar_count=summary.bar_count,
        state=indicator_service_pb2.SymbolState.Value(f"SYMBOL_STATE_{summary.state.name}"),
        problem=summary.problem,
        warning_count=summary.warning_count,
        first_warning=summary.first_warning,
        price_adjustment=indicator_service_pb2.PriceAdjustment.Value(f"PRICE_ADJUSTMENT_{adjustment.name}")
        if adjustment
        else indicator_service_pb2.PRICE_ADJUSTMENT_UNSPECIFIED,
        interval=interval_message(summary.interval),
        intervals=[interval_message(value) for value in summary.interval.servable()],
        adjustments=[adjustment_message(value) for value in summary.adjustments],
        time_zone=summary.time_zone,
    )


# ListSymbols pages (AIP-158): a page is at most this many symbols.
MAX_SYMBOL_PAGE = 1000
_TOKEN_VERSION = 1


def symbol_page(request: indicator_service_pb2.ListSymbolsRequest) -> tuple[int, str]:
    """The page size and the symbol the page starts after, from a ListSymbols request."""
    if request.page_size < 0:
        raise InvalidArgumentError("page_size", f"{request.page_size} is negative; use 0 for {MAX_SYMBOL_PAGE}")
    size = min(request.page_size or MAX_SYMBOL_PAGE, MAX_SYMBOL_PAGE)
    if not request.page_token:
        return size, ""
    try:
        padded = request.page_token + "=" * (-len(request.page_token) % 4)
        token = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        version, prefix, after = token["v"], token["p"], token["a"]
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise InvalidArgumentError("page_token", "is not a next_page_token of this server") from None
    if version != _TOKEN_VERSION or not isinstance(prefix, str) or not isinstance(after, str) or not after:
        raise InvalidArgumentError("page_token", "is not a next_page_token of this server")
    if prefix.upper() != request.prefix.upper():
        raise InvalidArgumentError(
            "page_token", f"was made for prefix {shown(prefix)}, not {shown(request.prefix)}: keep the prefix"
        )
    return size, after


def next_page_token(prefix: str, last_symbol: str) -> str:
    """The opaque token of the page after one that ended with ``last_symbol``."""
    token = json.dumps({"v": _TOKEN_VERSION, "p": prefix, "a": last_symbol}, separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode("ascii").rstrip("=")
