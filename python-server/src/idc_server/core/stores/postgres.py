"""The PostgreSQL store: bars in the documented tables of ``schema.sql``, fetched by binary COPY into NumPy.

A symbol's bars come back in one ``COPY (SELECT ... ORDER BY ts) TO STDOUT
(FORMAT BINARY)``, a range scan of the primary key (symbol, ts); the bytes
are read as one NumPy structured array (``COPY_ROW``), never row by row in
Python. Whether a symbol changed is asked at most once every
``check_seconds``: its ``idc_symbols.version`` (bumped by the loader and by
the triggers), its bar count and its last timestamp; any change refetches it.
A ListSymbols page asks for all its symbols at once (``prefetch``): one
query for their versions, one COPY for those that changed.
"""

from __future__ import annotations

import functools
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql

from idc_server.core.bars import (
    ALL_DAY,
    BAR_COLUMNS,
    DATES,
    FACTORS,
    TIMES,
    BarsError,
    BarsIssue,
    History,
    check_bars,
    check_factors,
    check_timed_bars,
    days_of_times,
    parse_sessions,
    times_of_days,
    zone,
)
from idc_server.core.data_files import INTERVAL_NAMES
from idc_server.core.sources import DEFAULT_PROFILE, Content, HeldBars, Listed, PriceAdjustment, SymbolProfile

log = logging.getLogger(__name__)

SYMBOLS_TABLE = "idc_symbols"
BARS_TABLE = "idc_bars"

# PostgreSQL's binary timestamptz: microseconds since 2000-01-01 00:00 UTC.
POSTGRES_EPOCH_US = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_HEADER = struct.Struct(">11sii")  # signature, flags, header extension length
COPY_TRAILER = b"\xff\xff"
# The fields every row of a bars COPY has, in order: the symbol's position in
# the batch asked for, ts, then the float8 columns (factor NaN when NULL).
COPY_FIELDS = ("key", "ts", *BAR_COLUMNS, "factor")
_FORMATS = {"key": ">i4", "ts": ">i8"}
# A binary COPY row: a field count, then each field's length and big-endian value.
COPY_ROW = np.dtype(
    [("fields", ">i2")]
    + [item for name in COPY_FIELDS for item in ((f"{name}_length", ">i4"), (name, _FORMATS.get(name, ">f8")))]
)

# Many symbols' bars in one statement: the primary key is range-scanned once per symbol.
FETCH = sql.SQL(
    "COPY (SELECT k.position::int4, b.ts, b.open, b.high, b.low, b.close, b.volume, coalesce(b.factor, 'NaN') "
    "FROM unnest({}::text[]) WITH ORDINALITY AS k(symbol, position) JOIN idc_bars b ON b.symbol = k.symbol "
    "ORDER BY k.position, b.ts) TO STDOUT (FORMAT BINARY)"
)
VERSIONS = (
    "SELECT s.symbol, s.version, b.bars, b.last FROM idc_symbols s, "
    "LATERAL (SELECT count(*) AS bars, max(ts) AS last FROM idc_bars WHERE symbol = s.symbol) b "
    "WHERE s.symbol = ANY(%s)"
)
PREFETCH_BATCH = 1000  # symbols per round trip
CATALOG = "SELECT version FROM idc_catalog"
LISTING = "SELECT symbol, price_adjustment, time_zone, bar_interval, sessions FROM idc_symbols ORDER BY symbol"


def schema_sql() -> str:
    """The DDL of the layout (idempotent): the tables, their keys and the version triggers."""
    return resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")


class CopyFormatError(Exception):
    """Bytes that are not the binary COPY of the bars query (never expected from a real server)."""


def decode_copy(data: bytes) -> npt.NDArray[np.void]:
    """The rows of a binary COPY of ``COPY_FIELDS`` as a structured array of ``COPY_ROW``; no Python loop."""
    if len(data) < COPY_HEADER.size + len(COPY_TRAILER):
        raise CopyFormatError(f"{len(data)} bytes are too short for a binary COPY")
    signature, _, extension = COPY_HEADER.unpack_from(data)
    if signature != COPY_SIGNATURE or not data.endswith(COPY_TRAILER):
        raise CopyFormatError("not PostgreSQL's binary COPY format")
    start = COPY_HEADER.size + extension
    body = len(data) - start - len(COPY_TRAILER)
    if body % COPY_ROW.itemsize:
        raise CopyFormatError(f"{body} bytes of rows are not a whole number of {COPY_ROW.itemsize}-byte rows")
    rows = np.frombuffer(data, dtype=COPY_ROW, count=body // COPY_ROW.itemsize, offset=start)
    lengths = np.stack([rows[f"{name}_length"] for name in COPY_FIELDS])
    sizes = np.array([np.dtype(_FORMATS.get(name, ">f8")).itemsize for name in COPY_FIELDS])[:, None]
    if (rows["fields"] != len(COPY_FIELDS)).any() or (lengths != sizes).any():
        raise CopyFormatError(f"a row is not the bars query's {len(COPY_FIELDS)} non-null fields")
    return rows


def encode_copy(times_us: npt.NDArray[np.int64], columns: dict[str, npt.NDArray[np.float64]]) -> bytes:
    """A binary COPY of ``COPY_FIELDS`` (key 1, times in µs since the Unix epoch), for the loader; no Python loop."""
    rows = np.empty(len(times_us), dtype=COPY_ROW)
    rows["fields"] = len(COPY_FIELDS)
    for name in COPY_FIELDS:
        rows[f"{name}_length"] = np.dtype(_FORMATS.get(name, ">f8")).itemsize
    rows["key"] = 1
    rows["ts"] = times_us - POSTGRES_EPOCH_US
    for name in (*BAR_COLUMNS, "factor"):
        rows[name] = columns[name]
    return COPY_HEADER.pack(COPY_SIGNATURE, 0, 0) + rows.tobytes() + COPY_TRAILER


def epoch_us(rows: npt.NDArray[np.void]) -> npt.NDArray[np.int64]:
    """The rows' ts as microseconds since the Unix epoch."""
    return rows["ts"].astype(np.int64) + POSTGRES_EPOCH_US


@dataclass
class _Symbol:
    """One listed symbol and what was last fetched for it (``content`` is replaced whole, never changed)."""

    symbol: str
    profile: SymbolProfile
    problem: str  # what is wrong with its idc_symbols row ("" if nothing)
    lock: threading.Lock = field(default_factory=threading.Lock)
    checked_at: float = -float("inf")
    token: tuple[object, ...] | None = None
    content: Content | None = None
    gone: bool = False  # its idc_symbols row was deleted since the listing


class PostgresSource:
    """The store kind of a PostgreSQL database with the tables of ``schema.sql`` (``--data-url postgresql://...``).

    One connection, opened on first use and again after it breaks; calls
    share it under a lock (most requests are answered from memory: a symbol
    is fetched only when its version changed). The URL's password is never
    logged or put in a message.
    """

    checks_when_listed = False  # thousands of symbols: each is fetched when first asked for

    def __init__(
        self,
        url: str,
        *,
        held: HeldBars | None = None,
        check_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._held = HeldBars() if held is None else held
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._symbols: dict[str, _Symbol] = {}  # by upper-cased symbol
        self._listed: dict[str, Listed] = {}
        self._catalog: tuple[object, ...] | None = None  # idc_catalog's version when last listed
        self.described = _described(url)

    def listing(self) -> dict[str, Listed]:
        """The symbols of ``idc_symbols`` now, by upper-cased symbol; the last listing if the database is down.

        ``idc_symbols`` is read again only when ``idc_catalog.version`` changed
        (its trigger bumps it on every change to the list of symbols).
        """
        try:
            with self._cursor() as cursor:
                try:
                    catalog = cursor.execute(CATALOG).fetchone()
                except psycopg.errors.UndefinedTable:  # tables made without schema.sql's catalog: list every time
                    catalog = None
                if catalog is not None and catalog == self._catalog:
                    return self._listed
                rows = cursor.execute(LISTING).fetchall()
        except psycopg.Error as error:
            log.warning("PostgreSQL store %s cannot be listed: %s", self.described, _first_line(error))
            return self._listed
        self._catalog = catalog
        listed, symbols = {}, {}
        for symbol, adjustment, time_zone, interval, sessions in rows:
            key = str(symbol).upper()
            if key in listed:
                continue  # a second spelling of the same symbol: the first (in sort order) wins
            profile, problem = _profile(time_zone, interval, sessions)
            listed[key] = Listed(str(symbol), f"{BARS_TABLE} {symbol!r}", _adjustment(adjustment), profile)
            known = self._symbols.get(key)
            same = known is not None and (known.symbol, known.profile, known.problem) == (symbol, profile, problem)
            symbols[key] = known if known is not None and same else _Symbol(str(symbol), profile, problem)
        self._symbols, self._listed = symbols, listed
        return listed

    def content(self, key: str) -> Content | None:
        """The symbol's bars, fetched again if its version changed; None if it is gone."""
        entry = self._symbols.get(key)
        if entry is None:
            return None
        content = entry.content  # read once: the budget may let go of it meanwhile
        if content is None or self._clock() - entry.checked_at >= self._check_seconds:
            with entry.lock:
                if entry.content is None or self._clock() - entry.checked_at >= self._check_seconds:
                    self._refresh([entry])
                content = entry.content
        else:
            self._held.touch((id(self), entry.symbol))
        return None if entry.gone else content

    def prefetch(self, keys: Sequence[str]) -> None:
        """Check (and fetch what changed of) many symbols in two round trips, e.g. a ListSymbols page."""
        now = self._clock()
        due = [entry for key in keys if (entry := self._symbols.get(key)) is not None]
        due = [entry for entry in due if entry.content is None or now - entry.checked_at >= self._check_seconds]
        for start in range(0, len(due), PREFETCH_BATCH):
            self._refresh(due[start : start + PREFETCH_BATCH])

    def _refresh(self, entries: list[_Symbol]) -> None:
        """Ask the versions of ``entries``, fetch those that changed, and check them."""
        try:
            with self._cursor() as cursor:
                found = cursor.execute(VERSIONS, ([entry.symbol for entry in entries],)).fetchall()
                tokens = {str(symbol): tuple(token) for symbol, *token in found}
                changed = [
                    entry
                    for entry in entries
                    if entry.symbol in tokens and (entry.content is None or tokens[entry.symbol] != entry.token)
                ]
                data = bytearray()
                if changed:
                    with cursor.copy(FETCH.format(sql.Literal([entry.symbol for entry in changed]))) as copy:
                        for chunk in copy:
                            data += chunk
        except psycopg.Error as error:
            log.warning("PostgreSQL store %s cannot be read: %s", self.described, _first_line(error))
            for entry in entries:
                if entry.content is None or entry.content.history is None:
                    entry.content = Content(
                        None, f"the database cannot be read now: {type(error).__name__}", unavailable=True
                    )
                    entry.token = None  # fetched again once the database answers
                # else: the last good version is served until the database answers again
            return
        if changed:
            rows = decode_copy(bytes(data))
            bounds = np.searchsorted(rows["key"], np.arange(1, len(changed) + 2), side="left")
            for position, entry in enumerate(changed):
                token = tokens[entry.symbol]
                entry.content = _content(entry, token, rows[bounds[position] : bounds[position + 1]])
                entry.token = token
                history = entry.content.history
                size = 0 if history is None else history.size_bytes
                self._held.keep((id(self), entry.symbol), size, entry.lock, functools.partial(_forget, entry))
        now = self._clock()  # after the checks of a large batch, so that the page that asked uses them
        for entry in entries:
            entry.gone = entry.symbol not in tokens
            entry.checked_at = now

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[tuple[object, ...]]]:
        """A cursor on the shared connection, in autocommit; the connection is dropped when it breaks."""
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            try:
                with self._connection.cursor() as cursor:
                    yield cursor
            except psycopg.OperationalError:
                self._connection.close()
                self._connection = None
                raise


def _forget(entry: _Symbol) -> None:
    """Let go of a symbol's bars (the budget's choice): the next request fetches them again."""
    entry.content, entry.token, entry.checked_at = None, None, -float("inf")


def _content(entry: _Symbol, token: tuple[object, ...], rows: npt.NDArray[np.void]) -> Content:
    """Check fetched bars and make them a History; a refused row is named by its number and time."""
    version = f"postgresql:{entry.symbol}:{token[0]}:{token[1]}:{token[2]}"
    times_us = epoch_us(rows)
    columns = {name: rows[name].astype(np.float64) for name in BAR_COLUMNS}
    factors = rows["factor"].astype(np.float64)
    has_factors = bool(len(rows)) and not np.isnan(factors).all()
    profile = entry.profile
    if entry.problem:
        content = Content(None, f"{SYMBOLS_TABLE}: {entry.problem}")
    elif not len(rows):
        content = Content(None, f"no bars: the symbol has no rows in {BARS_TABLE}")
    else:
        times = np.floor_divide(times_us, 1_000_000)
        try:
            days = None
            if profile.interval.intraday:
                check = check_timed_bars(times, columns, factors if has_factors else None)
            else:
                days = days_of_times(times, profile.time_zone)
                check = check_bars(days.astype(np.int64), columns)
                if has_factors:
                    check_factors(factors, len(days))
                times = times_of_days(days, profile.time_zone)  # 00:00 of the trading day, as data files have it
        except BarsError as error:
            content = Content(None, _where(error.issue, times_us))
        else:
            history = History.from_columns(
                times,
                columns,
                interval=profile.interval,
                time_zone=profile.time_zone,
                factors=factors if has_factors else None,
                version=version,
                days=days,
                sessions=profile.sessions,
            )
            warning = check.first_warning
            first_warning = _where(warning, times_us) if warning else ""
            content = Content(history, "", check.warning_count, first_warning)
    if content.problem:
        log.warning("PostgreSQL symbol %s is refused, so it cannot be served: %s", entry.symbol, content.problem)
    return content


# The rules' column names that the table names otherwise.
_COLUMN = {DATES: "ts", TIMES: "ts", FACTORS: "factor"}


def _where(issue: BarsIssue, times_us: npt.NDArray[np.int64]) -> str:
    """A rule's finding about a fetched row, e.g. "row 4 (ts 2024-01-05T00:00:00+00:00), column close: ..."."""
    return f"{_row(issue.row, times_us)}, column {_COLUMN.get(issue.column, issue.column)}: {issue.reason}"


def _profile(time_zone: object, interval: object, sessions: object) -> tuple[SymbolProfile, str]:
    """A symbol's profile from its idc_symbols row, and what is wrong with the row ("" if nothing)."""
    try:
        zone(str(time_zone))
        parsed = ALL_DAY if sessions is None else parse_sessions([str(text) for text in sessions])  # type: ignore[attr-defined]
        chosen = INTERVAL_NAMES.get(str(interval))
        if chosen is None:
            raise ValueError(f"bar_interval {interval!r} is not one of {', '.join(map(repr, INTERVAL_NAMES))}")
    except (ValueError, TypeError) as error:
        return DEFAULT_PROFILE, str(error)
    return SymbolProfile(interval=chosen, time_zone=str(time_zone), sessions=parsed), ""


def _row(row: int, times_us: npt.NDArray[np.int64]) -> str:
    """How a message names a fetched row: its position from 1 in time order, and its ts."""
    at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(times_us[row]))
    return f"row {row + 1} (ts {at.isoformat()})"


def _adjustment(value: object) -> PriceAdjustment | None:
    try:
        return PriceAdjustment(value) if value is not None else None
    except ValueError:
        return None


def _described(url: str) -> str:
    """The URL without its password, for logs."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else "no detail"
