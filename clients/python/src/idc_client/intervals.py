"""Bar intervals, price adjustments and symbol states, by the names both command lines use.

``parse_interval("5m")`` and ``parse_adjustment("forward")`` give the enum
values of ``idc.v1``; ``interval_name`` and ``adjustment_name`` give the
names back. Go's ``idc.ParseInterval`` and ``idc.ParseAdjustment`` accept the
same names.
"""

from __future__ import annotations

from idc.v1 import bars_pb2, indicator_service_pb2

__all__ = [
    "ADJUSTMENTS",
    "INTERVALS",
    "adjustment_name",
    "interval_name",
    "is_intraday",
    "parse_adjustment",
    "parse_interval",
    "price_adjustment_name",
    "state_name",
]

INTERVALS: dict[str, bars_pb2.Interval.ValueType] = {
    "1m": bars_pb2.INTERVAL_1_MINUTE,
    "5m": bars_pb2.INTERVAL_5_MINUTES,
    "15m": bars_pb2.INTERVAL_15_MINUTES,
    "30m": bars_pb2.INTERVAL_30_MINUTES,
    "1h": bars_pb2.INTERVAL_1_HOUR,
    "1d": bars_pb2.INTERVAL_1_DAY,
    "1w": bars_pb2.INTERVAL_1_WEEK,
    "1mo": bars_pb2.INTERVAL_1_MONTH,
}
"""The short names of the intervals (``--interval``), shortest first."""

ADJUSTMENTS: dict[str, bars_pb2.Adjustment.ValueType] = {
    "as-stored": bars_pb2.ADJUSTMENT_AS_STORED,
    "none": bars_pb2.ADJUSTMENT_NONE,
    "forward": bars_pb2.ADJUSTMENT_FORWARD,
    "backward": bars_pb2.ADJUSTMENT_BACKWARD,
}
"""The short names of the adjustments (``--adjust``): forward is 前复权, backward 后复权."""

_ADJUSTMENT_ALIASES: dict[str, bars_pb2.Adjustment.ValueType] = {
    "qfq": bars_pb2.ADJUSTMENT_FORWARD,
    "hfq": bars_pb2.ADJUSTMENT_BACKWARD,
}

_PRICE_ADJUSTMENTS: dict[int, str] = {
    indicator_service_pb2.PRICE_ADJUSTMENT_NONE: "none",
    indicator_service_pb2.PRICE_ADJUSTMENT_SPLITS: "splits",
    indicator_service_pb2.PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS: "splits+dividends",
    indicator_service_pb2.PRICE_ADJUSTMENT_NOT_NEEDED: "not-needed",
}

_STATES: dict[int, str] = {
    indicator_service_pb2.SYMBOL_STATE_READY: "ready",
    indicator_service_pb2.SYMBOL_STATE_INVALID: "invalid",
}


def parse_interval(interval: str | int | None) -> bars_pb2.Interval.ValueType:
    """The ``idc.v1.Interval`` value of ``interval``.

    Args:
        interval: a short name (``"1m"``, ``"5m"``, ``"15m"``, ``"30m"``,
            ``"1h"``, ``"1d"``, ``"1w"``, ``"1mo"``) or the enum name
            (``"INTERVAL_5_MINUTES"``), case-insensitive, or an enum value;
            ``None`` means unspecified, which the server serves as 1 day.

    Raises:
        ValueError: for any other name or value.
    """
    if interval is None:
        return bars_pb2.INTERVAL_UNSPECIFIED
    if isinstance(interval, int):
        if interval not in bars_pb2.Interval.values():
            raise ValueError(f"unknown interval {interval}")
        return bars_pb2.Interval.ValueType(interval)
    key = interval.strip().lower()
    if key in INTERVALS:
        return INTERVALS[key]
    for value in INTERVALS.values():
        if key == bars_pb2.Interval.Name(value).lower():
            return value
    raise ValueError(f"unknown interval {interval!r}; want one of {', '.join(INTERVALS)}")


def interval_name(interval: int) -> str:
    """The short name of an ``idc.v1.Interval`` value, e.g. ``"5m"``; unspecified is ``"1d"``, as served."""
    if interval == bars_pb2.INTERVAL_UNSPECIFIED:
        return "1d"
    for name, value in INTERVALS.items():
        if value == interval:
            return name
    return str(interval)


def is_intraday(interval: int) -> bool:
    """Whether bars of ``interval`` are shorter than a day, so that their times tell them apart."""
    return bars_pb2.INTERVAL_1_MINUTE <= interval <= bars_pb2.INTERVAL_1_HOUR


def parse_adjustment(adjustment: str | int | None) -> bars_pb2.Adjustment.ValueType:
    """The ``idc.v1.Adjustment`` value of ``adjustment``.

    Args:
        adjustment: ``"as-stored"``, ``"none"``, ``"forward"`` (also
            ``"qfq"``, 前复权) or ``"backward"`` (also ``"hfq"``, 后复权), or the
            enum name (``"ADJUSTMENT_FORWARD"``), case-insensitive, or an enum
            value; ``None`` means unspecified, which the server serves as
            stored.

    Raises:
        ValueError: for any other name or value.
    """
    if adjustment is None:
        return bars_pb2.ADJUSTMENT_UNSPECIFIED
    if isinstance(adjustment, int):
        if adjustment not in bars_pb2.Adjustment.values():
            raise ValueError(f"unknown adjustment {adjustment}")
        return bars_pb2.Adjustment.ValueType(adjustment)
    key = adjustment.strip().lower()
    if key in ADJUSTMENTS:
        return ADJUSTMENTS[key]
    if key in _ADJUSTMENT_ALIASES:
        return _ADJUSTMENT_ALIASES[key]
    for value in ADJUSTMENTS.values():
        if key == bars_pb2.Adjustment.Name(value).lower():
            return value
    raise ValueError(f"unknown adjustment {adjustment!r}; want one of {', '.join(ADJUSTMENTS)}")


def adjustment_name(adjustment: int) -> str:
    """The short name of an ``idc.v1.Adjustment`` value, e.g. ``"forward"``; unspecified is ``"as-stored"``."""
    if adjustment == bars_pb2.ADJUSTMENT_UNSPECIFIED:
        return "as-stored"
    for name, value in ADJUSTMENTS.items():
        if value == adjustment:
            return name
    return str(adjustment)


def price_adjustment_name(price_adjustment: int) -> str:
    """How ``SymbolInfo.price_adjustment`` is shown.

    One of ``"none"``, ``"splits"``, ``"splits+dividends"``, ``"not-needed"``
    and ``"unknown"`` (undeclared).
    """
    return _PRICE_ADJUSTMENTS.get(price_adjustment, "unknown")


def state_name(state: int) -> str:
    """How ``SymbolInfo.state`` is shown: ``"ready"``, ``"invalid"`` or ``"unknown"``."""
    return _STATES.get(state, "unknown")
