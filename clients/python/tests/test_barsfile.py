"""The ``--bars`` CSV reader of ``idc-client`` (``idc_client.barsfile``); Go's ``idc`` has the same cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from idc.v1 import bars_pb2
from idc_client.barsfile import parse_bars_csv, read_bars_file

# Epoch days computed with datetime: 2006-11-06 is 13458, 2019-11-05 is 18205, 2023-12-28 is 19719.
CASES = {
    "yahoo": (
        "Date,Open,High,Low,Close,Adj Close,Volume\n2023-12-28,1,3,0.5,2,1.9,100\n2023-12-29,2,4,1.5,3,2.9,200\n",
        bars_pb2.Bars(dates=[19719, 19720], open=[1, 2], high=[3, 4], low=[0.5, 1.5], close=[2, 3], volume=[100, 200]),
    ),
    "tdx-style czsc export": (
        "\ufeffsymbol,dt,open,close,high,low,vol\n"
        "000001.SH,2006-11-06 15:00:00,1853.19,1886.31,1886.52,1846.01,49544517.0\n"
        "000001.SH,2006-11-07 15:00:00,1889.53,1889.53,1897.41,1862.93,54849074.0\n",
        bars_pb2.Bars(
            dates=[13458, 13459],
            open=[1853.19, 1889.53],
            high=[1886.52, 1897.41],
            low=[1846.01, 1862.93],
            close=[1886.31, 1889.53],
            volume=[49544517, 54849074],
        ),
    ),
    "tushare trade_date": (
        "trade_date,OPEN,high,low,close,vol\n20231228,1,2,0.5,1.5,10\n",
        bars_pb2.Bars(dates=[19719], open=[1], high=[2], low=[0.5], close=[1.5], volume=[10]),
    ),
    "tushare adj_factor": (
        "trade_date,open,high,low,close,vol,ADJ_FACTOR\n20231228,1,2,0.5,1.5,10,1\n20231229,0.5,1,0.25,0.75,20,2\n",
        bars_pb2.Bars(
            dates=[19719, 19720],
            open=[1, 0.5],
            high=[2, 1],
            low=[0.5, 0.25],
            close=[1.5, 0.75],
            volume=[10, 20],
            adjustment_factors=[1, 2],
        ),
    ),
    "first column as dates, US style with a time": (
        "when,open,high,low,close,volume\n11/5/2019 9:30,3080.8,3081.47,3080.3,3080.49,0\n",
        bars_pb2.Bars(dates=[18205], open=[3080.8], high=[3081.47], low=[3080.3], close=[3080.49], volume=[0]),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_bars_files_of_every_vendor(name: str) -> None:
    text, expected = CASES[name]
    assert parse_bars_csv(text.removeprefix("\ufeff")) == expected


def test_a_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    text, expected = CASES["tdx-style czsc export"]
    path = tmp_path / "sh.csv"
    path.write_text(text, encoding="utf-8")
    assert read_bars_file(path) == expected


def test_an_empty_value_cell_is_nan_for_the_server_to_name() -> None:
    bars = parse_bars_csv("date,open,high,low,close,volume\n2023-12-28,1,2,,1.5,10\n")
    assert math.isnan(bars.low[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("date,open,high,low,close\n", "no volume column"),
        ("date,open,high,low,close,volume\n", "no bars after the header"),
        ("dt,date,open,high,low,close,volume\n", "columns dt and date both mean date"),
        ("date,open,high,low,close,volume\n2023-12-28,1,2,0.5,x,10\n", "line 2, column close: 'x' is not a number"),
        ("date,open,high,low,close,volume\n2023-12-28,1,2,0.5,1_0,10\n", "line 2, column close: '1_0' is not a number"),
        ("date,open,high,low,close,volume,factor\n2023-12-28,1,2,0.5,1,10,n/a\n", "line 2, column factor: 'n/a'"),
        (
            "Date,Open,High,Low,Close,Volume\n2023-12-28,1,2,0.5,1,10\n\n28.12.2023,1,2,0.5,1,10\n",
            "line 4, column Date: '28.12.2023' is not a date",
        ),
    ],
)
def test_bad_files_name_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_bars_csv(text)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    with pytest.raises(ValueError, match=f"^--bars {path}: no such file or directory$"):
        read_bars_file(path)
