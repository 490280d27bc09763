"""Conversions between proto messages and core types.

Indicator parameters convert generically: a proto parameters message and the
core dataclass of the same indicator share field names, zero means "the
dataclass default", and enum values map by name (``STD_DEV_SAMPLE`` to
``StdDev.SAMPLE``). So a new indicator needs no code here.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar, cast

import grpc
import numpy as np
import pandas as pd
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message

from idc.v1 import bars_pb2, indicator_service_pb2, indicators_pb2
from idc_server.api.errors import field_prefix
from idc_server.core.analytics import Analytics, IndicatorFrame, IndicatorRequest, Selection
from idc_server.core.data import BAR_COLUMNS, bars_from_columns, parse_date
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import INDICATORS, Convention, MACDParameters

MIN_IMAGE_PX = 200
MAX_IMAGE_PX = 4000
MAX_INDICATORS = 32
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


def convention(number: int) -> Convention | None:
    """A request's convention; None means the server default."""
    with field_prefix("convention"):
        return enum_member(Convention, indicators_pb2.Convention.DESCRIPTOR, number)


def _enum_type(hint: Any) -> type[enum.Enum] | None:
    """The enum class in a dataclass field's type hint (``StdDev | None``), if any."""
    candidates = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, enum.Enum)), None)


def parameters(core: type[T], message: Message) -> T:
    """The core parameters dataclass from its proto message; zero fields take defaults."""
    hints = typing.get_type_hints(core)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(core):  # type: ignore[arg-type]
        number = getattr(message, field.name)
        enum_type = _enum_type(hints[field.name])
        if enum_type is not None:
            descriptor = message.DESCRIPTOR.fields_by_name[field.name].enum_type
            assert descriptor is not None, f"{field.name} is an enum in the core but not in the proto"
            with field_prefix(field.name):
                member = enum_member(enum_type, cast(EnumDescriptor, descriptor), number)
            if member is not None:
                values[field.name] = member
        elif number:
            values[field.name] = number
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
        indicator = INDICATORS[kind]
        with field_prefix(f"{path}.{kind}"):
            values: Any = parameters(indicator.parameters, getattr(spec, kind))
        label = spec.label or kind
        if not LABEL.fullmatch(label):
            raise InvalidArgumentError(f"{path}.label", f"{label!r} must match [a-z0-9_]{{1,32}}")
        if label in labels:
            raise InvalidArgumentError(f"{path}.label", f"{label!r} is already used by an earlier indicator")
        labels.add(label)
        requests.append(IndicatorRequest(label, indicator, values))
    return requests


def image_dimension(field: str, value: int, default: int) -> int:
    """A pixel size from a request: 0 means ``default``; otherwise 200-4000."""
    if value == 0:
        return default
    if not MIN_IMAGE_PX <= value <= MAX_IMAGE_PX:
        raise InvalidArgumentError(field, f"must be between {MIN_IMAGE_PX} and {MAX_IMAGE_PX} pixels, got {value}")
    return value


def convention_message(value: Convention) -> indicators_pb2.Convention.ValueType:
    """The proto enum value of a core convention."""
    return indicators_pb2.Convention.Value(f"CONVENTION_{value.name}")


def macd_parameters_message(value: MACDParameters) -> bars_pb2.MACDParameters:
    """The periods actually used, for a response."""
    return bars_pb2.MACDParameters(
        fast_period=value.fast_period, slow_period=value.slow_period, signal_period=value.signal_period
    )


def epoch_days(index: pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01 for each date, as int32."""
    return index.to_numpy(dtype="datetime64[D]").astype(np.int32)


def fill_bars(message: bars_pb2.Bars, frame: pd.DataFrame) -> None:
    """Copy a bars frame's index and OHLCV columns into ``message``."""
    message.dates.extend(epoch_days(pd.DatetimeIndex(frame.index)).tolist())
    for name in BAR_COLUMNS:
        getattr(message, name).extend(frame[name].to_numpy().tolist())


def indicators_response(frame: IndicatorFrame) -> indicator_service_pb2.ComputeIndicatorsResponse:
    """A ComputeIndicators response from the core's frame."""
    response = indicator_service_pb2.ComputeIndicatorsResponse(
        symbol=frame.symbol, convention=convention_message(frame.convention)
    )
    response.dates.extend(epoch_days(frame.dates).tolist())
    for result in frame.series:
        series = response.series.add(name=result.name, first_valid_index=result.first_valid_index)
        series.values.extend(result.values.tolist())
    return response


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
