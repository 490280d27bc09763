"""Load data files (CSV or Parquet, the columns a data folder accepts) into the PostgreSQL store, upserting rows.

Each file is read and held to the rules of data files first, so nothing a
server would refuse is written. Its rows go in by binary COPY into a
temporary table, then one ``INSERT ... ON CONFLICT (symbol, ts) DO UPDATE``
into ``idc_bars``, and the symbol's version is bumped, all in one
transaction per file: a reader sees the whole file or none of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

from idc_server.core.bars import ALL_DAY
from idc_server.core.data_files import FILE_FORMATS, INTERVAL_NAMES, DataFileError, read_data_file
from idc_server.core.sources import DEFAULT_PROFILE, PriceAdjustment, SymbolProfile
from idc_server.core.stores.postgres import encode_copy, schema_sql

STAGE = (
    "CREATE TEMP TABLE idc_load (position int4, ts timestamptz, open float8, high float8, low float8, close float8, "
    "volume float8, factor float8) ON COMMIT DELETE ROWS"
)
COPY_IN = "COPY idc_load (position, ts, open, high, low, close, volume, factor) FROM STDIN (FORMAT BINARY)"
UPSERT_SYMBOL = (
    "INSERT INTO idc_symbols (symbol, time_zone, bar_interval, sessions, price_adjustment) "
    "VALUES (%(symbol)s, %(time_zone)s, %(interval)s, %(sessions)s, %(adjustment)s) "
    "ON CONFLICT (symbol) DO UPDATE SET time_zone = EXCLUDED.time_zone, bar_interval = EXCLUDED.bar_interval, "
    "sessions = EXCLUDED.sessions, "
    "price_adjustment = coalesce(EXCLUDED.price_adjustment, idc_symbols.price_adjustment)"
)
UPSERT_BARS = (
    "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume, factor) "
    "SELECT %(symbol)s, ts, open, high, low, close, volume, nullif(factor, 'NaN') FROM idc_load "
    "ON CONFLICT (symbol, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, "
    "close = EXCLUDED.close, volume = EXCLUDED.volume, factor = EXCLUDED.factor"
)
# The triggers bump it too; on TimescaleDB hypertables (no triggers) only this does.
BUMP = "UPDATE idc_symbols SET version = version + 1 WHERE symbol = %(symbol)s"


INTERVAL_TEXT = {interval: text for text, interval in INTERVAL_NAMES.items()}


class LoadError(Exception):
    """A file that cannot be loaded; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a load wrote."""

    files: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def load_files(
    url: str,
    paths: Sequence[Path],
    *,
    symbol: str | None = None,
    profile: SymbolProfile = DEFAULT_PROFILE,
    price_adjustment: PriceAdjustment | None = None,
) -> LoadReport:
    """Upsert the bars of ``paths`` into the database at ``url`` (creating idc's tables if missing).

    A file's symbol is ``symbol`` or else its name without the suffix
    (``SPY.csv`` is ``SPY``). Its bars are read as a data folder reads them
    under a symbols.toml entry of ``profile`` (interval, time zone, sessions,
    whether times mark bar ends), and stored by their start: a daily bar at
    00:00 of its date in the time zone. A ``factor`` column fills
    ``idc_bars.factor``. LoadError names the first file that cannot be read
    or whose bars break a rule; the files before it stay loaded.
    """
    if symbol is not None and len(paths) > 1:
        raise LoadError("--symbol names the symbol of one file; give one file, or name files SYMBOL.csv")
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(url, connect_timeout=10) as connection:
        connection.execute(schema_sql())
        connection.execute(STAGE)  # once per connection: emptied by every commit
        connection.commit()
        for path in paths:
            name = symbol or path.stem
            data = _copy_data(path, profile)
            with connection.transaction(), connection.cursor() as cursor:
                values = {
                    "symbol": name,
                    "time_zone": profile.time_zone,
                    "interval": INTERVAL_TEXT[profile.interval],
                    "sessions": None if profile.sessions == ALL_DAY else [str(session) for session in profile.sessions],
                    "adjustment": _value(price_adjustment),
                }
                cursor.execute(UPSERT_SYMBOL, values)
                with cursor.copy(COPY_IN) as copy:
                    copy.write(data.payload)
                cursor.execute(UPSERT_BARS, values)
                cursor.execute(BUMP, values)
            rows += data.rows
    return LoadReport(len(paths), rows, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class _CopyData:
    rows: int
    payload: bytes


def _copy_data(path: Path, profile: SymbolProfile) -> _CopyData:
    """A file's checked bars as binary COPY rows; LoadError names the file and the problem."""
    if path.suffix.lower() not in FILE_FORMATS:
        raise LoadError(f"{path}: not a {' or '.join(FILE_FORMATS)} file")
    try:
        history = read_data_file(path.suffix, path.read_bytes(), profile).history
    except OSError as error:
        raise LoadError(f"{path}: cannot be read: {error.strerror}") from None
    except DataFileError as error:
        raise LoadError(f"{path}: {error}") from None
    columns = dict(history.columns)
    columns["factor"] = np.full(len(history), np.nan) if history.factors is None else history.factors
    return _CopyData(len(history), encode_copy(history.times * 1_000_000, columns))


def _value(adjustment: PriceAdjustment | None) -> str | None:
    return adjustment.value if adjustment is not None else None
