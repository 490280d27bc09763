"""One definition of a bars file's columns: the server's --data-dir reader and `idc-client --bars` agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idc.v1 import bars_pb2
from idc_client.barsfile import read_bars_file
from idc_common.columns import BAR_COLUMNS, COLUMN_ALIASES, FACTOR_COLUMN, canonical_column
from idc_server.core.data_files import read_data_file

# Real rows of the bundled AAPL.csv (a Yahoo Finance download), in three spellings.
YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2004-08-19,2.250714,2.275714,2.168571,2.193571,1.966391,97230000
2004-08-20,2.193571,2.213571,2.177857,2.200000,1.972154,79195200
2004-08-23,2.207143,2.237143,2.198571,2.212143,1.983041,56428800
"""
# Yahoo's columns in another order, as the bundled SPY.csv has them.
REORDERED = """Date,Close,High,Low,Open,Volume
2004-08-19,2.193571,2.275714,2.168571,2.250714,97230000
2004-08-20,2.200000,2.213571,2.177857,2.193571,79195200
2004-08-23,2.212143,2.237143,2.198571,2.207143,56428800
"""
# A Tushare-style export: trade_date and vol, padded and lower case.
TUSHARE = """ trade_date ,open,HIGH,low,close, vol
2004-08-19,2.250714,2.275714,2.168571,2.193571,97230000
2004-08-20,2.193571,2.213571,2.177857,2.200000,79195200
2004-08-23,2.207143,2.237143,2.198571,2.212143,56428800
"""
EXPECTED_CLOSE = [2.193571, 2.2, 2.212143]
EXPECTED_DAYS = [12649, 12650, 12653]  # 2004-08-19, -20 and -23 as days since 1970-01-01


def client_bars(path: Path) -> bars_pb2.Bars:
    """What `idc-client --bars path` sends."""
    return read_bars_file(path)


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("Date", "date"),
        (" trade_date ", "date"),
        ("VOL", "volume"),
        ("Close", "close"),
        ("Adj Close", None),
        ("adj_factor", "factor"),
    ],
)
def test_canonical_column_ignores_case_and_outer_spaces(name: str, ours: str | None) -> None:
    assert canonical_column(name) == ours


def test_every_alias_names_a_date_bar_or_factor_column() -> None:
    assert set(COLUMN_ALIASES.values()) == {"date", *BAR_COLUMNS, FACTOR_COLUMN}
    assert all(alias == alias.strip().lower() for alias in COLUMN_ALIASES)


@pytest.mark.parametrize("text", [YAHOO, REORDERED, TUSHARE], ids=["yahoo", "reordered", "tushare"])
def test_client_bars_reader_accepts_what_the_data_dir_reader_accepts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "AAPL.csv"
    path.write_text(text, encoding="utf-8")

    served = read_data_file(".csv", path.read_bytes()).frame
    sent = client_bars(path)

    assert served["close"].tolist() == EXPECTED_CLOSE
    assert list(sent.dates) == EXPECTED_DAYS
    assert list(sent.dates) == list((pd.DatetimeIndex(served.index) - pd.Timestamp("1970-01-01")).days)
    for column in BAR_COLUMNS:
        np.testing.assert_array_equal(np.asarray(getattr(sent, column)), served[column].to_numpy(), err_msg=column)


def test_client_bars_reader_keeps_a_first_column_of_dates_under_any_name(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("day,open,high,low,close,volume\n2023-12-29,476.49,477.03,473.3,475.31,122234100\n")

    sent = client_bars(path)

    assert list(sent.dates) == [19720]
    assert list(sent.close) == [475.31]
