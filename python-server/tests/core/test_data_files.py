"""Reading one data file: columns by name, dates of many forms, and every problem named by line or row."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_server.core.bars import ALL_DAY, Interval
from idc_server.core.data_files import DataFileError, read_data_file
from idc_server.core.sources import BarTime, SymbolProfile


def test_reads_czsc_style_file_with_times_and_vol(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text(
        "symbol,dt,open,close,high,low,vol\n"
        "000001.SH,2006-11-06 15:00:00,1853.19,1886.31,1886.52,1846.01,49544517.0\n"
        "000001.SH,2006-11-07 15:00:00,1889.53,1889.53,1897.41,1862.93,54849074.0\n"
    )
    frame = read_data_file(".csv", path.read_bytes()).frame
    assert list(frame.index) == [pd.Timestamp("2006-11-06"), pd.Timestamp("2006-11-07")]
    assert frame.iloc[0].tolist() == [1853.19, 1886.52, 1846.01, 1886.31, 49544517.0]


def test_rejects_file_without_a_close_column(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,volume\n2020-01-02,1,2,0.5,10\n")
    with pytest.raises(DataFileError, match="no close column"):
        read_data_file(".csv", path.read_bytes())


def test_rejects_file_with_dates_out_of_order(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,close,volume\n2020-01-03,1,2,0.5,1,10\n2020-01-02,1,2,0.5,1,10\n")
    with pytest.raises(DataFileError, match="line 3, column date: 2020-01-02 follows 2020-01-03"):
        read_data_file(".csv", path.read_bytes())


def test_dates_with_utc_offsets_count_as_their_local_day() -> None:
    # yfinance writes New York midnight with its offset, which changes with daylight saving time.
    data = (
        b"Date,Open,High,Low,Close,Volume\n"
        b"2024-03-08 00:00:00-05:00,1,2,0.5,1,10\n"
        b"2024-03-11 00:00:00-04:00,1,2,0.5,1,10\n"
        b"2024-03-12T15:00:00Z,1,2,0.5,1,10\n"
    )
    frame = read_data_file(".csv", data).frame
    assert list(frame.index) == [pd.Timestamp("2024-03-08"), pd.Timestamp("2024-03-11"), pd.Timestamp("2024-03-12")]


def test_inconsistent_rows_are_served_and_counted_but_float_noise_is_not() -> None:
    data = (
        b"date,open,high,low,close,volume\n"
        b"2020-01-02,10,11,9,10.5,100\n"
        b"2020-01-03,10,11,9,11.000000000000002,100\n"  # float noise above high
        b"2020-01-06,10,11,9,8.5,100\n"  # close below low
        b"2020-01-07,12,11,9,8,100\n"  # open above high, close below low: one row
    )
    bars = read_data_file(".csv", data)
    assert len(bars.frame) == 4
    assert bars.warning_count == 2
    assert bars.first_warning == "line 4, column close: 8.5 is below low 9.0"


def test_a_byte_order_mark_and_blank_lines_are_allowed_and_lines_still_count() -> None:
    data = "\ufeffdate,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n\n2020-01-03,1,2,0.5,nan,10\n".encode()
    with pytest.raises(DataFileError, match=r"^line 4, column close: nan is not a finite number$"):
        read_data_file(".csv", data)


def test_tushare_style_trade_dates_are_read() -> None:
    data = (
        b"ts_code,trade_date,open,high,low,close,vol\n"
        b"000001.SH,20240102,1,2,0.5,1,10\n"
        b"000001.SH,20240103,1,2,0.5,1,10\n"
    )
    frame = read_data_file(".csv", data).frame
    assert list(frame.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_parquet_problems_name_the_row_counting_from_one() -> None:
    frame = pd.DataFrame(
        {"Date": ["2024-01-02", "2024-01-03"], "Open": ["1", "x"], "High": 2.0, "Low": 0.5, "Close": 1.0, "Volume": 1}
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    with pytest.raises(DataFileError, match=r"^row 2, column Open: 'x' is not a number$"):
        read_data_file(".parquet", buffer.getvalue())


def test_a_parquet_file_with_no_date_anywhere_is_refused() -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"open": [1.0], "high": [2.0], "low": [0.5], "close": [1.0], "volume": [1.0]}).to_parquet(buffer)
    with pytest.raises(DataFileError, match=r"^no date column; the columns are"):
        read_data_file(".parquet", buffer.getvalue())


def test_values_read_are_the_files_exactly() -> None:
    data = b"date,open,high,low,close,volume\n2024-01-02,0.1,0.30000000000000004,1e-300,0.2,1e18\n"
    frame = read_data_file(".csv", data).frame
    np.testing.assert_array_equal(frame.iloc[0].to_numpy(), [0.1, 0.30000000000000004, 1e-300, 0.2, 1e18])


GOOD = (
    b"Date,Open,High,Low,Close,Adj Close,Volume\n"
    b"2015-03-04,210.630005,211.199997,209.309998,210.229996,197.801392,93957400\n"
    b"2015-03-05,209.419998,210.800003,209.850006,210.460007,198.019653,76873000\n"
    b"2015-03-30,205.740005,208.610001,206.960007,208.250000,196.814926,96180400\n"
)


def good_parquet() -> bytes:
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(GOOD)).to_parquet(buffer)
    return buffer.getvalue()


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes replaced, inserted or cut, or truncated."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "cut", "truncate"]))
        chunk = draw(st.binary(min_size=1, max_size=4) | st.sampled_from([b",", b"\n", b"nan", b"-", b"e308", b"\xe9"]))
        if kind == "replace":
            data[at : at + len(chunk)] = chunk
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "cut":
            del data[at : at + len(chunk)]
        else:
            del data[at:]
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(suffix=st.sampled_from([".csv", ".parquet"]), data=st.data())
def test_any_damage_to_a_file_is_served_or_refused_with_a_reason(suffix: str, data: st.DataObject) -> None:
    original = GOOD if suffix == ".csv" else good_parquet()
    content = data.draw(damaged(original) | st.binary(max_size=64))
    try:
        bars = read_data_file(suffix, content)
    except DataFileError as error:
        reason = str(error)
    else:
        reason = ""
    if reason:
        return  # refused, saying why
    assert bars.frame.index.is_monotonic_increasing
    assert bars.frame.index.is_unique
    values = bars.frame.to_numpy()
    assert np.isfinite(values).all()
    assert (bars.frame["high"] >= bars.frame["low"]).all()


SHANGHAI_MINUTES = SymbolProfile(Interval.ONE_MINUTE, "Asia/Shanghai", ALL_DAY, BarTime.END)
NEW_YORK_MINUTES = SymbolProfile(Interval.ONE_MINUTE, "America/New_York")


def test_intraday_end_times_become_starts_in_the_declared_zone() -> None:
    data = b"dt,open,high,low,close,vol\n2020-07-01 09:31:00,1,2,0.5,1.5,10\n2020-07-01 13:01:00,1,2,0.5,1.5,10\n"
    history = read_data_file(".csv", data, SHANGHAI_MINUTES, "v").history
    # 09:30 and 13:00 in Shanghai (UTC+8) are 01:30Z and 05:00Z of 2020-07-01, day 18444.
    assert history.times.tolist() == [18444 * 86_400 + 5_400, 18444 * 86_400 + 18_000]
    assert [f"{stamp:%H:%M}" for stamp in history.frame.index] == ["09:30", "13:00"]
    assert (history.interval, history.time_zone, history.version) == (Interval.ONE_MINUTE, "Asia/Shanghai", "v")


def test_intraday_times_with_offsets_keep_their_instant() -> None:
    data = (
        b"date,open,high,low,close,volume\n2019-11-05T09:30:00-05:00,1,2,0.5,1.5,0\n2019-11-05T14:31:00Z,1,2,0.5,1,0\n"
    )
    history = read_data_file(".csv", data, NEW_YORK_MINUTES).history
    assert history.times.tolist() == [18205 * 86_400 + 52_200, 18205 * 86_400 + 52_260]  # 14:30Z and 14:31Z


def test_intraday_times_a_clock_change_repeats_are_refused_by_line() -> None:
    # New York went back from 02:00 to 01:00 on 2019-11-03: 01:00-01:59 happened twice.
    data = b"date,open,high,low,close,volume\n2019-11-03 00:59,1,2,0.5,1.5,0\n2019-11-03 01:30,1,2,0.5,1.5,0\n"
    with pytest.raises(
        DataFileError, match=r"line 3, column date: '2019-11-03 01:30' is not a time in America/New_York"
    ):
        read_data_file(".csv", data, NEW_YORK_MINUTES)


def test_intraday_times_must_increase() -> None:
    data = b"date,open,high,low,close,volume\n2019-11-05 09:31,1,2,0.5,1.5,0\n2019-11-05 09:31,1,2,0.5,1.5,0\n"
    with pytest.raises(DataFileError, match=r"line 3, column date: 2019-11-05T14:31:00Z follows 2019-11-05T14:31:00Z"):
        read_data_file(".csv", data, NEW_YORK_MINUTES)


def test_a_factor_column_is_read_and_checked() -> None:
    good = b"date,open,high,low,close,volume,adj_factor\n2024-01-02,1,2,0.5,1.5,10,1\n2024-01-03,1,2,0.5,1.5,10,2.5\n"
    history = read_data_file(".csv", good).history
    assert history.factors is not None
    assert history.factors.tolist() == [1.0, 2.5]
    bad = good.replace(b",2.5\n", b",0\n")
    with pytest.raises(DataFileError, match=r"line 3, column adj_factor: 0.0 is not a finite number above 0"):
        read_data_file(".csv", bad)
