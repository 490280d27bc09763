"""Daily OHLCV bars: the store of data files, a client's own bars, and date windows.

A *bars frame* is a ``pandas.DataFrame`` indexed by a tz-naive
``DatetimeIndex`` named ``date`` (one row per trading day, strictly
increasing), with float64 columns ``open, high, low, close, volume``.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_server.core.bars import BAR_COLUMNS, COLUMN_ALIASES, EPOCH, BarsError, check_bars, day_date
from idc_server.core.data_files import FILE_FORMATS, DataFileError, read_data_file
from idc_server.core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, shown

__all__ = ["BAR_COLUMNS", "COLUMN_ALIASES", "BarStore", "History", "SymbolSummary", "bars_from_columns", "day_date"]

log = logging.getLogger(__name__)


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


class SymbolState(enum.Enum):
    """Whether a symbol's data can be served."""

    READY = "ready"
    INVALID = "invalid"  # its file breaks a rule of check_bars, or cannot be read; requests get FAILED_PRECONDITION


class PriceAdjustment(enum.Enum):
    """How a symbol's stored prices relate to the prices traded on the day, as declared in a folder's symbols.toml."""

    NONE = "none"  # as traded
    SPLITS = "splits"  # split-adjusted only
    SPLITS_AND_DIVIDENDS = "splits_and_dividends"  # split- and dividend-adjusted
    NOT_NEEDED = "not_needed"  # nothing to adjust for, e.g. a price index


# A folder's declaration of its symbols' price adjustments: a TOML table per
# symbol, e.g. ``[SPY]`` ``price_adjustment = "splits_and_dividends"``.
MANIFEST = "symbols.toml"


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


Signature = tuple[int, int, int, int]  # inode, size, mtime and ctime in ns


@dataclass(frozen=True, slots=True)
class _Content:
    """What one version of a file holds: its history, or the problem that keeps it from being served."""

    history: History | None
    problem: str = ""  # where and why, e.g. "line 7, column Close: 'n/a' is not a number"
    warning_count: int = 0
    first_warning: str = ""


@dataclass
class _Entry:
    """One symbol's file and what was last read from it (``content`` is replaced whole, never changed)."""

    path: Path
    adjustment: PriceAdjustment | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    signature: Signature | None = None
    settled: bool = False  # the signature was taken when the file's timestamps were old enough to trust
    digest: bytes = b""
    content: _Content | None = None

    @property
    def name(self) -> str:
        """The file's name relative to its folder: all a message may show of its path."""
        return self.path.name


# A file whose timestamps are younger than this when its signature is taken
# may change again within the same timestamp tick (file systems keep coarse
# times), so its content is hashed on every use until it is older.
SETTLE_NS = 2_000_000_000


class BarStore:
    """Daily bars by symbol, from one file per symbol (``SPY.csv`` is ``SPY``).

    Files are CSV or Parquet (``FILE_FORMATS``). Later folders override
    earlier ones for the same symbol. Symbols are matched case-insensitively
    against the file listing, so a request can never name a path outside
    these folders. The folders are listed again when a lookup or a listing
    comes ``relist_seconds`` after the last, so files added or deleted while
    the server runs are seen.

    Every file is read and held to ``check_bars`` when first listed and again
    whenever its content changes: its stat signature (inode, size, mtime,
    ctime) is compared on every use, and its bytes are hashed when the
    signature changed or is too young to trust (``SETTLE_NS``), so a file
    rewritten with the same size and mtime is read again. A file that fails
    makes its symbol INVALID, logged once per content, while every other
    symbol is served.
    """

    def __init__(
        self,
        folders: Iterable[Path],
        *,
        relist_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._folders = tuple(folders)
        self._relist_seconds = relist_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}  # by upper-cased symbol
        self._names: dict[str, str] = {}  # upper-cased symbol -> canonical spelling (the file's stem)
        self._listed_at = -float("inf")
        self._logged: dict[str, str] = {}  # folder manifest -> the problem last logged for it
        self._relist(force=True)

    def symbols(self) -> list[str]:
        """The canonical names of all symbols, sorted."""
        self._relist()
        return sorted(self._names.values())

    def canonical(self, symbol: str) -> str:
        """The canonical spelling of ``symbol``; NotFoundError if unknown."""
        self._relist()
        try:
            return self._names[symbol.strip().upper()]
        except KeyError:
            known = ", ".join(self.symbols())
            raise NotFoundError("symbol", f"unknown symbol {shown(symbol)}; known: {known}") from None

    def bars(self, symbol: str) -> pd.DataFrame:
        """The whole history of ``symbol`` as a bars frame (shared: do not mutate)."""
        return self.history(symbol).frame

    def history(self, symbol: str) -> History:
        """``symbol``'s whole history, read again when its file has changed since the last call.

        NotFoundError if the symbol is unknown or its file was deleted;
        FailedPreconditionError naming the symbol, file and problem if the
        file cannot be served.
        """
        name = self.canonical(symbol)
        entry = self._entries.get(name.upper())
        content = None if entry is None else self._refresh(name, entry)
        if entry is None or content is None:
            self._listed_at = -float("inf")  # list again on the next lookup
            raise NotFoundError("symbol", f"the data file of {shown(name)} was deleted")
        if content.history is None:
            raise FailedPreconditionError("symbol", f"{shown(name)} cannot be served: {entry.name}: {content.problem}")
        return content.history

    def summaries(self) -> list[SymbolSummary]:
        """Every symbol's state, date range and bar count, sorted by symbol (checks every file)."""
        summaries = []
        for name in self.symbols():
            entry = self._entries.get(name.upper())
            content = None if entry is None else self._refresh(name, entry)
            if entry is None or content is None:
                continue  # deleted since the listing
            history = content.history
            if history is None:
                summary = SymbolSummary(
                    name,
                    None,
                    None,
                    0,
                    SymbolState.INVALID,
                    f"{entry.name}: {content.problem}",
                    price_adjustment=entry.adjustment,
                )
            else:
                summary = SymbolSummary(
                    name,
                    day_date(history.days[0]),
                    day_date(history.days[-1]),
                    len(history.days),
                    warning_count=content.warning_count,
                    first_warning=f"{entry.name}: {content.first_warning}" if content.first_warning else "",
                    price_adjustment=entry.adjustment,
                )
            summaries.append(summary)
        return summaries

    def _relist(self, *, force: bool = False) -> None:
        """List the folders again if the last listing is older than ``relist_seconds``; check new files."""
        now = self._clock()
        if not force and now - self._listed_at < self._relist_seconds:
            return
        with self._lock:
            if not force and now - self._listed_at < self._relist_seconds:
                return
            paths: dict[str, tuple[Path, PriceAdjustment | None]] = {}
            for folder in self._folders:
                adjustments = self._manifest(folder)
                try:
                    listing = sorted(folder.iterdir())
                except OSError as error:
                    log.warning("data folder %s cannot be listed: %s", folder, error.strerror)
                    continue
                for path in listing:
                    if path.suffix.lower() in FILE_FORMATS and path.is_file():
                        paths[path.stem.upper()] = (path, adjustments.get(path.stem.upper()))
            entries = {}
            for key, (path, adjustment) in paths.items():
                entry = self._entries.get(key)
                if entry is None or entry.path != path:
                    entry = _Entry(path, adjustment)
                entry.adjustment = adjustment
                entries[key] = entry
            fresh = [(path.stem, entries[key]) for key, (path, _) in paths.items() if entries[key].content is None]
            self._entries = entries
            self._names = {key: path.stem for key, (path, _) in paths.items()}
            self._listed_at = self._clock()
        for name, entry in fresh:
            self._refresh(name, entry)

    def _manifest(self, folder: Path) -> dict[str, PriceAdjustment]:
        """The price adjustments a folder's symbols.toml declares, by upper-cased symbol; problems are logged once."""
        path = folder / MANIFEST
        try:
            declared = tomllib.loads(path.read_text(encoding="utf-8"))
            adjustments = {
                str(symbol).upper(): PriceAdjustment(table["price_adjustment"]) for symbol, table in declared.items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, KeyError, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"
            if self._logged.get(str(path)) != problem:
                self._logged[str(path)] = problem
                expected = ", ".join(repr(member.value) for member in PriceAdjustment)
                log.warning(
                    "%s in data folder %s is ignored: %s (expected a table per symbol with price_adjustment one of %s)",
                    MANIFEST,
                    folder,
                    problem,
                    expected,
                )
            return {}
        return adjustments

    def _refresh(self, name: str, entry: _Entry) -> _Content | None:
        """``entry``'s content, read again if the file may have changed; None if the file is gone."""
        try:
            stat = os.stat(entry.path)
        except FileNotFoundError:
            return None
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        content = entry.content
        if content is not None and entry.signature == signature and entry.settled:
            return content
        with entry.lock:
            if entry.content is not None and entry.signature == signature and entry.settled:
                return entry.content
            settled = time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > SETTLE_NS
            try:
                data = entry.path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as error:
                data, problem = b"", f"cannot be read: {error.strerror}"
            else:
                problem = ""
            digest = hashlib.blake2b(data, digest_size=16).digest()
            if entry.content is None or digest != entry.digest or (problem and problem != entry.content.problem):
                entry.content = self._load(name, entry.path, digest, data, problem)
            entry.signature, entry.settled, entry.digest = signature, settled, digest
            return entry.content

    @staticmethod
    def _load(name: str, path: Path, digest: bytes, data: bytes, problem: str) -> _Content:
        """Check a file's new content; log what was found (once per content)."""
        content = _Content(None, problem)
        if not problem:
            try:
                bars = read_data_file(path.suffix, data)
            except DataFileError as error:
                content = _Content(None, str(error))
            else:
                history = History(bars.frame, f"{path.name}:{digest.hex()}")
                content = _Content(history, "", bars.warning_count, bars.first_warning)
        if content.problem:
            log.warning("data file %s is refused, so symbol %s cannot be served: %s", path.name, name, content.problem)
        elif content.warning_count:
            log.warning(
                "data file %s: serving %d bars whose open or close lies outside [low, high]; the first: %s",
                path.name,
                content.warning_count,
                content.first_warning,
            )
        return content


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


def epoch_day(day: date) -> int:
    """``day`` as days since 1970-01-01."""
    return (day - EPOCH).days
