"""Conversions between proto messages and core types.

Indicator parameters convert generically: a proto parameters message and the
core dataclass of the same indicator share field names, zero means "the
dataclass default", and enum values map by name (``STD_DEV_SAMPLE`` to
``StdDev.SAMPLE``). So a new indicator needs no code here.

The generic spec (``IndicatorSpec.name`` / ``formula`` with ``params``)
binds a catalogue entry (``spec_request``); ``entry_message`` renders an
entry for ListIndicators (docs/decisions/0021-catalogue-api.md).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import types
import typing
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message

from idc.v1 import bars_pb2, catalogue_pb2, indicator_service_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc_server.api import packed
from idc_server.core import charts, limits
from idc_server.core.analytics import (
    DEFAULT_PANELS,
    Analytics,
    ChartRequest,
    EntryRequest,
    IndicatorFrame,
    IndicatorRequest,
    MACDResult,
    ScreenResult,
    Selection,
)
from idc_server.core.catalogue import (
    Bound,
    Catalogue,
    Entry,
    OutputKind,
    Parameter,
    ParameterType,
    ParameterValue,
    request_formula_entry,
)
from idc_server.core.catalogue.typed import CONVENTION_CHOICE
from idc_server.core.data import BAR_COLUMNS, SymbolSummary, bars_from_columns, parse_date
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


def selection(analytics: Analytics, request: SelectionRequest, max_bars: int) -> Selection:
    """Validate a request's bar selection (symbol or inline bars, and dates)."""
    start = parse_date("start_date", request.start_date)
    end = parse_date("end_date", request.end_date)
    inline = None
    if request.WhichOneof("source") == "inline_bars":
        bars = request.inline_bars
        with field_prefix("inline_bars"):
            inline = bars_from_columns(
                bars.dates, {name: getattr(bars, name) for name in BAR_COLUMNS}, max_bars=max_bars
            )
    return analytics.select(request.symbol, start, end, inline)


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


Requested = IndicatorRequest | EntryRequest
TYPED_MEMBERS = ", ".join(INDICATORS)
FORMULA_LABEL = "formula"  # the default label of a formula spec, and so its entry's name: formula.formula


def indicator_requests(specs: Sequence[indicators_pb2.IndicatorSpec], catalogue: Catalogue) -> list[Requested]:
    """Validate a ComputeIndicators request's specs, naming each by its index."""
    if not specs:
        raise InvalidArgumentError("indicators", "at least one indicator is required")
    if len(specs) > MAX_INDICATORS:
        raise InvalidArgumentError("indicators", f"at most {MAX_INDICATORS} indicators, got {len(specs)}")
    requests: list[Requested] = []
    labels: set[str] = set()
    for index, spec in enumerate(specs):
        path = f"indicators[{index}]"
        request = spec_request(path, spec, catalogue)
        if request.label in labels:
            raise InvalidArgumentError(
                f"{path}.label", f"{shown(request.label)} is already used by an earlier indicator"
            )
        labels.add(request.label)
        requests.append(request)
    return requests


def spec_request(path: str, spec: indicators_pb2.IndicatorSpec, catalogue: Catalogue) -> Requested:
    """One IndicatorSpec: a typed member, a catalogue name or a formula (exactly one), with its label.

    Errors are named under ``path`` (``indicators[3].params.timeperiod``).
    """
    typed = spec.WhichOneof("parameters")
    chosen = [
        item for item, present in (("a typed member", typed), ("name", spec.name), ("formula", spec.formula)) if present
    ]
    if len(chosen) != 1:
        got = " and ".join(chosen) if chosen else "none"
        raise InvalidArgumentError(
            path,
            f"set exactly one of a typed member ({TYPED_MEMBERS}), name or formula; got {got}",
        )
    if typed is not None:
        if typed not in INDICATORS:
            raise InvalidArgumentError(
                path, f"a typed member this server does not know; expected one of {TYPED_MEMBERS}"
            )
        if spec.params:
            raise InvalidArgumentError(f"{path}.params", f"must be empty with a typed member ({typed})")
        request: Requested = indicator_request(path, typed, getattr(spec, typed))
        label = spec.label or typed
    else:
        with field_prefix(path):
            bound = generic_bound(spec, catalogue)
        label = spec.label or (FORMULA_LABEL if spec.formula else bound.entry.local_name.lower())
        request = EntryRequest(label, bound, catalogue.plugins)
    if not LABEL.fullmatch(label):
        raise InvalidArgumentError(f"{path}.label", f"{shown(label)} must match [a-z0-9_]{{1,32}}")
    return dataclasses.replace(request, label=label)


def generic_bound(spec: indicators_pb2.IndicatorSpec, catalogue: Catalogue) -> Bound:
    """The entry that ``name`` or ``formula`` selects, bound to ``params`` (errors: name, formula, params.<p>)."""
    raw = parameter_values(spec.params)
    if spec.formula:
        entry = request_formula_entry(spec.formula, spec.label if LABEL.fullmatch(spec.label) else FORMULA_LABEL)
        return entry.bind(raw)
    return catalogue.bind(spec.name, raw)


def typed_bound(path: str, kind: str, message: Message, catalogue: Catalogue) -> Bound:
    """A typed member as its ``idc.<kind>`` entry bound to the same parameters (for Describe and Screen)."""
    typed = indicator_request(path, kind, message).parameters
    raw: dict[str, object] = {}
    for item in dataclasses.fields(typed):
        value = getattr(typed, item.name)
        raw[item.name] = CONVENTION_CHOICE if value is None else value.name if isinstance(value, enum.Enum) else value
    with field_prefix(f"{path}.{kind}"):
        return catalogue.get(f"idc.{kind}").bind(raw)


def entry_request(path: str, spec: indicators_pb2.IndicatorSpec, catalogue: Catalogue) -> EntryRequest:
    """A spec as a catalogue entry request, a typed member as its ``idc.<kind>`` entry (for Screen and charts)."""
    request = spec_request(path, spec, catalogue)
    if isinstance(request, EntryRequest):
        return request
    kind = request.indicator.name
    return EntryRequest(request.label, typed_bound(path, kind, getattr(spec, kind), catalogue), catalogue.plugins)


def screen_response(result: ScreenResult) -> indicator_service_pb2.ScreenResponse:
    """A Screen response from the core's result."""
    response = indicator_service_pb2.ScreenResponse(
        evaluated_count=result.evaluated_count,
        output=result.output,
        convention=convention_message(result.convention),
        skipped=[indicator_service_pb2.ScreenSkip(symbol=skip.symbol, reason=skip.reason) for skip in result.skipped],
    )
    for match in result.matches:
        response.matches.add(symbol=match.symbol, date=match.day, time=match.time, values=match.values)
    return response


def parameter_values(params: Mapping[str, indicators_pb2.ParameterValue]) -> dict[str, object]:
    """A spec's params as plain values (number, choice, flag); unset values are INVALID_ARGUMENT."""
    values: dict[str, object] = {}
    for name, value in params.items():
        kind = value.WhichOneof("kind")
        if kind is None:
            raise InvalidArgumentError(f"params.{name[:100]}", "no value set: give number, choice or flag")
        values[name] = getattr(value, kind)
    return values


def parameter_value_message(parameter: Parameter, value: ParameterValue) -> indicators_pb2.ParameterValue:
    """A parameter's value as the proto carries it."""
    if parameter.type is ParameterType.BOOL:
        return indicators_pb2.ParameterValue(flag=bool(value))
    if parameter.type is ParameterType.ENUM:
        return indicators_pb2.ParameterValue(choice=str(value))
    return indicators_pb2.ParameterValue(number=float(value))


def output_kind_message(kind: OutputKind) -> indicators_pb2.OutputKind.ValueType:
    """The proto enum value of an output kind."""
    return indicators_pb2.OutputKind.Value(f"OUTPUT_KIND_{kind.name}")


def entry_message(entry: Entry) -> catalogue_pb2.IndicatorEntry:
    """A catalogue entry as ListIndicators lists it, warm-up bars at the defaults per convention."""
    defaults = entry.bind({})
    message = catalogue_pb2.IndicatorEntry(
        name=entry.name,
        group=entry.group,
        description=entry.description,
        inputs=entry.inputs,
        conventions=[convention_message(item) for item in entry.conventions],
        warm_up_bars=[defaults.lookback(item) for item in entry.conventions],
        formula=entry.formula,
    )
    for parameter in entry.parameters:
        item = message.parameters.add(
            name=parameter.name,
            type=catalogue_pb2.ParameterType.Value(f"PARAMETER_TYPE_{parameter.type.name}"),
            default_value=parameter_value_message(parameter, parameter.default),
            minimum_exclusive=parameter.minimum_exclusive,
            choices=parameter.choices,
            doc=parameter.doc,
        )
        if parameter.minimum is not None:
            item.minimum = parameter.minimum
        if parameter.maximum is not None:
            item.maximum = parameter.maximum
    for output in entry.outputs:
        message.outputs.add(name=output.name, kind=output_kind_message(output.kind), doc=output.doc)
    return message


def describe_response(
    request: Requested, bound: Bound, convention: Convention
) -> indicator_service_pb2.DescribeIndicatorResponse:
    """What a spec would compute: its entry, parameters with defaults, convention, warm-up and series names."""
    names = (
        request.indicator.series_names(request.label)
        if isinstance(request, IndicatorRequest)
        else request.series_names()
    )
    response = indicator_service_pb2.DescribeIndicatorResponse(
        indicator=entry_message(bound.entry),
        convention=convention_message(convention),
        warm_up_bars=bound.lookback(convention),
        series_names=names,
    )
    declared = {parameter.name: parameter for parameter in bound.entry.parameters}
    for name, value in bound.values:
        response.params[name].CopyFrom(parameter_value_message(declared[name], value))
    return response


def indicator_request(path: str, kind: str, message: Message) -> IndicatorRequest:
    """A registered indicator with its parameters from ``message``; errors named under ``path``."""
    indicator = INDICATORS[kind]
    with field_prefix(f"{path}.{kind}"):
        values: Any = parameters(indicator.parameters, message)
    return IndicatorRequest(kind, indicator, values)


INDICATOR_ITEM = "indicator"  # the generic member of ChartPanel and ChartOverlay: any catalogue entry or formula
ChartItem = IndicatorRequest | EntryRequest | None


def chart_items(
    field: str,
    items: Sequence[Message],
    allowed: Mapping[str, charts.PanelKind] | Mapping[str, charts.OverlayKind],
    limit: int,
    catalogue: Catalogue,
) -> tuple[ChartItem, ...]:
    """Panels or overlays of a GetChart request, of the kinds in ``allowed`` or ``indicator``.

    A panel of the bars' columns is None. An overlay's entry must have price
    or signal outputs only.
    """
    if len(items) > limit:
        raise InvalidArgumentError(field, f"at most {limit} entries, got {len(items)}")
    chosen: list[ChartItem] = []
    for index, item in enumerate(items):
        kind = item.WhichOneof("kind")
        path = f"{field}[{index}]"
        if kind == INDICATOR_ITEM:
            request = entry_request(f"{path}.{INDICATOR_ITEM}", getattr(item, kind), catalogue)
            if field == "overlays":
                _check_overlay(f"{path}.{INDICATOR_ITEM}", request)
            chosen.append(request)
            continue
        if kind is None or kind not in allowed:
            raise InvalidArgumentError(path, f"nothing set; expected one of {', '.join([*allowed, INDICATOR_ITEM])}")
        declared = allowed[kind]
        from_bars = isinstance(declared, charts.PanelKind) and declared.from_bars
        chosen.append(None if from_bars else indicator_request(path, kind, getattr(item, kind)))
    return tuple(chosen)


def _check_overlay(path: str, request: EntryRequest) -> None:
    for output in request.bound.entry.outputs:
        if output.kind not in (OutputKind.PRICE, OutputKind.SIGNAL):
            raise InvalidArgumentError(
                path,
                f"{request.bound.entry.name}'s output {output.name} is {output.kind.value}, not price or signal: "
                "draw it in a panel",
            )


def chart_request(request: graph_pb2.GetChartRequest, max_pixels: int, catalogue: Catalogue) -> ChartRequest:
    """Everything a GetChart request asks to draw, validated."""
    overlays = chart_items("overlays", request.overlays, charts.OVERLAYS, MAX_OVERLAYS, catalogue)
    panels = chart_items("panels", request.panels, charts.PANELS, MAX_PANELS, catalogue)
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
    selection = result.selection
    packed.append_columns(response.bars, {"dates": selection.days, **selection.columns()})
    start = result.first_valid_index
    packed.append_columns(response, {name: values[start:] for name, values in result.outputs.items()})
    return response


def indicators_response(frame: IndicatorFrame) -> indicator_service_pb2.ComputeIndicatorsResponse:
    """A ComputeIndicators response from the core's frame."""
    response = indicator_service_pb2.ComputeIndicatorsResponse(
        symbol=frame.symbol, convention=convention_message(frame.convention)
    )
    packed.append_columns(response, {"dates": frame.days})
    for result in frame.series:
        series = response.series.add(
            name=result.name, first_valid_index=result.first_valid_index, kind=output_kind_message(result.kind)
        )
        packed.append_columns(series, {"values": result.values})
    return response


def symbol_info(summary: SymbolSummary) -> indicator_service_pb2.SymbolInfo:
    """A ListSymbols entry: the symbol's range, state, warnings and price adjustment."""
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
    )
