"""Data files: one symbol's bars in a CSV or Parquet file, read and checked; a folder of them as a store.

A file is read from its bytes (so that what is checked is what was hashed),
its columns are matched by name through ``COLUMN_ALIASES``, and its bars are
held to ``check_bars``, the rules of inline bars. Anything wrong becomes a
``DataFileError`` whose message names the line (CSV) or row (Parquet) and the
file's own column name, and never a server path.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from idc_server.core.bars import (
    BAR_COLUMNS,
    COLUMN_ALIASES,
    DATES,
    FACTOR_COLUMN,
    FACTORS,
    TIMES,
    BarsError,
    History,
    Interval,
    check_bars,
    check_factors,
    check_timed_bars,
    parse_sessions,
    times_of_days,
    zone,
)
from idc_server.core.errors import shown
from idc_server.core.sources import DEFAULT_PROFILE, BarTime, Content, Listed, PriceAdjustment, SymbolProfile

log = logging.getLogger(__name__)


class DataFileError(Exception):
    """A data file that cannot be served; the message says where and why, without the file's name."""


@dataclass(frozen=True, slots=True)
class Table:
    """A file's cells as read, before any checks, and how to name a row of it in a message."""

    frame: pd.DataFrame  # every column as the file has it; the index may hold the dates (Parquet)
    number: Callable[[int], int]  # the line or row number of row i of ``frame`` (only called for messages)
    row_word: str  # "line" or "row"


@dataclass(frozen=True, slots=True)
class FileFormat:
    """One kind of data file: its suffix and how to turn its bytes into a Table."""

    suffix: str
    read: Callable[[bytes], Table]


# Cells that mean "no number"; they read as NaN, which check_bars refuses. An
# empty cell is not among them, so that it can be reported as missing.
_NAN_CELLS = ("nan", "NaN", "NAN", "-nan", "-NaN", "NA", "N/A", "n/a", "null", "NULL", "None", "#N/A")


def _read_csv(data: bytes) -> Table:
    """A CSV file's cells, numbers parsed where a whole column is numbers; line numbers count the header as line 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        raise DataFileError(
            f"line {line}, character {column}: byte 0x{byte:02x} is not UTF-8 text (save the file as UTF-8)"
        ) from None
    if not text.strip():
        raise DataFileError("the file is empty")
    try:
        # A column with a cell that is not a number stays text, for _numbers to name the cell.
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=_NAN_CELLS)
    except (ValueError, pd.errors.ParserError) as error:
        raise DataFileError(f"not a CSV file pandas can read: {_first_line(error)}") from None

    @functools.cache
    def lines() -> npt.NDArray[np.int64]:
        """The line number of each row: pandas skips blank lines, and so does this."""
        filled = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        return np.asarray(filled[1:], dtype=np.int64)  # the first is the header

    return Table(frame, lambda row: int(lines()[row]), "line")


def _read_parquet(data: bytes) -> Table:
    """A Parquet file's columns; rows are numbered from 1."""
    if not data:
        raise DataFileError("the file is empty")
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as error:  # pyarrow raises many kinds (ArrowInvalid, OSError, ...) for one cause: a bad file
        raise DataFileError(
            f"not a Parquet file pyarrow can read: {type(error).__name__}: {_first_line(error)}"
        ) from None
    return Table(frame, lambda row: row + 1, "row")


# One declaration per kind of data file, by lower-cased suffix.
FILE_FORMATS: Mapping[str, FileFormat] = {
    ".csv": FileFormat(".csv", _read_csv),
    ".parquet": FileFormat(".parquet", _read_parquet),
}


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else "no detail"


# A UTC offset or "Z" at the end of a date: a bar's day is its local calendar day.
_UTC_OFFSET = re.compile(r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$")
_NAN_SPELLINGS = frozenset(cell.lower() for cell in ("+nan", *_NAN_CELLS))


@dataclass(frozen=True, slots=True)
class FileBars:
    """A data file's bars, and the rows served although inconsistent (see ``check_bars``)."""

    history: History
    warning_count: int
    first_warning: str  # where and why, e.g. "line 1808, column Open: 209.42 is below low 209.85"; "" if none

    @property
    def frame(self) -> pd.DataFrame:
        """The bars frame (see ``History.frame``)."""
        return self.history.frame


def read_data_file(
    suffix: str, data: bytes, profile: SymbolProfile = DEFAULT_PROFILE, version: str | None = None
) -> FileBars:
    """The bars of a file's bytes, checked; DataFileError if they cannot be served.

    Columns are matched case-insensitively through ``COLUMN_ALIASES``, in
    any order; extra columns (``Adj Close``, ``symbol``) are ignored, and a
    ``factor`` column (or ``adj_factor``) gives adjustment factors. A Parquet
    file may keep its dates in its index, named or not. For daily, weekly
    and monthly bars a date's time of day and UTC offset are dropped: the
    bar's day is the calendar day written in the file. For intraday bars
    (``profile.interval``) a time is read in ``profile.time_zone`` unless it
    carries a UTC offset, and a file of bar end times (``profile.bar_time``)
    has its times moved back by one interval to the bars' starts.
    """
    return read_table(FILE_FORMATS[suffix.lower()].read(data), profile, version)


def read_table(table: Table, profile: SymbolProfile = DEFAULT_PROFILE, version: str | None = None) -> FileBars:
    """The bars of a table's cells, checked as ``read_data_file`` checks a file's; DataFileError if refused.

    Parquet datasets (``stores.dataset``) hand their rows here, so every store of files accepts the same columns.
    """
    frame = table.frame
    sources: dict[str, str] = {}  # our column name -> the file's
    for name in frame.columns:
        ours = COLUMN_ALIASES.get(str(name).strip().lower())
        if ours is None:
            continue
        if ours in sources:
            raise DataFileError(f"columns {shown(sources[ours])} and {shown(str(name))} both mean {ours}")
        sources[ours] = str(name)
    if "date" in sources:
        raw_dates = frame[sources.pop("date")]
        sources[DATES] = str(raw_dates.name)
    elif isinstance(frame.index, pd.DatetimeIndex) or COLUMN_ALIASES.get(str(frame.index.name).lower()) == "date":
        raw_dates = frame.index.to_series(index=frame.index)
        sources[DATES] = f"index {frame.index.name}" if frame.index.name else "index"
    else:
        raw_dates = None
    missing = [name for name in ("date", *BAR_COLUMNS) if (DATES if name == "date" else name) not in sources]
    if raw_dates is None or missing:
        found = shown([str(name) for name in frame.columns], limit=200)
        raise DataFileError(f"no {' or '.join(missing)} column; the columns are {found}")
    if len(frame) == 0:
        raise DataFileError("no bars: the file has column names but no rows")
    sources[TIMES] = sources[DATES]
    if FACTOR_COLUMN in sources:
        sources[FACTORS] = sources.pop(FACTOR_COLUMN)

    def where(row: int, column: str) -> str:
        return f"{table.row_word} {table.number(row)}, column {sources[column]}"

    columns = {name: _numbers(frame[sources[name]], functools.partial(where, column=name)) for name in BAR_COLUMNS}
    factors = None
    if FACTORS in sources:
        factors = _numbers(frame[sources[FACTORS]], functools.partial(where, column=FACTORS))
    interval = profile.interval
    try:
        if interval.intraday:
            times = _times(raw_dates, lambda row: where(row, TIMES), profile)
            check = check_timed_bars(times, columns, factors)
            days = None
        else:
            days = _days(raw_dates, lambda row: where(row, DATES))
            check = check_bars(days, columns)
            if factors is not None:
                check_factors(factors, len(days))
            times = times_of_days(days, profile.time_zone)
    except BarsError as error:
        raise DataFileError(f"{where(error.issue.row, error.issue.column)}: {error.issue.reason}") from None
    history = History.from_columns(
        times,
        columns,
        interval=interval,
        time_zone=profile.time_zone,
        factors=factors,
        version=version,
        days=days,
        sessions=profile.sessions,
    )
    warning = check.first_warning
    first_warning = f"{where(warning.row, warning.column)}: {warning.reason}" if warning else ""
    return FileBars(history, check.warning_count, first_warning)


def _times(values: pd.Series, where: Callable[[int], str], profile: SymbolProfile) -> npt.NDArray[np.int64]:
    """Intraday bar times as seconds since the epoch (UTC), each bar's start; DataFileError names the first bad one."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = pd.Series(pd.DatetimeIndex(values), index=values.index)
    else:
        text = values.astype(str).str.strip()
        with_offsets = bool(text.str.contains(_UTC_OFFSET).any())
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=with_offsets)
        if parsed.isna().iloc[0]:
            form = guess_datetime_format(str(text.iloc[0]))
            if form is not None:
                parsed = pd.to_datetime(text, format=form, errors="coerce")
    stamps = pd.DatetimeIndex(parsed)
    if stamps.tz is None:
        # A wall-clock time a clock change skips or repeats is no single instant: NaT, refused below.
        stamps = stamps.tz_localize(zone(profile.time_zone), ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(stamps.isna())
    if len(bad):
        at = int(bad[0])
        raise DataFileError(
            f"{where(at)}: {shown(values.iloc[at])} is not a time in {profile.time_zone} "
            "(ISO 8601, or the form of the first time; a clock change may skip or repeat it)"
        )
    seconds = np.asarray(stamps.as_unit("s").asi8, dtype=np.int64)
    if profile.bar_time is BarTime.END:
        assert profile.interval.minutes is not None
        seconds = seconds - 60 * profile.interval.minutes
    return seconds


def _days(values: pd.Series, where: Callable[[int], str]) -> npt.NDArray[np.int64]:
    """Dates of any form pandas reads, as days since 1970-01-01; DataFileError names the first bad one."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
    else:
        text = values.astype(str).str.strip()
        if (text.str.len() > len("YYYY-MM-DD")).any():
            text = text.str.replace(_UTC_OFFSET, "", regex=True)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if parsed.isna().iloc[0]:  # not ISO 8601: the form of the first date, if pandas can tell it
            form = guess_datetime_format(str(text.iloc[0]))
            if form is not None:
                parsed = pd.to_datetime(text, format=form, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        at = int(bad[0])
        raise DataFileError(
            f"{where(at)}: {shown(values.iloc[at])} is not a date (ISO 8601, or the form of the first date)"
        )
    return np.asarray(parsed.to_numpy(dtype="datetime64[D]"), dtype="datetime64[D]").astype(np.int64)


def _numbers(values: pd.Series, where: Callable[[int], str]) -> npt.NDArray[np.float64]:
    """A price or volume column as float64; DataFileError names the first cell that is not a number.

    NaN and infinities pass through for ``check_bars`` to refuse.
    """
    if pd.api.types.is_bool_dtype(values.dtype) or not (
        pd.api.types.is_numeric_dtype(values.dtype)
        or pd.api.types.is_object_dtype(values.dtype)
        or pd.api.types.is_string_dtype(values.dtype)
    ):
        raise DataFileError(f"{where(0)}: holds {values.dtype} values, not numbers")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    text = values.astype(str).str.strip().str.lower()
    unparsed = np.flatnonzero(np.isnan(numbers) & ~text.isin(_NAN_SPELLINGS).to_numpy())
    if len(unparsed):
        at = int(unparsed[0])
        cell = values.iloc[at]
        what = "no value (a half-written line?)" if cell == "" else f"{shown(cell)} is not a number"
        raise DataFileError(f"{where(at)}: {what}")
    return numbers


# A folder's declaration of what its symbols' bars are: a TOML table per
# symbol, e.g. ``[SPY]`` ``price_adjustment = "splits_and_dividends"``
# ``time_zone = "America/New_York"``; see ``_symbol_entry`` for every key.
MANIFEST = "symbols.toml"
INTERVAL_NAMES: Mapping[str, Interval] = {
    "1min": Interval.ONE_MINUTE,
    "5min": Interval.FIVE_MINUTES,
    "15min": Interval.FIFTEEN_MINUTES,
    "30min": Interval.THIRTY_MINUTES,
    "60min": Interval.ONE_HOUR,
    "1d": Interval.ONE_DAY,
    "1w": Interval.ONE_WEEK,
    "1mo": Interval.ONE_MONTH,
}

# A file whose timestamps are younger than this when its signature is taken
# may change again within the same timestamp tick (file systems keep coarse
# times), so its content is hashed on every use until it is older.
SETTLE_NS = 2_000_000_000

Signature = tuple[int, int, int, int]  # inode, size, mtime and ctime in ns


@dataclass
class _File:
    """One data file and what was last read from it (``content`` is replaced whole, never changed)."""

    path: Path
    profile: SymbolProfile
    lock: threading.Lock = field(default_factory=threading.Lock)
    signature: Signature | None = None
    settled: bool = False  # the signature was taken when the file's timestamps were old enough to trust
    digest: bytes = b""
    content: Content | None = None


class FolderSource:
    """The store kind of one folder with a CSV or Parquet file per symbol (``SPY.csv`` is ``SPY``).

    A file is read and held to ``check_bars`` when first asked for and again
    whenever its content changes: its stat signature (inode, size, mtime,
    ctime) is compared on every use, and its bytes are hashed when the
    signature changed or is too young to trust (``SETTLE_NS``), so a file
    rewritten with the same size and mtime is read again. A problem is
    logged once per content.
    """

    checks_when_listed = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, _File] = {}  # by upper-cased symbol
        self._logged_manifest = ""  # the manifest problem last logged

    def listing(self) -> dict[str, Listed]:
        """The folder's data files now, by upper-cased symbol (the file name without its suffix)."""
        declared = self._manifest()
        try:
            paths = sorted(self.folder.iterdir())
        except OSError as error:
            log.warning("data folder %s cannot be listed: %s", self.folder, error.strerror)
            paths = []
        listed, files = {}, {}
        for path in paths:
            if path.suffix.lower() in FILE_FORMATS and path.is_file():
                key = path.stem.upper()
                adjustment, profile = declared.get(key, (None, DEFAULT_PROFILE))
                listed[key] = Listed(path.stem, path.name, adjustment, profile)
                known = self._files.get(key)
                same = known is not None and known.path == path and known.profile == profile
                files[key] = known if known is not None and same else _File(path, profile)
        self._files = files
        return listed

    def content(self, key: str) -> Content | None:
        """The file's content, read again if it may have changed; None if it is gone."""
        file = self._files.get(key)
        if file is None:
            return None
        try:
            stat = os.stat(file.path)
        except FileNotFoundError:
            return None
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        content = file.content
        if content is not None and file.signature == signature and file.settled:
            return content
        with file.lock:
            if file.content is not None and file.signature == signature and file.settled:
                return file.content
            settled = time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > SETTLE_NS
            try:
                data = file.path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as error:
                data, problem = b"", f"cannot be read: {error.strerror}"
            else:
                problem = ""
            digest = hashlib.blake2b(data, digest_size=16).digest()
            if file.content is None or digest != file.digest or (problem and problem != file.content.problem):
                file.content = _load(file.path, file.profile, digest, data, problem)
            file.signature, file.settled, file.digest = signature, settled, digest
            return file.content

    def prefetch(self, keys: Sequence[str]) -> None:
        """Nothing to batch: each file is read when asked for."""

    def close(self) -> None:
        """Nothing is held open between calls."""

    def _manifest(self) -> dict[str, tuple[PriceAdjustment | None, SymbolProfile]]:
        """What the folder's symbols.toml declares, by upper-cased symbol; problems logged once, the file ignored."""
        path = self.folder / MANIFEST
        try:
            declared = tomllib.loads(path.read_text(encoding="utf-8"))
            entries = {str(symbol).upper(): _symbol_entry(str(symbol), table) for symbol, table in declared.items()}
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, KeyError, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"
            if self._logged_manifest != problem:
                self._logged_manifest = problem
                log.warning("%s in data folder %s is ignored: %s", MANIFEST, self.folder, problem)
            return {}
        return entries


def _symbol_entry(symbol: str, table: object) -> tuple[PriceAdjustment | None, SymbolProfile]:
    """One symbol's table of symbols.toml; ValueError naming the symbol and key at fault.

    Keys, all optional: ``price_adjustment`` (one of PriceAdjustment's
    values), ``interval`` (one of ``INTERVAL_NAMES``, default "1d"),
    ``time_zone`` (IANA name, default "UTC"), ``sessions`` (a list of
    "HH:MM-HH:MM" in local time, default the whole day), ``bar_time``
    ("start", the default, or "end": what the file's intraday times mark).
    """
    if not isinstance(table, dict):
        raise ValueError(f"[{symbol}] must be a table")
    known = {"price_adjustment", "interval", "time_zone", "sessions", "bar_time"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ValueError(f"[{symbol}] has unknown keys {unknown}; expected some of {sorted(known)}")

    def pick(key: str, choices: Mapping[str, object]) -> object:
        value = str(table.get(key))
        if value not in choices:
            raise ValueError(f"[{symbol}] {key} = {value!r}; expected one of {', '.join(map(repr, choices))}")
        return choices[value]

    adjustment = None
    if "price_adjustment" in table:
        adjustment = pick("price_adjustment", {member.value: member for member in PriceAdjustment})
    try:
        sessions = parse_sessions(table.get("sessions", ["00:00-24:00"]))
        time_zone = str(table.get("time_zone", DEFAULT_PROFILE.time_zone))
        zone(time_zone)
    except (ValueError, TypeError) as error:
        raise ValueError(f"[{symbol}] {error}") from None
    profile = SymbolProfile(
        interval=cast(Interval, pick("interval", INTERVAL_NAMES)) if "interval" in table else Interval.ONE_DAY,
        time_zone=time_zone,
        sessions=sessions,
        bar_time=cast(BarTime, pick("bar_time", {member.value: member for member in BarTime}))
        if "bar_time" in table
        else BarTime.START,
    )
    if profile.bar_time is BarTime.END and not profile.interval.intraday:
        raise ValueError(f"[{symbol}] bar_time = 'end' is for intraday intervals only")
    return cast(PriceAdjustment | None, adjustment), profile


def _load(path: Path, profile: SymbolProfile, digest: bytes, data: bytes, problem: str) -> Content:
    """Check a file's new content; log what was found (once per content)."""
    content = Content(None, problem)
    if not problem:
        try:
            bars = read_data_file(path.suffix, data, profile, f"{path.name}:{digest.hex()}")
        except DataFileError as error:
            content = Content(None, str(error))
        else:
            content = Content(bars.history, "", bars.warning_count, bars.first_warning)
    if content.problem:
        log.warning("data file %s is refused, so symbol %s cannot be served: %s", path.name, path.stem, content.problem)
    elif content.warning_count:
        log.warning(
            "data file %s: serving %d bars whose open or close lies outside [low, high]; the first: %s",
            path.name,
            content.warning_count,
            content.first_warning,
        )
    return content
