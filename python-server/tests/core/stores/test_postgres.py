"""The PostgreSQL store: the documented layout, an index range scan per symbol, binary COPY decoded by NumPy."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import numpy as np
import psycopg
import pytest
from psycopg import sql
from store_kinds import FakeClock, postgres_schema

from idc_server.core.data import BarStore
from idc_server.core.errors import NotFoundError
from idc_server.core.stores.postgres import (
    FETCH,
    PostgresSource,
    decode_copy,
    encode_copy,
    epoch_us,
    schema_sql,
)

# 300 symbols of 200 daily bars: enough rows that the planner's choice is the real one.
SYMBOLS, BARS = 300, 200


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A schema of SYMBOLS x BARS daily bars, shared by the module's tests (which change none of them)."""
    with postgres_schema() as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(schema_sql())
            connection.execute(
                "INSERT INTO idc_symbols (symbol, time_zone) "
                "SELECT 'S' || lpad(n::text, 4, '0'), 'America/New_York' FROM generate_series(1, %s) n",
                (SYMBOLS,),
            )
            connection.execute(
                "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) "
                "SELECT 'S' || lpad(n::text, 4, '0'), "
                "(date '2020-01-01' + d)::timestamp AT TIME ZONE 'America/New_York', "
                "100 + d, 101 + d, 99 + d, 100.5 + d + n / 1000.0, 1000 * n FROM generate_series(1, %s) n, "
                "generate_series(0, %s - 1) d",
                (SYMBOLS, BARS),
            )
            connection.execute("ANALYZE idc_bars")
        yield url


def plan(url: str, query: str) -> str:
    with psycopg.connect(url, autocommit=True) as connection:
        return "\n".join(str(row[0]) for row in connection.execute(f"EXPLAIN {query}"))


def test_a_symbols_window_and_its_whole_history_are_index_range_scans(database: str) -> None:
    window = plan(
        database,
        "SELECT ts, close FROM idc_bars WHERE symbol = 'S0123' "
        "AND ts >= '2020-03-01' AND ts < '2020-04-01' ORDER BY ts",
    )
    fetch = FETCH.format(sql.Literal(["S0123"])).as_string().removeprefix("COPY (").split(") TO STDOUT")[0]
    whole = plan(database, fetch)
    for shown in (window, whole):
        # A plain or a bitmap index scan of the primary key, bounded by the symbol (and the window): never a Seq Scan.
        assert re.search(r"(Index Scan using|Bitmap Index Scan on) idc_bars_pkey", shown), shown
        assert "Seq Scan" not in shown, shown
    assert "Index Cond: ((symbol = 'S0123'::text) AND (ts >= '2020-03-01 00:00:00+00'" in window, window
    assert "Index Cond: (symbol = k.symbol)" in whole, whole


def test_binary_copy_decodes_to_the_values_the_text_protocol_gives(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as connection:
        expected = connection.execute(
            "SELECT extract(epoch FROM ts)::int8 * 1000000, open, high, low, close, volume FROM idc_bars "
            "WHERE symbol = 'S0042' ORDER BY ts"
        ).fetchall()
        data = bytearray()
        with connection.cursor().copy(FETCH.format(sql.Literal(["S0042", "S0007"]))) as copy:
            for chunk in copy:
                data += chunk
    rows = decode_copy(bytes(data))
    assert len(rows) == 2 * BARS
    assert (rows["key"][:BARS] == 1).all()
    assert (rows["key"][BARS:] == 2).all()
    rows = rows[:BARS]
    np.testing.assert_array_equal(epoch_us(rows), [row[0] for row in expected])
    for position, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        np.testing.assert_array_equal(rows[name], [row[position] for row in expected])
    assert np.isnan(rows["factor"]).all()  # NULL factors come back as NaN
    assert rows["close"][0] == 100.5 + 42 / 1000.0


def test_encode_copy_is_what_decode_copy_reads() -> None:
    times = np.array([0, 86_400_000_000, 2 * 86_400_000_000], dtype=np.int64)
    columns = {
        name: np.array([1.0, 2.0, 3.0]) * (index + 1)
        for index, name in enumerate(("open", "high", "low", "close", "volume", "factor"))
    }
    rows = decode_copy(encode_copy(times, columns))
    np.testing.assert_array_equal(epoch_us(rows), times)
    for name, values in columns.items():
        np.testing.assert_array_equal(rows[name], values)


def test_a_daily_bar_is_dated_by_its_start_in_the_symbols_time_zone(database: str) -> None:
    bar_store = BarStore([PostgresSource(database, clock=FakeClock())])
    try:
        history = bar_store.history("s0001")
        # 2020-01-01 00:00 in New York is 05:00 UTC; its day is still 2020-01-01.
        assert str(history.days.astype("datetime64[D]")[0]) == "2020-01-01"
        assert len(history.days) == BARS
        assert len(bar_store.symbols()) == SYMBOLS
    finally:
        bar_store.close()


def test_a_deleted_symbol_is_not_found(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("INSERT INTO idc_symbols (symbol) VALUES ('GONE')")
        connection.execute(
            "INSERT INTO idc_bars (symbol, ts, open, high, low, close, volume) VALUES ('GONE', now(), 1, 2, 0.5, 1, 9)"
        )
    clock = FakeClock()
    bar_store = BarStore([PostgresSource(database, clock=clock)], relist_seconds=0)
    try:
        assert len(bar_store.history("gone").days) == 1
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("DELETE FROM idc_symbols WHERE symbol = 'GONE'")
        clock.advance(1.01)
        with pytest.raises(NotFoundError, match="unknown symbol 'GONE'; known: S0001, S0002"):
            bar_store.history("GONE")
    finally:
        bar_store.close()


def test_an_unreachable_database_is_logged_without_its_password(caplog: pytest.LogCaptureFixture) -> None:
    source = PostgresSource("postgresql://reader:s3cret@127.0.0.1:1/market?connect_timeout=2")
    with caplog.at_level(logging.WARNING):
        assert source.listing() == {}
    assert "postgresql://reader@127.0.0.1:1/market cannot be listed" in caplog.text
    assert "s3cret" not in caplog.text
