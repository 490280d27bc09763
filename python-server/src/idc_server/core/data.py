"""Daily OHLCV bars: loading CSV files and selecting date windows.

A *bars frame* is a ``pandas.DataFrame`` indexed by a tz-naive
``DatetimeIndex`` named ``date`` (one row per trading day, strictly
increasing), with float64 columns ``open, high, low, close, volume``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import date
from importlib import resources
from pathlib import Path

import pandas as pd

from idc_server.core.errors import InvalidArgumentError, NotFoundError

BAR_COLUMNS = ("open", "high", "low", "close", "volume")

# Lower-cased source column names that mean one of ours; any column order.
COLUMN_ALIASES: Mapping[str, str] = {
    "date": "date",
    "dt": "date",
    "datetime": "date",
    "time": "date",
    "trade_date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "volume": "volume",
    "vol": "volume",
}


def bundled_data_dir() -> Path:
    """The folder of real daily data shipped with the package (see PROVENANCE.md)."""
    return Path(str(resources.files("idc_server") / "data"))


def read_bars_csv(path: Path) -> pd.DataFrame:
    """Read one symbol's CSV file into a bars frame.

    Column names are matched case-insensitively through ``COLUMN_ALIASES``;
    extra columns (``Adj Close``, ``symbol``) are dropped, and a time of day
    (``2006-11-06 15:00:00``) is dropped from the date.
    """
    raw = pd.read_csv(path)
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


class BarStore:
    """Daily bars by symbol, from one file per symbol (``SPY.csv`` is ``SPY``).

    Later folders override earlier ones for the same symbol. Symbols are
    matched case-insensitively against the file listing, so a request can
    never name a path outside these folders. Each file is read once, on
    first use, and cached.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        self._paths: dict[str, Path] = {}
        for folder in folders:
            for path in sorted(folder.glob("*.csv")):
                self._paths[path.stem.upper()] = path
        self._names = {key: path.stem for key, path in self._paths.items()}
        self._frames: dict[str, pd.DataFrame] = {}
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
            raise NotFoundError("symbol", f"unknown symbol {symbol!r}; known: {known}") from None

    def bars(self, symbol: str) -> pd.DataFrame:
        """The whole history of ``symbol`` as a bars frame (shared: do not mutate)."""
        key = self.canonical(symbol).upper()
        with self._lock:
            frame = self._frames.get(key)
            if frame is None:
                frame = read_bars_csv(self._paths[key])
                self._frames[key] = frame
        return frame


def parse_date(field: str, text: str) -> date | None:
    """Parse an ISO ``YYYY-MM-DD`` date; empty means None (no bound)."""
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgumentError(field, f"{text!r} is not a calendar date in YYYY-MM-DD form") from None


def check_window(start: date | None, end: date | None, *, end_field: str = "end_date") -> None:
    """InvalidArgumentError if ``end`` is before ``start``."""
    if start is not None and end is not None and end < start:
        raise InvalidArgumentError(end_field, f"end date {end} is before start date {start}")


def select_window(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    """The rows of ``frame`` with start <= date <= end (either bound may be None).

    Raises NotFoundError when the window holds no bars.
    """
    check_window(start, end)
    lo = 0 if start is None else frame.index.searchsorted(pd.Timestamp(start), side="left")
    hi = len(frame) if end is None else frame.index.searchsorted(pd.Timestamp(end), side="right")
    if lo >= hi:
        first, last = (frame.index[0].date(), frame.index[-1].date()) if len(frame) else ("-", "-")
        raise NotFoundError(
            "start_date",
            f"no bars between {start or 'the start'} and {end or 'the end'}; data covers {first} to {last}",
        )
    return frame.iloc[lo:hi]
