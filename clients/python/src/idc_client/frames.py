"""Columns of idc messages as DataFrames or rows, and DataFrames as ``Bars``.

The wire format keeps bars and indicator series as parallel packed columns
(see ``idc/v1/bars.proto``), with dates as whole days since 1970-01-01
(19720 is 2023-12-29), and times as seconds since the Unix epoch in an
exchange time zone (``Bars.time_zone``). Frames are indexed by the bars'
start times as a time-zone-aware ``DatetimeIndex`` in that zone, named
``"time"``. Indicator columns start at a ``first_valid_index``:
warm-up bars, where the indicator has no value yet, are not sent. These
helpers convert the columns with NumPy, without a Python loop per bar for
DataFrames, and put NaN on warm-up bars so that every column lines up with
the dates.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc.v1 import bars_pb2, indicator_service_pb2
from idc_client.catalogue import kind_name
from idc_client.indicators import convention_name
from idc_client.intervals import (
    adjustment_name,
    interval_name,
    parse_interval,
    price_adjustment_name,
    state_name,
)

__all__ = [
    "BAR_COLUMNS",
    "COLUMNS",
    "MACD_COLUMNS",
    "MACDRow",
    "bars_frame",
    "bars_message",
    "epoch_days_to_datetime64",
    "indicator_frame",
    "macd_frame",
    "macd_rows",
    "symbols_frame",
    "time_index",
]

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
"""The float64 columns of a bars frame (``bars_frame``, ``bars_message``), in order."""

MACD_COLUMNS: tuple[str, ...] = ("macd", "signal", "histogram")
"""The MACD columns of ``macd_frame``, in order."""

COLUMNS: tuple[str, ...] = BAR_COLUMNS + MACD_COLUMNS
"""The float64 columns of ``macd_frame``, in order."""


class MACDRow(NamedTuple):
    """One bar of a ``GetMACDResponse`` with its MACD values.

    Prices and MACD values are in the instrument's quote currency (or index
    points); volume is in the unit of the data source. On a warm-up bar
    (before the response's ``first_valid_index``, e.g. the first 33 bars of
    a series under the TA-Lib convention with periods 12/26/9) ``macd``,
    ``signal`` and ``histogram`` are NaN (test with ``math.isnan``).
    ``date`` is the trading day (for weekly and monthly bars, the last one
    they include); ``time`` is the bar's start as an aware ``datetime`` in
    the exchange's time zone.
    """

    date: datetime.date
    open: float
    high: float
    low: float
    close: float
    volume: float
    macd: float
    signal: float
    histogram: float
    time: datetime.datetime


def epoch_days_to_datetime64(days: Sequence[int]) -> npt.NDArray[np.datetime64]:
    """Convert whole days since 1970-01-01 to a ``datetime64[D]`` array, vectorised."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def _zone(name: str, message: str) -> str:
    """The IANA time zone ``name`` of a response, ``"UTC"`` for an empty one (a server without time zones).

    Raises:
        ValueError: if the name is not a time zone.
    """
    if not name:
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{message} time_zone {name!r} is not a time zone") from None
    return name


def time_index(
    times: Sequence[int], dates: Sequence[int], time_zone: str, message: str = "response"
) -> pd.DatetimeIndex:
    """The bars' start times as a time-zone-aware ``DatetimeIndex`` named ``"time"``, vectorised.

    ``times`` are seconds since the Unix epoch, one per date; without any
    (a server that predates times) each date's 00:00 in the zone is used.
    An empty ``time_zone`` is UTC.

    Raises:
        ValueError: if ``times`` is neither empty nor one per date, or the
            zone is unknown.
    """
    zone = _zone(time_zone, message)
    if len(times) == len(dates):
        index = pd.to_datetime(np.asarray(times, dtype=np.int64), unit="s", utc=True).tz_convert(zone)
    elif len(times) == 0:
        index = pd.DatetimeIndex(epoch_days_to_datetime64(dates).astype("datetime64[ns]")).tz_localize(zone)
    else:
        raise ValueError(f"{message} has {len(times)} times, want one per date ({len(dates)})")
    return pd.DatetimeIndex(index, name="time")


def _bars_index(bars: bars_pb2.Bars, message: str) -> pd.DatetimeIndex:
    return time_index(bars.times, bars.dates, bars.time_zone, message)


def _set_bar_attrs(frame: pd.DataFrame, interval: int, time_zone: str, adjustment: int) -> None:
    """Record how the bars of ``frame`` were served, in its ``attrs``."""
    frame.attrs["interval"] = interval_name(interval)
    frame.attrs["time_zone"] = time_zone or "UTC"
    frame.attrs["adjustment"] = adjustment_name(adjustment)


def _bar_columns(bars: bars_pb2.Bars, message: str) -> dict[str, npt.NDArray[np.float64]]:
    """The value columns of ``bars`` by name, as float64 arrays, after checking their lengths.

    Raises:
        ValueError: if a column's length differs from the number of dates.
    """
    columns: dict[str, Sequence[float]] = {name: getattr(bars, name) for name in BAR_COLUMNS}
    expected = len(bars.dates)
    mismatched = {name: len(values) for name, values in columns.items() if len(values) != expected}
    if mismatched:
        found = ", ".join(f"{name}={length}" for name, length in mismatched.items())
        raise ValueError(f"{message} columns differ in length: dates={expected}, {found}")
    return {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}


def _check_first_valid_index(message: str, first_valid_index: int, length: int) -> None:
    """Check that ``first_valid_index`` lies in ``0..length``.

    Raises:
        ValueError: if it does not.
    """
    if not 0 <= first_valid_index <= length:
        raise ValueError(f"{message} first_valid_index={first_valid_index} is outside 0..{length} (dates={length})")


def _padded(values: Sequence[float], first_valid_index: int, length: int) -> npt.NDArray[np.float64]:
    """``values`` as a float64 array of ``length``, NaN before ``first_valid_index``."""
    padded = np.full(length, np.nan, dtype=np.float64)
    padded[first_valid_index:] = np.asarray(values, dtype=np.float64)
    return padded


def _macd_columns(response: indicator_service_pb2.GetMACDResponse) -> dict[str, npt.NDArray[np.float64]]:
    """Every column of ``response`` by name (``COLUMNS``), NaN-padded, after checking their lengths.

    Raises:
        ValueError: if a bars column's length differs from the number of
            dates, if ``first_valid_index`` is outside ``0..len(dates)``, or
            if a MACD column does not hold ``len(dates) - first_valid_index``
            values.
    """
    columns = _bar_columns(response.bars, "GetMACDResponse")
    length = len(response.bars.dates)
    first = response.first_valid_index
    _check_first_valid_index("GetMACDResponse", first, length)
    expected = length - first
    indicator: dict[str, Sequence[float]] = {name: getattr(response, name) for name in MACD_COLUMNS}
    mismatched = {name: len(values) for name, values in indicator.items() if len(values) != expected}
    if mismatched:
        found = ", ".join(f"{name}={count}" for name, count in mismatched.items())
        raise ValueError(
            f"GetMACDResponse columns differ in length: dates={length} and first_valid_index={first} "
            f"need {expected} values in each MACD column, got {found}"
        )
    columns.update({name: _padded(values, first, length) for name, values in indicator.items()})
    return columns


def _parameters(response: indicator_service_pb2.GetMACDResponse) -> dict[str, int]:
    """The MACD periods the server used, as ``{"fast": .., "slow": .., "signal": ..}``."""
    parameters = response.parameters
    return {
        "fast": parameters.fast_period,
        "slow": parameters.slow_period,
        "signal": parameters.signal_period,
    }


def macd_frame(response: indicator_service_pb2.GetMACDResponse) -> pd.DataFrame:
    """A DataFrame of the bars and MACD values of ``response``.

    The index is a time-zone-aware ``DatetimeIndex`` named ``"time"``: each
    bar's start in the exchange's time zone (09:30 Asia/Shanghai for the
    first minute bar of a Shanghai session, 00:00 of the trading day for a
    daily bar, of the Monday for a weekly one and of the 1st for a monthly
    one); ``frame.loc["2023-12-29"]`` still selects a day. The columns are
    ``COLUMNS``, all float64;
    ``macd``, ``signal`` and ``histogram`` are NaN on the warm-up bars before
    the response's ``first_valid_index``. ``attrs["symbol"]`` is the
    canonical symbol the server used (``""`` for inline bars),
    ``attrs["parameters"]`` the periods it used, as a dict with keys
    ``fast``, ``slow`` and ``signal``, and ``attrs["convention"]`` the
    convention it used (``"talib"`` or ``"tdx"``, see
    ``idc_client.convention_name``). ``attrs["interval"]`` (e.g. ``"5m"``),
    ``attrs["time_zone"]`` (e.g. ``"Asia/Shanghai"``) and
    ``attrs["adjustment"]`` (e.g. ``"forward"``) say how the bars were
    served. An empty response gives an empty frame with the same index type
    and columns.

    Raises:
        ValueError: if the lengths of the columns of ``response`` disagree
            (see ``GetMACDResponse.first_valid_index``), or its time zone
            is unknown.
    """
    columns = _macd_columns(response)
    frame = pd.DataFrame(columns, index=_bars_index(response.bars, "GetMACDResponse"), columns=list(COLUMNS))
    frame.attrs["symbol"] = response.symbol
    frame.attrs["parameters"] = _parameters(response)
    frame.attrs["convention"] = convention_name(response.convention)
    _set_bar_attrs(frame, response.bars.interval, response.bars.time_zone, response.adjustment)
    return frame


def macd_rows(response: indicator_service_pb2.GetMACDResponse) -> list[MACDRow]:
    """The bars and MACD values of ``response`` as one ``MACDRow`` per bar, in date order.

    Warm-up rows, before the response's ``first_valid_index``, have NaN
    ``macd``, ``signal`` and ``histogram``.

    Raises:
        ValueError: if the lengths of the columns of ``response`` disagree.
    """
    columns = _macd_columns(response)
    dates: list[datetime.date] = epoch_days_to_datetime64(response.bars.dates).tolist()
    times: list[datetime.datetime] = _bars_index(response.bars, "GetMACDResponse").to_pydatetime().tolist()
    values: list[list[float]] = [column.tolist() for column in columns.values()]
    return [MACDRow(*row) for row in zip(dates, *values, times, strict=True)]


def bars_frame(bars: bars_pb2.Bars) -> pd.DataFrame:
    """A DataFrame of a ``Bars`` message: indexed by ``"time"`` (as ``macd_frame``), with the float64 ``BAR_COLUMNS``.

    The inverse of ``bars_message``, e.g. for ``GetMACDResponse.bars``.
    ``attrs["interval"]`` and ``attrs["time_zone"]`` are the message's.

    Raises:
        ValueError: if a column's length differs from the number of dates
            or times, or the time zone is unknown.
    """
    if not bars.dates and bars.times:
        bars = _with_dates_of_times(bars)
    columns = _bar_columns(bars, "Bars")
    frame = pd.DataFrame(columns, index=_bars_index(bars, "Bars"), columns=list(BAR_COLUMNS))
    frame.attrs["interval"] = interval_name(bars.interval)
    frame.attrs["time_zone"] = bars.time_zone or "UTC"
    return frame


def _with_dates_of_times(bars: bars_pb2.Bars) -> bars_pb2.Bars:
    """A copy of inline ``bars`` given only by time, with their local calendar dates filled in."""
    copy = bars_pb2.Bars()
    copy.CopyFrom(bars)
    local = time_index(bars.times, bars.times, bars.time_zone, "Bars").tz_localize(None)
    copy.dates[:] = local.values.astype("datetime64[D]").astype("int64").tolist()
    return copy


def _epoch_days(index: pd.Index) -> npt.NDArray[np.int64]:
    """The dates of ``index`` as whole days since 1970-01-01, vectorised.

    A time-zone aware index gives its local calendar dates; times of day are
    dropped.

    Raises:
        ValueError: if ``index`` does not hold dates, or holds a missing one.
    """
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex):
        dates = index
    else:
        # Numbers would silently parse as nanoseconds since 1970, e.g. a RangeIndex.
        if pd.api.types.is_numeric_dtype(index.dtype) or pd.api.types.is_bool_dtype(index.dtype):
            raise ValueError(
                f"bars must be indexed by dates (a DatetimeIndex, dates or 'YYYY-MM-DD' strings), "
                f"got an index of {index.dtype}"
            )
        try:
            dates = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError) as error:
            raise ValueError(f"bars must be indexed by dates; the index does not parse as dates: {error}") from error
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    if dates.hasnans:
        raise ValueError("bars index holds a missing date (NaT)")
    days: npt.NDArray[np.int64] = dates.values.astype("datetime64[D]").astype("int64")
    return days


def _float_column(frame: pd.DataFrame, name: str) -> list[float]:
    """The column ``name`` of ``frame`` as float64 values, missing ones as NaN.

    Raises:
        ValueError: if the column is missing, repeated or not numeric.
    """
    if name not in frame.columns:
        raise ValueError(f"bars frame has no {name!r} column; it needs {', '.join(BAR_COLUMNS)}")
    column = frame[name]
    if not isinstance(column, pd.Series):
        raise ValueError(f"bars frame has more than one {name!r} column")
    try:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"bars column {name!r} is not numeric: {error}") from error
    floats: list[float] = values.tolist()
    return floats


def bars_message(frame: pd.DataFrame, *, interval: str | int | None = None) -> bars_pb2.Bars:
    """A ``Bars`` message of the bars in ``frame``, to send as inline bars.

    Without ``interval``, the bars are daily and sent by date, as described
    below. With ``interval`` (``"1m"``, ``"5m"``, ... ``"1mo"``, see
    ``idc_client.parse_interval``), they are bars of that length sent by
    time: ``frame`` must then have a time-zone-aware ``DatetimeIndex`` of
    each bar's start (e.g. from ``macd_frame``, or
    ``index.tz_localize("Asia/Shanghai")``), whose zone is sent as the
    exchange's time zone, in which the server reckons sessions, days,
    weeks and months when it aggregates to a coarser interval.

    ``frame`` is indexed by the session dates: a ``DatetimeIndex`` (a time of
    day is dropped; a time-zone aware index gives its local dates), a
    ``PeriodIndex``, or ``datetime.date`` objects or ``"YYYY-MM-DD"``
    strings; the zone of an aware index is sent as the exchange's time
    zone. It has the numeric columns ``open``, ``high``, ``low``,
    ``close`` and ``volume``; other columns are ignored, so a frame from
    ``IdcClient.macd`` can be sent back as is. Missing values become NaN.

    The conversion is vectorised. It does not check what the server checks
    (dates strictly increasing, finite prices, high >= low, at least one
    bar): the server answers INVALID_ARGUMENT naming the column, e.g.
    ``inline_bars.high``.

    Raises:
        ValueError: if the index does not hold dates or holds a missing one,
            if a column is missing, repeated or not numeric, or, with
            ``interval``, if the interval is unknown or the index is not
            time-zone aware.
    """
    if interval is not None:
        return _timed_bars_message(frame, parse_interval(interval))
    days = _epoch_days(frame.index)
    tz = frame.index.tz if isinstance(frame.index, pd.DatetimeIndex) else None
    zone = _zone(_zone_name(tz), "bars index") if tz is not None else "UTC"
    return bars_pb2.Bars(
        # The exchange's days are the index's local dates, in its zone (empty means UTC).
        time_zone="" if zone == "UTC" else zone,
        dates=days.tolist(),
        open=_float_column(frame, "open"),
        high=_float_column(frame, "high"),
        low=_float_column(frame, "low"),
        close=_float_column(frame, "close"),
        volume=_float_column(frame, "volume"),
    )


def _zone_name(tz: datetime.tzinfo) -> str:
    """The IANA name of a pandas index's time zone (zoneinfo, pytz or datetime.timezone.utc)."""
    name = getattr(tz, "key", None) or getattr(tz, "zone", None) or str(tz)
    return "UTC" if name in ("UTC", "utc", "UTC+00:00") else str(name)


def _timed_bars_message(frame: pd.DataFrame, interval: bars_pb2.Interval.ValueType) -> bars_pb2.Bars:
    """A ``Bars`` message of ``frame`` by time, of ``interval`` (see ``bars_message``)."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError(
            "bars with an interval need a time-zone-aware DatetimeIndex of each bar's start, "
            "e.g. frame.index.tz_localize('Asia/Shanghai')"
        )
    if index.hasnans:
        raise ValueError("bars index holds a missing time (NaT)")
    if interval == bars_pb2.INTERVAL_UNSPECIFIED:
        raise ValueError("bars given by time need an interval, e.g. '1m'")
    zone = _zone(_zone_name(index.tz), "bars index")
    seconds = index.tz_convert("UTC").tz_localize(None).values.astype("datetime64[s]").astype("int64")
    return bars_pb2.Bars(
        times=seconds.tolist(),
        open=_float_column(frame, "open"),
        high=_float_column(frame, "high"),
        low=_float_column(frame, "low"),
        close=_float_column(frame, "close"),
        volume=_float_column(frame, "volume"),
        interval=interval,
        time_zone=zone,
    )


def indicator_frame(response: indicator_service_pb2.ComputeIndicatorsResponse) -> pd.DataFrame:
    """A DataFrame of the series of a ``ComputeIndicatorsResponse``.

    The index is a time-zone-aware ``DatetimeIndex`` named ``"time"`` of the
    bars' start times in the exchange's zone, as in ``macd_frame``. There is
    one float64 column per series, named as the series
    (``"<label>"`` or ``"<label>.<output>"``, e.g. ``"sma20"``,
    ``"macd.signal"``), in response order, with NaN on the warm-up bars
    before the series' ``first_valid_index``. ``attrs["symbol"]`` is the
    canonical symbol (``""`` for inline bars), ``attrs["convention"]``
    the convention used (``"talib"`` or ``"tdx"``) and ``attrs["kinds"]``
    what each column's values mean (``Series.kind``): ``"price"``,
    ``"percent"``, ``"ratio"``, ``"volume"``, ``"unitless"`` or
    ``"signal"`` (``"unspecified"`` from a server that does not say);
    ``attrs["interval"]``, ``attrs["time_zone"]`` and
    ``attrs["adjustment"]`` say how the bars were served.

    Raises:
        ValueError: if a series' ``first_valid_index`` is outside
            ``0..len(dates)``, if its values do not number
            ``len(dates) - first_valid_index``, if two series share a name,
            or if the times do not match the dates.
    """
    length = len(response.dates)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for position, series in enumerate(response.series):
        message = f"ComputeIndicatorsResponse series[{position}] {series.name!r}"
        if series.name in columns:
            raise ValueError(f"{message} repeats the name of an earlier series")
        first = series.first_valid_index
        _check_first_valid_index(message, first, length)
        if len(series.values) != length - first:
            raise ValueError(
                f"{message} has {len(series.values)} values, but dates={length} and "
                f"first_valid_index={first} need {length - first}"
            )
        columns[series.name] = _padded(series.values, first, length)
    index = time_index(response.times, response.dates, response.time_zone, "ComputeIndicatorsResponse")
    frame = pd.DataFrame(columns, index=index, columns=list(columns), dtype=np.float64)
    frame.attrs["symbol"] = response.symbol
    frame.attrs["convention"] = convention_name(response.convention)
    frame.attrs["kinds"] = {series.name: kind_name(series.kind) for series in response.series}
    _set_bar_attrs(frame, response.interval, response.time_zone, response.adjustment)
    return frame


def symbols_frame(response: indicator_service_pb2.ListSymbolsResponse) -> pd.DataFrame:
    """A DataFrame of a ``ListSymbolsResponse``, one row per symbol.

    The index holds the canonical symbols, named ``"symbol"``, in response
    order (sorted). The columns are ``first_date`` and ``last_date``
    (datetime64, the first and last trading days; NaT for an invalid
    symbol), ``bar_count`` (int64), and as strings ``state`` (``"ready"``
    or ``"invalid"``), ``price_adjustment`` (how the stored prices are
    adjusted: ``"none"``, ``"splits"``, ``"splits+dividends"``,
    ``"not-needed"`` or ``"unknown"``), ``interval`` (the stored one, e.g.
    ``"1m"``) and ``time_zone``; ``intervals`` and ``adjustments`` hold
    tuples of the names a request may choose. ``attrs["default_symbol"]``
    is the symbol the server uses when a request names none.

    Raises:
        ValueError: if a date is neither empty nor ``"YYYY-MM-DD"``.
    """
    symbols = response.symbols

    def dates(values: list[str]) -> pd.DatetimeIndex:
        # An invalid symbol has no dates: NaT, while any other text must be a date.
        present = pd.to_datetime([value for value in values if value], format="%Y-%m-%d")
        result = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
        result[[bool(value) for value in values]] = present.values
        return pd.DatetimeIndex(result)

    frame = pd.DataFrame(
        {
            "first_date": dates([info.first_date for info in symbols]),
            "last_date": dates([info.last_date for info in symbols]),
            "bar_count": np.asarray([info.bar_count for info in symbols], dtype=np.int64),
            "state": [state_name(info.state) for info in symbols],
            "price_adjustment": [price_adjustment_name(info.price_adjustment) for info in symbols],
            "interval": [interval_name(info.interval) for info in symbols],
            "intervals": [tuple(interval_name(value) for value in info.intervals) for info in symbols],
            "adjustments": [tuple(adjustment_name(value) for value in info.adjustments) for info in symbols],
            "time_zone": [info.time_zone for info in symbols],
        },
        index=pd.Index([info.symbol for info in symbols], name="symbol"),
    )
    frame.attrs["default_symbol"] = response.default_symbol
    return frame
