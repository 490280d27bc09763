"""Bars of any interval: the rules every series obeys, whether a client sent it or a store holds it, and History.

``check_bars`` (dated bars) and ``check_timed_bars`` (bars with times and
optional adjustment factors) are the one place they are written: inline bars
that break one get INVALID_ARGUMENT, a store's data that breaks one makes its
symbol invalid.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NoReturn, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

# One definition of the columns, shared with the Python client's --bars reader.
from idc_common.columns import BAR_COLUMNS as BAR_COLUMNS
from idc_common.columns import COLUMN_ALIASES as COLUMN_ALIASES
from idc_common.columns import FACTOR_COLUMN as FACTOR_COLUMN

PRICE_COLUMNS = ("open", "high", "low", "close")
DATES = "dates"  # the name of the date column in the rules' messages (Bars.dates)
TIMES = "times"  # the name of the time column (Bars.times)
FACTORS = "adjustment_factors"  # the name of the factor column (Bars.adjustment_factors)

# Finite bounds that keep every indicator and chart of the bars finite: squares
# of prices (variance), sums of 500,000 volumes and axis spans stay far below
# the largest double (1.8e308). Real prices stay well inside (the dearest
# share trades near 1e6) and so do volumes (the busiest tokens near 1e15).
MAX_ABS_PRICE = 1e15
MAX_VOLUME = 1e18

# open or close outside [low, high] by more than this share of the range's
# magnitude is counted as a warning; less is float noise (Yahoo's adjusted
# SPY has 37 such rows, all under 1.4e-14).
INCONSISTENCY_TOLERANCE = 1e-9

EPOCH = date(1970, 1, 1)
FIRST_DAY = (date(1, 1, 1) - EPOCH).days  # the range of Python's date, in days since 1970-01-01
LAST_DAY = (date(9999, 12, 31) - EPOCH).days
DAY_SECONDS = 86_400
# Bar times (seconds since 1970-01-01T00:00:00Z) within the same range of dates, with a day's margin for zones.
FIRST_TIME = (FIRST_DAY + 1) * DAY_SECONDS
LAST_TIME = LAST_DAY * DAY_SECONDS - 1


def day_date(days: int | np.integer) -> date:
    """Days since 1970-01-01 as a date."""
    return EPOCH + timedelta(days=int(days))


class Interval(enum.Enum):
    """The length of every bar of a series (idc.v1.Interval), finest first; the value is how messages name it."""

    ONE_MINUTE = "1 minute"
    FIVE_MINUTES = "5 minutes"
    FIFTEEN_MINUTES = "15 minutes"
    THIRTY_MINUTES = "30 minutes"
    ONE_HOUR = "1 hour"
    ONE_DAY = "1 day"
    ONE_WEEK = "1 week"
    ONE_MONTH = "1 month"

    @property
    def minutes(self) -> int | None:
        """The length in minutes of an intraday interval; None for a day, a week or a month."""
        return _INTRADAY_MINUTES.get(self)

    @property
    def intraday(self) -> bool:
        """Whether bars of this interval are shorter than a trading day."""
        return self in _INTRADAY_MINUTES

    def servable(self) -> tuple[Interval, ...]:
        """The intervals a series stored at this one can be served at: this one and every coarser one."""
        order = list(Interval)
        return tuple(order[order.index(self) :])


_INTRADAY_MINUTES = {
    Interval.ONE_MINUTE: 1,
    Interval.FIVE_MINUTES: 5,
    Interval.FIFTEEN_MINUTES: 15,
    Interval.THIRTY_MINUTES: 30,
    Interval.ONE_HOUR: 60,
}

UTC = "UTC"
DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session of a day, in minutes after local midnight: [open, close)."""

    open: int
    close: int

    def __str__(self) -> str:
        return f"{self.open // 60:02d}:{self.open % 60:02d}-{self.close // 60:02d}:{self.close % 60:02d}"


Sessions = tuple[Session, ...]
ALL_DAY: Sessions = (Session(0, DAY_MINUTES),)  # the default: one session from local midnight to midnight
_SESSION = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")


def parse_sessions(texts: Sequence[str]) -> Sessions:
    """Sessions written as "HH:MM-HH:MM" in local time, e.g. ["09:30-11:30", "13:00-15:00"].

    ValueError unless each opens before it closes, within 00:00-24:00, and
    after the previous one closes.
    """
    sessions: list[Session] = []
    for text in texts:
        match = _SESSION.fullmatch(str(text).strip())
        if match is None:
            raise ValueError(f"session {text!r} is not of the form HH:MM-HH:MM")
        hour, minute, end_hour, end_minute = (int(part) for part in match.groups())
        session = Session(hour * 60 + minute, end_hour * 60 + end_minute)
        if minute > 59 or end_minute > 59 or not 0 <= session.open < session.close <= DAY_MINUTES:
            raise ValueError(f"session {text!r} must open before it closes, within 00:00-24:00")
        if sessions and session.open < sessions[-1].close:
            raise ValueError(f"session {text!r} begins before the session {sessions[-1]} ends")
        sessions.append(session)
    if not sessions:
        raise ValueError("at least one session is required")
    return tuple(sessions)


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError (naming it) if unknown."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError; bad paths are ValueError
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. 'Asia/Shanghai', 'America/New_York')") from None


def local_times(times: npt.NDArray[np.int64], time_zone: str) -> pd.DatetimeIndex:
    """Bar times (seconds since the epoch, UTC) as the exchange's wall-clock times, tz-naive."""
    utc = pd.DatetimeIndex(np.asarray(times, dtype="int64").astype("datetime64[s]"), tz="UTC")
    return utc.tz_convert(zone(time_zone)).tz_localize(None)


def times_of_days(days: npt.NDArray[np.integer], time_zone: str) -> npt.NDArray[np.int64]:
    """00:00 of each day (days since 1970-01-01) in ``time_zone``, as seconds since the epoch.

    A midnight that a clock change skips becomes the first time that exists
    (the day stays the same); one that happens twice is the earlier.
    """
    midnights = np.asarray(days, dtype="int64") * DAY_SECONDS
    if time_zone == UTC:
        return midnights
    naive = pd.DatetimeIndex(midnights.astype("datetime64[s]"))
    local = naive.tz_localize(zone(time_zone), ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
    return np.asarray(local.as_unit("s").asi8, dtype=np.int64)


def days_of_times(times: npt.NDArray[np.int64], time_zone: str) -> npt.NDArray[np.int32]:
    """The exchange's calendar day of each time, as days since 1970-01-01."""
    local = local_times(times, time_zone)
    return np.asarray(local.to_numpy(dtype="datetime64[D]").astype(np.int64), dtype=np.int32)


@dataclass(frozen=True, slots=True)
class BarsIssue:
    """One bar that breaks a rule or looks wrong: its column, its position from 0, and why."""

    column: str  # "dates" or one of BAR_COLUMNS
    row: int
    reason: str


class BarsError(Exception):
    """Bars that break a rule; ``issue`` is the first offending bar."""

    def __init__(self, issue: BarsIssue) -> None:
        super().__init__(issue.column, issue.row, issue.reason)
        self.issue = issue


@dataclass(frozen=True, slots=True)
class BarsCheck:
    """What ``check_bars`` found in bars it accepted: rows served as they are although inconsistent."""

    warning_count: int = 0
    first_warning: BarsIssue | None = None


def check_bars(days: npt.NDArray[np.int64], columns: Mapping[str, npt.NDArray[np.float64]]) -> BarsCheck:
    """Check bars against the rules; BarsError names the first bar that breaks one.

    ``days`` are days since 1970-01-01 and ``columns`` maps each of
    ``BAR_COLUMNS`` to float64 values of the same length. The rules, in the
    order they are checked: every value finite; prices within
    ±``MAX_ABS_PRICE`` and volumes within 0..``MAX_VOLUME``; dates within
    0001-01-01..9999-12-31 and strictly increasing; high >= low. Rows whose
    open or close lies outside [low, high] are real in vendors' data, so they
    are accepted and counted as warnings.
    """
    _check_values(columns)
    outside = np.flatnonzero((days < FIRST_DAY) | (days > LAST_DAY))
    if len(outside):
        at = outside[0]
        _fail(DATES, at, f"{days[at]} is outside 0001-01-01..9999-12-31 ({FIRST_DAY}..{LAST_DAY} days since 1970)")
    backwards = np.flatnonzero(np.diff(days) <= 0)
    if len(backwards):
        at = backwards[0] + 1
        _fail(
            DATES,
            at,
            f"{day_date(days[at])} follows {day_date(days[at - 1])}; dates must be strictly increasing",
        )
    return _check_ranges(columns)


def check_timed_bars(
    times: npt.NDArray[np.int64],
    columns: Mapping[str, npt.NDArray[np.float64]],
    factors: npt.NDArray[np.float64] | None = None,
) -> BarsCheck:
    """``check_bars`` for bars with times (seconds since the epoch, UTC) instead of dates, and optional factors.

    Times are checked where ``check_bars`` checks dates: within
    0001-01-02..9999-12-30 (``FIRST_TIME``..``LAST_TIME``) and strictly
    increasing. Factors, when given, have one value per bar, each finite and
    above 0; they are checked last.
    """
    _check_values(columns)
    outside = np.flatnonzero((times < FIRST_TIME) | (times > LAST_TIME))
    if len(outside):
        at = outside[0]
        _fail(TIMES, at, f"{times[at]} is outside {FIRST_TIME}..{LAST_TIME} seconds since 1970 (years 1-9999)")
    backwards = np.flatnonzero(np.diff(times) <= 0)
    if len(backwards):
        at = backwards[0] + 1
        _fail(
            TIMES,
            at,
            f"{_utc_text(times[at])} follows {_utc_text(times[at - 1])}; times must be strictly increasing",
        )
    check = _check_ranges(columns)
    if factors is not None:
        check_factors(factors, len(times))
    return check


def check_factors(factors: npt.NDArray[np.float64], count: int) -> None:
    """BarsError unless there are ``count`` factors, each finite and above 0."""
    if len(factors) != count:
        _fail(FACTORS, min(len(factors), count), f"{len(factors)} factors for {count} bars")
    bad = np.flatnonzero(~(np.isfinite(factors) & (factors > 0)))
    if len(bad):
        _fail(FACTORS, bad[0], f"{factors[bad[0]]} is not a finite number above 0")


def _utc_text(seconds: int | np.integer) -> str:
    return f"{pd.Timestamp(int(seconds), unit='s'):%Y-%m-%dT%H:%M:%SZ}"


def _check_values(columns: Mapping[str, npt.NDArray[np.float64]]) -> None:
    """Every value finite, prices and volumes within this server's bounds."""
    for name in BAR_COLUMNS:
        values = columns[name]
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            _fail(name, bad[0], f"{values[bad[0]]} is not a finite number")
        lowest, highest = (-MAX_ABS_PRICE, MAX_ABS_PRICE) if name in PRICE_COLUMNS else (0.0, MAX_VOLUME)
        outside = np.flatnonzero((values < lowest) | (values > highest))
        if len(outside):
            at = outside[0]
            kind = "prices" if name in PRICE_COLUMNS else "volumes"
            _fail(name, at, f"{values[at]:g} is outside {lowest:g}..{highest:g}, this server's bound for {kind}")


def _check_ranges(columns: Mapping[str, npt.NDArray[np.float64]]) -> BarsCheck:
    """high >= low, and the count of rows whose open or close lies outside [low, high]."""
    high, low = columns["high"], columns["low"]
    inverted = np.flatnonzero(high < low)
    if len(inverted):
        at = inverted[0]
        _fail("high", at, f"{high[at]} is below low {low[at]}")
    slack = INCONSISTENCY_TOLERANCE * np.maximum(np.abs(high), np.abs(low))
    first: BarsIssue | None = None
    rows = np.zeros(len(high), dtype=bool)
    for name in ("open", "close"):
        values = columns[name]
        below, above = values < low - slack, values > high + slack
        rows |= below | above
        for mask, bound, word in ((below, low, "below low"), (above, high, "above high")):
            hits = np.flatnonzero(mask)
            if len(hits) and (first is None or hits[0] < first.row):
                at = int(hits[0])
                first = BarsIssue(name, at, f"{values[at]} is {word} {bound[at]}")
    return BarsCheck(int(rows.sum()), first)


def _fail(column: str, row: int | np.integer, reason: str) -> NoReturn:
    raise BarsError(BarsIssue(column, int(row), reason))


class History:
    """A whole series of bars: read-only NumPy columns, the bars frame, and what the bars are.

    ``times`` are each bar's start in seconds since the epoch (UTC);
    ``days`` each bar's trading day in ``time_zone`` (days since
    1970-01-01): the day of its time, except for weekly and monthly bars,
    dated by the last trading day they include. ``factors`` are the
    cumulative adjustment factors (Bars.adjustment_factors), or None.
    ``sessions`` are the exchange's trading sessions in local time, which
    intraday resampling respects (``ALL_DAY`` when not declared). The
    frame is indexed by the exchange's wall-clock bar start for intraday
    bars and by ``days`` for the others (tz-naive, named ``date``).

    ``version`` changes whenever the data does: a store file's name and a
    digest of its bytes, or for bars a client sent, a digest of them computed
    on first use. A history derived from another (resampled, adjusted) has a
    version of its own.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        version: str | None = None,
        *,
        time_zone: str = UTC,
        factors: npt.ArrayLike | None = None,
        sessions: Sessions = ALL_DAY,
    ) -> None:
        """Daily bars from a bars frame indexed by date; their times are 00:00 of each day in ``time_zone``."""
        days = frame_days(frame)
        self._init(
            times_of_days(days, time_zone),
            days,
            {name: frame[name].to_numpy(dtype="float64") for name in BAR_COLUMNS},
            interval=Interval.ONE_DAY,
            time_zone=time_zone,
            factors=factors,
            sessions=sessions,
            version=version,
        )
        self.__dict__["frame"] = frame

    @classmethod
    def from_columns(
        cls,
        times: npt.ArrayLike,
        columns: Mapping[str, npt.ArrayLike],
        *,
        interval: Interval,
        time_zone: str,
        factors: npt.ArrayLike | None = None,
        version: str | None,
        days: npt.ArrayLike | None = None,
        sessions: Sessions = ALL_DAY,
    ) -> History:
        """A history of checked columns (see ``check_timed_bars``): what stores and resampling build.

        ``times`` are bar starts in seconds since the epoch (UTC); ``days``
        default to each time's calendar day in ``time_zone`` (give them for
        weekly and monthly bars). The arrays are copied only when they are
        not float64/int64 already, and become read-only.
        """
        history = cls.__new__(cls)
        stamps = np.asarray(times, dtype="int64")
        history._init(
            stamps,
            days_of_times(stamps, time_zone) if days is None else np.asarray(days, dtype=np.int32),
            {name: np.asarray(columns[name], dtype="float64") for name in BAR_COLUMNS},
            interval=interval,
            time_zone=time_zone,
            factors=factors,
            sessions=sessions,
            version=version,
        )
        return history

    def _init(
        self,
        times: npt.NDArray[np.int64],
        days: npt.NDArray[np.int32],
        columns: Mapping[str, npt.NDArray[np.float64]],
        *,
        interval: Interval,
        time_zone: str,
        factors: npt.ArrayLike | None,
        sessions: Sessions,
        version: str | None,
    ) -> None:
        zone(time_zone)  # an unknown name fails here, not on first use
        self.times = _read_only(times)
        self.days = _read_only(days)
        self.columns: dict[str, npt.NDArray[np.float64]] = {
            name: _read_only(values) for name, values in columns.items()
        }
        self.interval = interval
        self.time_zone = time_zone
        self.factors = None if factors is None else _read_only(np.asarray(factors, dtype="float64"))
        self.sessions = sessions
        self._version = version

    def __len__(self) -> int:
        return len(self.times)

    @property
    def size_bytes(self) -> int:
        """The bytes of its columns (what a store's budget counts; a frame built for charts adds about as much)."""
        size = self.times.nbytes + self.days.nbytes + sum(values.nbytes for values in self.columns.values())
        return size + (0 if self.factors is None else self.factors.nbytes)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The bars as a frame (shared: do not mutate); see the class docstring for its index."""
        if self.interval.intraday:
            index = pd.DatetimeIndex(local_times(self.times, self.time_zone).as_unit("us"), name="date")
        else:
            index = pd.DatetimeIndex(self.days.astype("datetime64[D]").astype("datetime64[us]"), name="date")
        return pd.DataFrame(dict(self.columns), index=index)

    @functools.cached_property
    def version(self) -> str:
        """The data version (see the class docstring)."""
        if self._version is not None:
            return self._version
        digest = hashlib.sha256(self.times.tobytes())
        digest.update(self.days.tobytes())
        for name in BAR_COLUMNS:
            digest.update(self.columns[name].tobytes())
        digest.update(f"{self.interval.name}|{self.time_zone}|{self.sessions}".encode())
        if self.factors is not None:
            digest.update(self.factors.tobytes())
        return f"inline:{digest.hexdigest()}"


Array = TypeVar("Array", bound=np.ndarray)


def frame_days(frame: pd.DataFrame) -> npt.NDArray[np.int32]:
    """A bars frame's dates as days since 1970-01-01."""
    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[D]").astype(np.int32)


def _read_only(values: Array) -> Array:
    """``values``, no longer writable: histories are shared by every request."""
    values.setflags(write=False)
    return values
