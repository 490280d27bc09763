"""OHLCV bars: the store of data files, a client's own bars, and windows of days or date-times.

A *bars frame* is a ``pandas.DataFrame`` indexed by a tz-naive
``DatetimeIndex`` named ``date`` (strictly increasing: trading days, or the
exchange's wall-clock bar starts for intraday bars), with float64 columns
``open, high, low, close, volume``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_server.core.adjustments import Adjustment, available
from idc_server.core.bars import (
    BAR_COLUMNS,
    COLUMN_ALIASES,
    EPOCH,
    UTC,
    BarsError,
    History,
    Interval,
    check_bars,
    check_factors,
    check_timed_bars,
    day_date,
    local_times,
    times_of_days,
    zone,
)
from idc_server.core.data_files import FolderSource
from idc_server.core.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    shown,
)
from idc_server.core.sources import BarSource, Content, Listed, PriceAdjustment

__all__ = [
    "BAR_COLUMNS",
    "COLUMN_ALIASES",
    "BarStore",
    "History",
    "Interval",
    "PriceAdjustment",
    "SymbolSummary",
    "bars_from_columns",
    "day_date",
]


# How many known symbols the NOT_FOUND message of an unknown one lists.
KNOWN_SHOWN = 20


def bundled_data_dir() -> Path:
    """The folder of real daily data shipped with the package (see PROVENANCE.md)."""
    return Path(str(resources.files("idc_server") / "data"))


def bars_from_columns(
    dates: npt.ArrayLike,
    columns: Mapping[str, npt.ArrayLike],
    *,
    max_bars: int,
) -> pd.DataFrame:
    """Validate a client's bars, sent as columns, and make them a bars frame.

    ``dates`` are days since 1970-01-01; ``columns`` maps each of
    ``BAR_COLUMNS`` to its values. They are held to ``check_bars``, as data
    files are; errors name the column at fault and the bar's index.
    """
    days = np.asarray(dates, dtype="int64")
    count = len(days)
    if count == 0:
        raise InvalidArgumentError("dates", "at least one bar is required")
    if count > max_bars:
        raise InvalidArgumentError("dates", f"{count} bars is more than this server's limit of {max_bars}")
    values: dict[str, npt.NDArray[np.float64]] = {}
    for name in BAR_COLUMNS:
        column = np.asarray(columns[name], dtype="float64")
        if len(column) != count:
            raise InvalidArgumentError(name, f"has {len(column)} values but dates has {count}")
        values[name] = column
    try:
        check_bars(days, values)
    except BarsError as error:
        issue = error.issue
        raise InvalidArgumentError(issue.column, f"at index {issue.row}: {issue.reason}") from None
    index = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[us]"), name="date")
    return pd.DataFrame(values, index=index)


def inline_history(
    dates: npt.ArrayLike,
    times: npt.ArrayLike,
    columns: Mapping[str, npt.ArrayLike],
    factors: npt.ArrayLike,
    *,
    interval: Interval | None,
    time_zone: str,
    max_bars: int,
) -> History:
    """Validate a client's bars (Bars: dates or times or both, optional factors) and make them a History.

    Without times, ``dates`` make daily bars as ``bars_from_columns`` does
    (``interval`` must then be None or a day). With times, they are the
    bars' starts and rule: dates may be empty or one per bar and are not
    used, and no interval means a day if dates were given and is an error if
    not. ``time_zone`` "" means UTC.
    Errors are InvalidArgumentError naming the column and the bar's index.
    """
    name = time_zone or UTC
    try:
        zone(name)
    except ValueError as error:
        raise InvalidArgumentError("time_zone", str(error)) from None
    stamps = np.asarray(times, dtype="int64")
    factor_values = np.asarray(factors, dtype="float64")
    if len(stamps) == 0:
        if interval not in (None, Interval.ONE_DAY):
            raise InvalidArgumentError("times", f"bars at {interval.value} need times; dates alone are daily bars")
        frame = bars_from_columns(dates, columns, max_bars=max_bars)
        count = len(frame)
        if len(factor_values) and len(factor_values) != count:
            raise InvalidArgumentError("adjustment_factors", f"has {len(factor_values)} values but dates has {count}")
        if len(factor_values):
            try:
                check_factors(factor_values, count)
            except BarsError as error:
                raise InvalidArgumentError(
                    error.issue.column, f"at index {error.issue.row}: {error.issue.reason}"
                ) from None
        return History(frame, time_zone=name, factors=factor_values if len(factor_values) else None)
    count = len(stamps)
    given_dates = len(np.asarray(dates))
    if given_dates not in (0, count):
        raise InvalidArgumentError("dates", f"has {given_dates} values but times has {count} (or leave it empty)")
    if interval is None:
        if not given_dates:
            raise InvalidArgumentError("interval", "bars given by times alone need an interval")
        interval = Interval.ONE_DAY
    if count > max_bars:
        raise InvalidArgumentError("times", f"{count} bars is more than this server's limit of {max_bars}")
    values: dict[str, npt.NDArray[np.float64]] = {}
    for column in BAR_COLUMNS:
        values[column] = np.asarray(columns[column], dtype="float64")
        if len(values[column]) != count:
            raise InvalidArgumentError(column, f"has {len(values[column])} values but times has {count}")
    _check_inline(stamps, values, factor_values if len(factor_values) else None)
    return History.from_columns(
        stamps,
        values,
        interval=interval,
        time_zone=name,
        factors=factor_values if len(factor_values) else None,
        version=None,
    )


def _check_inline(
    times: npt.NDArray[np.int64],
    columns: Mapping[str, npt.NDArray[np.float64]],
    factors: npt.NDArray[np.float64] | None,
) -> None:
    try:
        check_timed_bars(times, columns, factors)
    except BarsError as error:
        issue = error.issue
        raise InvalidArgumentError(issue.column, f"at index {issue.row}: {issue.reason}") from None


class SymbolState(enum.Enum):
    """Whether a symbol's data can be served."""

    READY = "ready"
    INVALID = "invalid"  # its data breaks a rule of check_bars, or cannot be read; requests get FAILED_PRECONDITION


@dataclass(frozen=True, slots=True)
class SymbolSummary:
    """What the store holds for one symbol; dates and count are None and 0 when it is invalid."""

    symbol: str
    first: date | None
    last: date | None
    bar_count: int
    state: SymbolState = SymbolState.READY
    problem: str = ""  # why it is INVALID, naming the file, line or row, and column
    warning_count: int = 0  # bars served although open or close lies outside [low, high]
    first_warning: str = ""
    price_adjustment: PriceAdjustment | None = None  # None: not declared
    interval: Interval = Interval.ONE_DAY  # the stored interval
    time_zone: str = UTC
    adjustments: tuple[Adjustment, ...] = (Adjustment.AS_STORED,)  # what a request may choose


class BarStore:
    """Daily bars by symbol, from sources: folders of data files (``FolderSource``) or other store kinds.

    Later sources override earlier ones for the same symbol. Symbols are
    matched case-insensitively against the sources' listings, so a request
    can never name a path outside them. The sources are listed again when a
    lookup or a listing comes ``relist_seconds`` after the last, so symbols
    added or deleted while the server runs are seen, and new ones are
    checked when listed. A symbol whose data breaks a rule of ``check_bars``
    is INVALID while every other symbol is served.
    """

    def __init__(
        self,
        sources: Iterable[Path | BarSource],
        *,
        relist_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = tuple(FolderSource(source) if isinstance(source, Path) else source for source in sources)
        self._relist_seconds = relist_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._listed: dict[str, tuple[BarSource, Listed]] = {}  # by upper-cased symbol
        self._listed_at = -float("inf")
        self._relist(force=True)

    def symbols(self) -> list[str]:
        """The canonical names of all symbols, sorted."""
        self._relist()
        return sorted(listed.symbol for _, listed in self._listed.values())

    def canonical(self, symbol: str) -> str:
        """The canonical spelling of ``symbol``; NotFoundError if unknown."""
        self._relist()
        try:
            return self._listed[symbol.strip().upper()][1].symbol
        except KeyError:
            symbols = self.symbols()
            known = ", ".join(symbols[:KNOWN_SHOWN])
            more = (
                f" and {len(symbols) - KNOWN_SHOWN} more (ListSymbols lists them)" if len(symbols) > KNOWN_SHOWN else ""
            )
            raise NotFoundError("symbol", f"unknown symbol {shown(symbol)}; known: {known}{more}") from None

    def price_adjustment(self, symbol: str) -> PriceAdjustment | None:
        """How ``symbol``'s stored prices are adjusted, as declared (None: not declared); NotFoundError if unknown."""
        return self._listed[self.canonical(symbol).upper()][1].adjustment

    def bars(self, symbol: str) -> pd.DataFrame:
        """The whole history of ``symbol`` as a bars frame (shared: do not mutate)."""
        return self.history(symbol).frame

    def history(self, symbol: str) -> History:
        """``symbol``'s whole history, read again when its data has changed since the last call.

        NotFoundError if the symbol is unknown or its data was deleted;
        FailedPreconditionError naming the symbol, its file and the problem
        if the data cannot be served; UnavailableError if its store cannot be
        read now (a database down).
        """
        name = self.canonical(symbol)
        found = self._content(name.upper())
        if found is None:
            self._listed_at = -float("inf")  # list again on the next lookup
            raise NotFoundError("symbol", f"the data of {shown(name)} was deleted from its store")
        listed, content = found
        if content.history is None:
            error = UnavailableError if content.unavailable else FailedPreconditionError
            raise error("symbol", f"{shown(name)} cannot be served: {listed.origin}: {content.problem}")
        return content.history

    def summaries(self) -> list[SymbolSummary]:
        """Every symbol's state, date range and bar count, sorted by symbol (checks every changed file)."""
        return self.page("", "", len(self._listed) + 1)[0]

    def page(self, prefix: str, after: str, size: int) -> tuple[list[SymbolSummary], bool]:
        """Up to ``size`` symbols that start with ``prefix`` (case-insensitive) and sort after ``after``.

        Sorted by symbol; the flag says whether more follow. Only the page's
        symbols are read, so a store of 10,000 answers a page of 100 quickly.
        """
        upper = prefix.upper()
        names = [name for name in self.symbols() if name.upper().startswith(upper) and name > after]
        by_source: dict[int, tuple[BarSource, list[str]]] = {}
        for name in names[: size + 1]:
            if (entry := self._listed.get(name.upper())) is not None:
                by_source.setdefault(id(entry[0]), (entry[0], []))[1].append(name.upper())
        for source, keys in by_source.values():
            source.prefetch(keys)
        summaries: list[SymbolSummary] = []
        for name in names:
            if len(summaries) == size:
                return summaries, True
            summary = self._summary(name)
            if summary is not None:  # else deleted since the listing
                summaries.append(summary)
        return summaries, False

    def _summary(self, name: str) -> SymbolSummary | None:
        found = self._content(name.upper())
        if found is None:
            return None
        listed, content = found
        history = content.history
        profile = listed.profile
        if history is None:
            problem = f"{listed.origin}: {content.problem}"
            summary = SymbolSummary(
                name,
                None,
                None,
                0,
                SymbolState.INVALID,
                problem,
                interval=profile.interval,
                time_zone=profile.time_zone,
            )
        else:
            summary = SymbolSummary(
                name,
                day_date(history.days[0]),
                day_date(history.days[-1]),
                len(history.days),
                warning_count=content.warning_count,
                first_warning=f"{listed.origin}: {content.first_warning}" if content.first_warning else "",
                interval=history.interval,
                time_zone=history.time_zone,
                adjustments=available(history.factors is not None, listed.adjustment),
            )
        return dataclasses.replace(summary, price_adjustment=listed.adjustment)

    def close(self) -> None:
        """Close every source (their database connections); the store reopens them if used again."""
        for source in self._sources:
            source.close()

    def _content(self, key: str) -> tuple[Listed, Content] | None:
        entry = self._listed.get(key)
        if entry is None:
            return None
        source, listed = entry
        content = source.content(key)
        return None if content is None else (listed, content)

    def _relist(self, *, force: bool = False) -> None:
        """List the sources again if the last listing is older than ``relist_seconds``; check new symbols."""
        now = self._clock()
        if not force and now - self._listed_at < self._relist_seconds:
            return
        with self._lock:
            if not force and now - self._listed_at < self._relist_seconds:
                return
            merged: dict[str, tuple[BarSource, Listed]] = {}
            for source in self._sources:
                merged.update((key, (source, listed)) for key, listed in source.listing().items())
            fresh = [key for key, entry in merged.items() if self._listed.get(key) != entry]
            self._listed = merged
            self._listed_at = self._clock()
        for key in fresh:
            if merged[key][0].checks_when_listed:
                self._content(key)


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")

# A window bound: a day, or a wall-clock time in the exchange's zone (tz-naive).
Bound = date | datetime


def parse_date(field: str, text: str) -> date | None:
    """Parse an ISO ``YYYY-MM-DD`` date, and only that form; empty means None (no bound)."""
    if not text:
        return None
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(field, f"{shown(text)} is not a calendar date in YYYY-MM-DD form") from None


def parse_bound(field: str, text: str) -> Bound | None:
    """A window bound: "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS]" in the exchange's zone; empty means None."""
    if not text or ISO_DATE.fullmatch(text):
        return parse_date(field, text)
    try:
        if not ISO_TIME.fullmatch(text):
            raise ValueError(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(
            field, f"{shown(text)} is neither a date (YYYY-MM-DD) nor a time (YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS)"
        ) from None


def _instant(bound: Bound, *, end: bool) -> datetime:
    """A bound as a wall-clock time for comparing bounds: a day's start, or for an end, its last moment."""
    if isinstance(bound, datetime):
        return bound
    return datetime.combine(bound, datetime.max.time() if end else datetime.min.time())


def check_window(start: Bound | None, end: Bound | None, *, end_field: str = "end_date") -> None:
    """InvalidArgumentError if ``end`` is before ``start``."""
    if start is not None and end is not None and _instant(end, end=True) < _instant(start, end=False):
        what = "time" if isinstance(end, datetime) or isinstance(start, datetime) else "date"
        raise InvalidArgumentError(end_field, f"end {what} {end} is before start {what} {start}")


def window_positions(days: npt.NDArray[np.int32], start: date | None, end: date | None) -> slice:
    """The positions of the ``days`` (days since 1970-01-01, increasing) with start <= day <= end.

    Either bound may be None. Raises NotFoundError when the window holds no bars.
    """
    check_window(start, end)
    lo = 0 if start is None else int(np.searchsorted(days, epoch_day(start), side="left"))
    hi = len(days) if end is None else int(np.searchsorted(days, epoch_day(end), side="right"))
    if lo >= hi:
        first, last = (day_date(days[0]), day_date(days[-1])) if len(days) else ("-", "-")
        raise NotFoundError(
            "start_date",
            f"no bars between {start or 'the start'} and {end or 'the end'}; data covers {first} to {last}",
        )
    return slice(lo, hi)


def history_window(history: History, start: Bound | None, end: Bound | None) -> slice:
    """The positions of ``history``'s bars in the window, as GetMACDRequest.start_date/end_date define it.

    A start day means its 00:00 in the exchange's zone and a start time that
    time: bars whose time (their start) is at or after it. An end day means
    every bar whose trading day (``History.days``) is at or before it, an end
    time every bar whose time is at or before it. NotFoundError when the
    window holds no bars.
    """
    check_window(start, end)
    times, days = history.times, history.days
    lo, hi = 0, len(times)
    if start is not None:
        first = _utc_seconds(start, history.time_zone)
        lo = int(np.searchsorted(times, first, side="left"))
    if isinstance(end, datetime):
        hi = int(np.searchsorted(times, _utc_seconds(end, history.time_zone), side="right"))
    elif end is not None:
        hi = int(np.searchsorted(days, epoch_day(end), side="right"))
    if lo >= hi:
        if len(times) and history.interval.intraday:
            stamps = local_times(history.times[[0, -1]], history.time_zone)
            first_bar, last_bar = (f"{stamp:%Y-%m-%dT%H:%M}" for stamp in stamps)
        else:
            first_bar, last_bar = (str(day_date(days[0])), str(day_date(days[-1]))) if len(days) else ("-", "-")
        raise NotFoundError(
            "start_date",
            f"no bars between {start or 'the start'} and {end or 'the end'}; data covers {first_bar} to {last_bar}",
        )
    return slice(lo, hi)


@functools.lru_cache(maxsize=4096)
def _utc_seconds(bound: Bound, time_zone: str) -> int:
    """A start day's 00:00 or a wall-clock time in ``time_zone``, as seconds since the epoch.

    A time a clock change skips counts as the first time after it; one it
    repeats, as the earlier. Cached: requests repeat their windows' bounds,
    and pandas takes a quarter of a millisecond to localize one.
    """
    if not isinstance(bound, datetime):
        return int(times_of_days(np.array([epoch_day(bound)]), time_zone)[0])
    stamp = pd.Timestamp(bound).tz_localize(zone(time_zone), ambiguous=True, nonexistent="shift_forward")
    return int(stamp.timestamp())


def epoch_day(day: date) -> int:
    """``day`` as days since 1970-01-01."""
    return (day - EPOCH).days
