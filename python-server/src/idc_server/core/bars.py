"""Daily bars: the rules every series obeys, whether a client sent it or a store holds it, and History.

``check_bars`` is the one place they are written: inline bars that break one
get INVALID_ARGUMENT, a data file that breaks one makes its symbol invalid.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NoReturn, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

# One definition of the columns, shared with the Python client's --bars reader.
from idc_common.columns import BAR_COLUMNS as BAR_COLUMNS
from idc_common.columns import COLUMN_ALIASES as COLUMN_ALIASES

PRICE_COLUMNS = ("open", "high", "low", "close")
DATES = "dates"  # the name of the date column in the rules' messages (Bars.dates)

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


def day_date(days: int | np.integer) -> date:
    """Days since 1970-01-01 as a date."""
    return EPOCH + timedelta(days=int(days))


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
    high, low = columns["high"], columns["low"]
    inverted = np.flatnonzero(high < low)
    if len(inverted):
        at = inverted[0]
        _fail("high", at, f"{high[at]} is below low {low[at]}")
    slack = INCONSISTENCY_TOLERANCE * np.maximum(np.abs(high), np.abs(low))
    first: BarsIssue | None = None
    rows = np.zeros(len(days), dtype=bool)
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
    """A whole series of bars: the bars frame, and the same data as read-only NumPy columns.

    The columns let hot paths slice values without pandas' per-call overhead.
    ``version`` changes whenever the data does: a store file's name and a
    digest of its bytes, or for bars a client sent, a digest of them computed
    on first use.
    """

    def __init__(self, frame: pd.DataFrame, version: str | None = None) -> None:
        self.frame = frame
        self.days = _read_only(frame_days(frame))
        self.columns: dict[str, npt.NDArray[np.float64]] = {
            name: _read_only(frame[name].to_numpy(dtype="float64")) for name in BAR_COLUMNS
        }
        self._version = version

    @functools.cached_property
    def version(self) -> str:
        """The data version (see the class docstring)."""
        if self._version is not None:
            return self._version
        digest = hashlib.sha256(self.days.tobytes())
        for name in BAR_COLUMNS:
            digest.update(self.columns[name].tobytes())
        return f"inline:{digest.hexdigest()}"


Array = TypeVar("Array", bound=np.ndarray)


def frame_days(frame: pd.DataFrame) -> npt.NDArray[np.int32]:
    """A bars frame's dates as days since 1970-01-01."""
    return pd.DatetimeIndex(frame.index).to_numpy(dtype="datetime64[D]").astype(np.int32)


def _read_only(values: Array) -> Array:
    """``values``, no longer writable: histories are shared by every request."""
    values.setflags(write=False)
    return values
