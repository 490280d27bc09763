"""`idc-server load`: data files upserted into PostgreSQL, checked first, reported in rows and rows/s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from store_kinds import FakeClock, postgres_schema

from idc_server.cli import main
from idc_server.core.bars import BAR_COLUMNS
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.stores.postgres import PostgresSource


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["load", *argv])
    return int(exited.value.code or 0)


def rows(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(query, params).fetchall()


def test_load_writes_every_row_of_a_real_file_and_reports_throughput(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = bundled_data_dir() / "AAPL.csv"
    expected = pd.read_csv(source)
    assert (
        run("--data-url", database, "--time-zone", "America/New_York", "--price-adjustment", "splits", str(source)) == 0
    )
    report = capsys.readouterr().out
    assert re.fullmatch(rf"loaded {len(expected)} rows from 1 files in [0-9.]+ s \([0-9,]+ rows/s\)\n", report), report
    [(count, first_close, last_volume)] = rows(
        database,
        "SELECT count(*), (array_agg(close ORDER BY ts))[1], (array_agg(volume ORDER BY ts DESC))[1] "
        "FROM idc_bars WHERE symbol = 'AAPL'",
    )
    assert count == len(expected)
    assert first_close == expected["Close"].iloc[0]
    assert last_volume == expected["Volume"].iloc[-1]
    [(first_ts,)] = rows(database, "SELECT min(ts) AT TIME ZONE 'America/New_York' FROM idc_bars")
    assert str(first_ts) == f"{expected['Date'].iloc[0]} 00:00:00"  # a daily bar starts at midnight on the exchange
    assert rows(database, "SELECT time_zone, bar_interval, price_adjustment FROM idc_symbols") == [
        ("America/New_York", "1d", "splits")
    ]


def test_loading_again_updates_rows_instead_of_adding_them(database: str, tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1.5,2,1,1.75,20\n")
    assert run("--data-url", database, str(path)) == 0
    [(version_before,)] = rows(database, "SELECT version FROM idc_symbols WHERE symbol = 'X'")
    path.write_text("date,open,high,low,close,volume\n2024-01-03,1.5,2,1,1.8,25\n2024-01-04,1.8,2,1.5,1.9,30\n")
    assert run("--data-url", database, str(path)) == 0
    assert rows(database, "SELECT ts::date::text, close, volume FROM idc_bars ORDER BY ts") == [
        ("2024-01-02", 1.5, 10.0),
        ("2024-01-03", 1.8, 25.0),
        ("2024-01-04", 1.9, 30.0),
    ]
    [(version_after,)] = rows(database, "SELECT version FROM idc_symbols WHERE symbol = 'X'")
    assert int(str(version_after)) > int(str(version_before))


def test_a_file_with_a_bad_row_is_refused_and_nothing_of_it_is_written(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "BAD.csv"
    path.write_text("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1.5,2,1,nan,20\n")
    assert run("--data-url", database, str(path)) == 1
    assert f"{path}: line 3, column close: nan is not a finite number" in capsys.readouterr().err
    assert rows(database, "SELECT count(*) FROM idc_bars") == [(0,)]


def test_load_needs_a_postgresql_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--data-url", "parquet:///somewhere", "X.csv") == 2
    assert "must be a postgresql:// URL" in capsys.readouterr().err


def test_intraday_bars_with_end_times_load_as_the_folder_serves_them(database: str) -> None:
    """The bundled SSE 1-minute file, loaded with its symbols.toml profile, is the same History from PostgreSQL."""
    source = bundled_data_dir() / "000001.SH-1MIN.csv"
    flags = ["--interval", "1min", "--time-zone", "Asia/Shanghai", "--sessions", "09:30-11:30,13:00-15:00"]
    assert run("--data-url", database, *flags, "--bar-time", "end", str(source)) == 0
    expected = BarStore([bundled_data_dir()]).history("000001.SH-1MIN")
    postgres = PostgresSource(database, clock=FakeClock())
    try:
        served = BarStore([postgres]).history("000001.sh-1min")
    finally:
        postgres.close()
    assert (served.interval, served.time_zone, served.sessions) == (
        expected.interval,
        expected.time_zone,
        expected.sessions,
    )
    np.testing.assert_array_equal(served.times, expected.times)
    np.testing.assert_array_equal(served.days, expected.days)
    for name in BAR_COLUMNS:
        np.testing.assert_array_equal(served.columns[name], expected.columns[name], err_msg=name)
    # The first row of the file is stamped 09:31 (its end): stored as the bar's start, 09:30 in Shanghai.
    [(first,)] = rows(database, "SELECT min(ts) AT TIME ZONE 'Asia/Shanghai' FROM idc_bars")
    assert str(first) == "2020-07-01 09:30:00"


def test_adjustment_factors_are_stored_and_served(database: str, tmp_path: Path) -> None:
    path = tmp_path / "SPLIT.csv"
    path.write_text(
        "date,open,high,low,close,volume,factor\n"
        "2024-01-02,100,101,99,100,10,1\n"
        "2024-01-03,50,51,49,50,20,2\n"
        "2024-01-04,51,52,50,51,20,2\n"
    )
    assert run("--data-url", database, str(path)) == 0
    assert rows(database, "SELECT factor FROM idc_bars ORDER BY ts") == [(1.0,), (2.0,), (2.0,)]
    postgres = PostgresSource(database, clock=FakeClock())
    try:
        history = BarStore([postgres]).history("SPLIT")
    finally:
        postgres.close()
    assert history.factors is not None
    assert list(history.factors) == [1.0, 2.0, 2.0]
