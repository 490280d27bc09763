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
import pandas as pd
import psycopg

from idc_server.core.bars import BAR_COLUMNS
from idc_server.core.data_files import FILE_FORMATS, DataFileError, read_data_file
from idc_server.core.sources import PriceAdjustment
from idc_server.core.stores.postgres import encode_copy, schema_sql

STAGE = (
    "CREATE TEMP TABLE idc_load (position int4, ts timestamptz, open float8, high float8, low float8, close float8, "
    "volume float8, factor float8) ON COMMIT DROP"
)
COPY_IN = "COPY idc_load (position, ts, open, high, low, close, volume, factor) FROM STDIN (FORMAT BINARY)"
UPSERT_SYMBOL = (
    "INSERT INTO idc_symbols (symbol, time_zone, price_adjustment) VALUES (%(symbol)s, %(time_zone)s, %(adjustment)s) "
    "ON CONFLICT (symbol) DO UPDATE SET time_zone = EXCLUDED.time_zone, "
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
    time_zone: str = "UTC",
    price_adjustment: PriceAdjustment | None = None,
) -> LoadReport:
    """Upsert the bars of ``paths`` into the database at ``url`` (creating idc's tables if missing).

    A file's symbol is ``symbol`` or else its name without the suffix
    (``SPY.csv`` is ``SPY``); its daily bars start at 00:00 of their date in
    ``time_zone``. LoadError names the first file that cannot be read or
    whose bars break a rule; the files before it stay loaded.
    """
    if symbol is not None and len(paths) > 1:
        raise LoadError("--symbol names the symbol of one file; give one file, or name files SYMBOL.csv")
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(url, connect_timeout=10) as connection:
        connection.execute(schema_sql())
        connection.commit()
        for path in paths:
            name = symbol or path.stem
            data = _copy_data(path, time_zone)
            with connection.transaction(), connection.cursor() as cursor:
                values = {"symbol": name, "time_zone": time_zone, "adjustment": _value(price_adjustment)}
                cursor.execute(UPSERT_SYMBOL, values)
                cursor.execute(STAGE)
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


def _copy_data(path: Path, time_zone: str) -> _CopyData:
    """A file's checked bars as binary COPY rows; LoadError names the file and the problem."""
    if path.suffix.lower() not in FILE_FORMATS:
        raise LoadError(f"{path}: not a {' or '.join(FILE_FORMATS)} file")
    try:
        bars = read_data_file(path.suffix, path.read_bytes()).frame
    except OSError as error:
        raise LoadError(f"{path}: cannot be read: {error.strerror}") from None
    except DataFileError as error:
        raise LoadError(f"{path}: {error}") from None
    try:
        starts = pd.DatetimeIndex(bars.index).tz_localize(time_zone)
    except (KeyError, ValueError) as error:
        raise LoadError(f"--time-zone {time_zone!r} is not an IANA time zone ({error})") from None
    times_us = starts.tz_convert("UTC").tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64)
    columns = {name: bars[name].to_numpy(dtype=np.float64) for name in BAR_COLUMNS}
    columns["factor"] = np.full(len(bars), np.nan)  # no adjustment factors from data files (yet)
    return _CopyData(len(bars), encode_copy(times_us, columns))


def _value(adjustment: PriceAdjustment | None) -> str | None:
    return adjustment.value if adjustment is not None else None
