"""Daily OHLCV bars: loading CSV files and selecting date windows.

A *bars frame* is a ``pandas.DataFrame`` indexed by a tz-naive
``DatetimeIndex`` named ``date`` (one row per trading day, strictly
increasing), with float64 columns ``open, high, low, close, volume``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_common.columns import COLUMN_ALIASES
from idc_server.core.errors import InvalidArgumentError, NotFoundError, shown

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def bundled_data_dir() -> Path:
    """The folder of real daily data shipped with the package (see PROVENANCE.md)."""
    return Path(str(resources.files("idc_server") / "data"))


DATA_SUFFIXES = (".csv", ".parquet")
FIRST_DAY = (date(1, 1, 1) - date(1970, 1, 1)).days  # the range of Python's date, in days since 1970-01-01
LAST_DAY = (date(9999, 12, 31) - date(1970, 1, 1)).days


def read_bars_file(path: Path) -> pd.DataFrame:
    """Read one symbol's CSV or Parquet file into a bars frame.

    Column names are matched case-insensitively through ``COLUMN_ALIASES``,
    in any order; extra columns (``Adj Close``, ``symbol``) are dropped, and a
    time of day (``2006-11-06 15:00:00``) is dropped from the date. A Parquet
    file may keep its dates in the index.
    """
    raw = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    if raw.index.name and COLUMN_ALIASES.get(str(raw.index.name).strip().lower()) == "date":
        raw = raw.reset_index()
    renamed = raw.rename(columns=lambda name: COLUMN_ALIASES.get(str(name).strip().lower(), name))
    missing = [column for column in ("date", *BAR_COLUMNS) if column not in renamed.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}; found {list(raw.columns)}")
    dates = pd.DatetimeIndex(pd.to_datetime(renamed["date"]), name="date").normalize()
    frame = pd.DataFrame(
        {column: renamed[column].to_numpy(dtype="float64") for column in BAR_COLUMNS},
        index=dates,
    )
    if not frame.index.is_monotonic_increasing or not frame.index.is_unique:
        raise ValueError(f"{path.name}: dates must be strictly increasing")
    return frame


def bars_from_columns(
    dates: npt.ArrayLike,
    columns: Mapping[str, npt.ArrayLike],
    *,
    max_bars: int,
) -> pd.DataFrame:
    """Validate a client's bars, sent as columns, and make them a bars frame.

    ``dates`` are days since 1970-01-01; ``columns`` maps each of
    ``BAR_COLUMNS`` to its values. Errors name the column at fault.
    """
    days = np.asarray(dates, dtype="int64")
    count = len(days)
    if count == 0:
        raise InvalidArgumentError("dates", "at least one bar is required")
    if count > max_bars:
        raise InvalidArgumentError("dates", f"{count} bars is more than this server's limit of {max_bars}")
    values: dict[str, np.ndarray] = {}
    for name in BAR_COLUMNS:
        column = np.asarray(columns[name], dtype="float64")
        if len(column) != count:
            raise InvalidArgumentError(name, f"has {len(column)} values but dates has {count}")
        bad = np.flatnonzero(~np.isfinite(column))
        if len(bad):
            raise InvalidArgumentError(name, f"value {column[bad[0]]} at index {bad[0]} is not a finite number")
        values[name] = column
    outside = np.flatnonzero((days < FIRST_DAY) | (days > LAST_DAY))
    if len(outside):
        at = outside[0]
        raise InvalidArgumentError(
            "dates", f"{days[at]} at index {at} is outside 0001-01-01..9999-12-31 ({FIRST_DAY}..{LAST_DAY})"
        )
    backwards = np.flatnonzero(np.diff(days) <= 0)
    if len(backwards):
        at = backwards[0] + 1
        raise InvalidArgumentError(
            "dates", f"must be strictly increasing, but index {at} ({days[at]}) follows {days[at - 1]}"
        )
    inverted = np.flatnonzero(values["high"] < values["low"])
    if len(inverted):
        at = inverted[0]
        raise InvalidArgumentError("high", f"is below low at index {at} ({values['high'][at]} < {values['low'][at]})")
    index = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[us]"), name="date")
    return pd.DataFrame(values, index=index)


class History:
    """A whole series of bars: the bars frame, and the same data as read-only NumPy columns.

    The columns let hot paths slice values without pandas' per-call overhead.
    ``version`` changes whenever the data does: a store file's name, time and
    size, or for bars a client sent, a digest of them computed on first use.
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


@dataclass(frozen=True, slots=True)
class SymbolSummary:
    """What the store holds for one symbol."""

    symbol: str
    first: date
    last: date
    bar_count: int


class BarStore:
    """Daily bars by symbol, from one file per symbol (``SPY.csv`` is ``SPY``).

    Files are CSV or Parquet. Later folders override earlier ones for the
    same symbol. Symbols are matched case-insensitively against the file
    listing, so a request can never name a path outside these folders. Each
    file is read on first use and cached; a file whose modification time or
    size changes is read again, and its data version changes with it.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self._paths: dict[str, Path] = {}
        for folder in folders:
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.suffix.lower() in DATA_SUFFIXES:
                    self._paths[path.stem.upper()] = path
        self._names = {key: path.stem for key, path in self._paths.items()}
        self._histories: dict[str, History] = {}
        self._lock = threading.Lock()

    def symbols(self) -> list[str]:
        """The canonical names of all symbols, sorted."""
        return sorted(self._names.values())

    def canonical(self, symbol: str) -> str:
        """The canonical spelling of ``symbol``; NotFoundError if unknown."""
        try:
            return self._names[symbol.strip().upper()]
        except KeyError:
            known = ", ".join(self.symbols())
            raise NotFoundError("symbol", f"unknown symbol {shown(symbol)}; known: {known}") from None

    def bars(self, symbol: str) -> pd.DataFrame:
        """The whole history of ``symbol`` as a bars frame (shared: do not mutate)."""
        return self.history(symbol).frame

    def history(self, symbol: str) -> History:
        """``symbol``'s whole history, read again when its file has changed since the last call."""
        key = self.canonical(symbol).upper()
        path = self._paths[key]
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFoundError("symbol", f"the data file of {shown(symbol)} is gone") from None
        version = f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}"
        with self._lock:
            cached = self._histories.get(key)
            if cached is None or cached.version != version:
                cached = History(read_bars_file(path), version)
                self._histories[key] = cached
        return cached

    def summaries(self) -> list[SymbolSummary]:
        """Every symbol's date range and bar count, sorted by symbol (reads every file once)."""
        summaries = []
        for symbol in self.symbols():
            frame = self.bars(symbol)
            summaries.append(SymbolSummary(symbol, frame.index[0].date(), frame.index[-1].date(), len(frame)))
        return summaries


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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


def check_window(start: date | None, end: date | None, *, end_field: str = "end_date") -> None:
    """InvalidArgumentError if ``end`` is before ``start``."""
    if start is not None and end is not None and end < start:
        raise InvalidArgumentError(end_field, f"end date {end} is before start date {start}")


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


EPOCH = date(1970, 1, 1)


def epoch_day(day: date) -> int:
    """``day`` as days since 1970-01-01."""
    return (day - EPOCH).days


def day_date(days: int | np.integer) -> date:
    """Days since 1970-01-01 as a date."""
    return EPOCH + timedelta(days=int(days))


def select_window(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """The rows of ``frame`` with start <= date <= end; NotFoundError when there are none."""
    return frame.iloc[window_positions(frame_days(frame), start, end)]
