from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from idc_server.core.data import (
    BAR_COLUMNS,
    BarStore,
    History,
    Interval,
    PriceAdjustment,
    SymbolState,
    bars_from_columns,
    bundled_data_dir,
    check_window,
    history_window,
    parse_bound,
    parse_date,
    window_positions,
)
from idc_server.core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError


@pytest.fixture(scope="module")
def store() -> BarStore:
    return BarStore([bundled_data_dir()])


@pytest.mark.parametrize(
    ("symbol", "rows", "first", "last"),
    [
        ("SPY", 8347, "1993-01-29", "2026-03-27"),
        ("000001.SH", 3993, "2010-01-04", "2026-06-16"),
        ("AAPL", 3379, "2004-08-19", "2018-01-19"),
    ],
)
def test_bundled_files_load_as_normalised_bars(store: BarStore, symbol: str, rows: int, first: str, last: str) -> None:
    frame = store.bars(symbol)
    assert list(frame.columns) == list(BAR_COLUMNS)
    assert frame.index.name == "date"
    assert len(frame) == rows
    assert frame.index[0] == pd.Timestamp(first)
    assert frame.index[-1] == pd.Timestamp(last)
    assert all(dtype == "float64" for dtype in frame.dtypes)
    assert frame.index.is_monotonic_increasing
    assert frame.index.is_unique


def test_spy_columns_are_mapped_by_name_not_position(store: BarStore) -> None:
    # SPY.csv is ordered Date,Close,High,Low,Open,Volume.
    row = store.bars("SPY").loc["2023-12-29"]
    assert row["close"] == pytest.approx(462.58, abs=0.01)
    assert row["volume"] == 122_283_100
    assert row["low"] <= row["open"] <= row["high"]


def test_symbols_match_case_insensitively(store: BarStore) -> None:
    assert store.canonical("spy") == "SPY"
    assert store.canonical("000001.sh") == "000001.SH"
    assert store.symbols() == ["000001.SH", "000001.SH-1MIN", "AAPL", "SPX-1MIN", "SPY"]


@pytest.mark.parametrize("symbol", ["NOPE", "../../etc/passwd", "../data/SPY", "SPY.csv", ""])
def test_unknown_or_path_like_symbols_are_not_found(store: BarStore, symbol: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.bars(symbol)
    assert caught.value.field == "symbol"


def test_user_folder_adds_and_overrides_symbols(tmp_path: Path) -> None:
    (tmp_path / "spy.csv").write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10\n")
    (tmp_path / "MINE.csv").write_text("date,open,high,low,close,vol\n2020-01-02,1,2,0.5,1.5,10\n")
    store = BarStore([bundled_data_dir(), tmp_path])
    assert store.symbols() == ["000001.SH", "000001.SH-1MIN", "AAPL", "MINE", "SPX-1MIN", "spy"]
    assert len(store.bars("SPY")) == 1


def test_bars_are_read_once_and_cached(store: BarStore) -> None:
    assert store.bars("AAPL") is store.bars("aapl")


@pytest.mark.parametrize("text", ["2023-13-01", "2023-02-30", "2023-1-1", "20230101", "2023/01/01", "yesterday"])
def test_parse_date_rejects_malformed_dates(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_date("start_date", text)
    assert caught.value.field == "start_date"
    assert text in caught.value.description


def test_parse_date_reads_iso_dates_and_empty_means_unbounded() -> None:
    assert parse_date("end_date", "2024-02-29") == date(2024, 2, 29)
    assert parse_date("end_date", "") is None


def window(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    return frame.iloc[window_positions(History(frame).days, start, end)]


def test_window_is_inclusive_on_both_ends(store: BarStore) -> None:
    selected = window(store.bars("SPY"), date(2023, 1, 3), date(2023, 12, 29))
    assert len(selected) == 250
    assert selected.index[0] == pd.Timestamp("2023-01-03")
    assert selected.index[-1] == pd.Timestamp("2023-12-29")


def test_window_without_bounds_is_whole_history(store: BarStore) -> None:
    assert len(window(store.bars("AAPL"), None, None)) == 3379


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2023, 1, 7), date(2023, 1, 8)), (date(2030, 1, 1), None), (None, date(1990, 1, 1))],
)
def test_window_with_no_bars_is_not_found(store: BarStore, start: date | None, end: date | None) -> None:
    with pytest.raises(NotFoundError, match="no bars"):
        window(store.bars("SPY"), start, end)


def test_window_rejects_end_before_start(store: BarStore) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        window(store.bars("SPY"), date(2023, 2, 1), date(2023, 1, 1))
    assert caught.value.field == "end_date"


def test_reads_parquet_with_dates_in_the_index(tmp_path: Path, store: BarStore) -> None:
    spy = store.bars("SPY").iloc[-300:]
    spy.rename(columns=str.title).rename_axis("Date").to_parquet(tmp_path / "SPYP.parquet")
    frame = BarStore([tmp_path]).bars("spyp")
    pd.testing.assert_frame_equal(frame, spy, check_index_type=False, check_freq=False)


def test_summaries_give_each_symbols_range_and_count(store: BarStore) -> None:
    summaries = {summary.symbol: summary for summary in store.summaries()}
    assert list(summaries) == ["000001.SH", "000001.SH-1MIN", "AAPL", "SPX-1MIN", "SPY"]
    assert summaries["SPY"].first == date(1993, 1, 29)
    assert summaries["SPY"].last == date(2026, 3, 27)
    assert summaries["SPY"].bar_count == 8347


def test_files_of_other_kinds_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "NOTES.txt").write_text("not data")
    (tmp_path / "X.csv").write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n")
    assert BarStore([tmp_path]).symbols() == ["X"]


def inline_columns(count: int) -> dict[str, list[float]]:
    return {
        "open": [10.0] * count,
        "high": [11.0] * count,
        "low": [9.0] * count,
        "close": [10.5] * count,
        "volume": [100.0] * count,
    }


def test_inline_bars_become_a_bars_frame() -> None:
    frame = bars_from_columns([19720, 19723], inline_columns(2), max_bars=10)
    assert list(frame.index) == [pd.Timestamp("2023-12-29"), pd.Timestamp("2024-01-01")]
    assert frame.index.name == "date"
    assert list(frame.columns) == list(BAR_COLUMNS)
    assert frame["close"].tolist() == [10.5, 10.5]


@pytest.mark.parametrize(
    ("dates", "change", "field", "message"),
    [
        ([], {}, "dates", "at least one bar"),
        ([1, 2, 3, 4], {}, "dates", "limit of 3"),
        ([1, 2], {"close": [1.0]}, "close", "has 1 values but dates has 2"),
        ([1, 2], {"volume": [1.0, 2.0, 3.0]}, "volume", "has 3 values"),
        ([1, 2], {"open": [1.0, float("nan")]}, "open", "at index 1: nan is not a finite number"),
        ([1, 2], {"high": [float("inf"), 11.0]}, "high", "at index 0: inf is not a finite number"),
        ([1, 1], {}, "dates", "at index 1: 1970-01-02 follows 1970-01-02; dates must be strictly increasing"),
        ([2, 1], {}, "dates", "at index 1: 1970-01-02 follows 1970-01-03"),
        ([1, 2], {"low": [9.0, 12.0]}, "high", "at index 1: 11.0 is below low 12.0"),
        ([1, 2], {"volume": [1.0, -1.0]}, "volume", "at index 1: -1 is outside 0..1e[+]18"),
        # Finite values whose indicators or charts would overflow a double (issue 10, point 8).
        ([1, 2], {"volume": [1.7e308, 1.0]}, "volume", "at index 0: 1.7e[+]308 is outside 0..1e[+]18"),
        (
            [1, 2],
            {"high": [11.0, 1.5e308], "low": [9.0, 0.0]},
            "high",
            "at index 1: 1.5e[+]308 is outside -1e[+]15..1e[+]15",
        ),
        (
            [1, 2],
            {name: [1e308, 1e308] for name in ("open", "high", "low", "close")},
            "open",
            "at index 0: 1e[+]308 is outside",
        ),
        ([1, 2], {"low": [-2e15, 9.0]}, "low", "at index 0: -2e[+]15 is outside -1e[+]15..1e[+]15"),
        ([-719_163, 2], {}, "dates", "at index 0: -719163 is outside 0001-01-01..9999-12-31"),
    ],
)
def test_bad_inline_bars_name_the_column(
    dates: list[int], change: dict[str, list[float]], field: str, message: str
) -> None:
    columns = inline_columns(len(dates)) | change
    with pytest.raises(InvalidArgumentError, match=message) as caught:
        bars_from_columns(dates, columns, max_bars=3)
    assert caught.value.field == field


def test_changed_file_is_read_again_with_a_new_version(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n")
    store = BarStore([tmp_path])
    history = store.history("x")
    assert store.history("X") is history
    path.write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n2020-01-03,1,2,0.5,1.5,10\n")
    changed = store.history("x")
    assert changed.version != history.version
    assert changed.frame["close"].tolist() == [1.0, 1.5]
    assert changed.columns["close"].tolist() == [1.0, 1.5]
    assert changed.days.tolist() == [18263, 18264]  # 2020-01-02 and 03, in days since 1970-01-01


def test_history_columns_are_read_only_and_match_the_frame(store: BarStore) -> None:
    history = store.history("SPY")
    for name, values in history.columns.items():
        assert not values.flags.writeable
        np.testing.assert_array_equal(values, history.frame[name].to_numpy())
    assert not history.days.flags.writeable
    assert history.days[0] == (history.frame.index[0].date() - date(1970, 1, 1)).days


def test_inline_history_version_is_a_digest_of_its_data() -> None:
    frame = bars_from_columns([1, 2], inline_columns(2), max_bars=3)
    same = bars_from_columns([1, 2], inline_columns(2), max_bars=3)
    other = bars_from_columns([1, 3], inline_columns(2), max_bars=3)
    assert History(frame).version == History(same).version != History(other).version
    assert History(frame).version.startswith("inline:")


def test_parquet_with_an_unnamed_datetime_index_is_read(tmp_path: Path, store: BarStore) -> None:
    spy = store.bars("SPY").iloc[-50:]
    spy.rename_axis(None).to_parquet(tmp_path / "UNNAMED.parquet")
    frame = BarStore([tmp_path]).bars("UNNAMED")
    pd.testing.assert_frame_equal(frame, spy, check_index_type=False, check_freq=False)


def test_parquet_dates_with_a_time_zone_count_as_their_local_day(tmp_path: Path) -> None:
    # Midnight in Shanghai is the previous day in UTC.
    dates = pd.DatetimeIndex(["2024-03-08 00:00", "2024-03-11 00:00"]).tz_localize("Asia/Shanghai")
    frame = pd.DataFrame({"date": dates, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0})
    frame.to_parquet(tmp_path / "TZ.parquet")
    read = BarStore([tmp_path]).bars("TZ")
    assert list(read.index) == [pd.Timestamp("2024-03-08"), pd.Timestamp("2024-03-11")]


def test_a_bad_manifest_is_logged_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "X.csv").write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n")
    (tmp_path / "symbols.toml").write_text('[X]\nprice_adjustment = "sometimes"\n')
    with caplog.at_level(logging.WARNING, logger="idc_server.core.data_files"):
        store = BarStore([tmp_path])
        assert store.summaries()[0].price_adjustment is None
    assert len([record for record in caplog.records if "symbols.toml" in record.getMessage()]) == 1
    (tmp_path / "symbols.toml").write_text('[x]\nprice_adjustment = "none"\n')
    store = BarStore([tmp_path])
    assert store.summaries()[0].price_adjustment == PriceAdjustment.NONE


def test_an_invalid_file_fails_its_precondition_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n2020-01-03,1,2,0.5,,10\n")
    store = BarStore([tmp_path])
    with pytest.raises(FailedPreconditionError) as caught:
        store.history("x")
    assert caught.value.field == "symbol"
    assert (
        caught.value.description == "'X' cannot be served: X.csv: line 3, column close: no value (a half-written line?)"
    )
    [summary] = store.summaries()
    assert (summary.state, summary.first, summary.bar_count) == (SymbolState.INVALID, None, 0)
    path.write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n2020-01-03,1,2,0.5,2,10\n")
    assert store.history("x").columns["close"].tolist() == [1.0, 2.0]
    assert store.summaries()[0].state == SymbolState.READY


def test_the_folder_is_listed_again_at_most_once_per_interval(tmp_path: Path) -> None:
    now = [0.0]
    store = BarStore([tmp_path], relist_seconds=1.0, clock=lambda: now[0])
    (tmp_path / "LATE.csv").write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1,10\n")
    now[0] = 0.9
    assert store.symbols() == []
    now[0] = 1.0
    assert store.symbols() == ["LATE"]


def test_the_bundled_files_have_no_inconsistent_rows(store: BarStore) -> None:
    # SPY has 37 rows outside [low, high] by float noise (at most 1.4e-14) and no real ones.
    assert [summary.warning_count for summary in store.summaries()] == [0] * 5


def test_readers_see_whole_versions_while_the_file_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    versions = {
        (1.0,) * 3: "date,open,high,low,close,volume\n"
        + "".join(f"2020-01-0{day},1,2,0.5,1,10\n" for day in (2, 3, 6)),
        (2.0,) * 4: "date,open,high,low,close,volume\n"
        + "".join(f"2020-01-0{day},1,2,0.5,2,10\n" for day in (2, 3, 6, 7)),
    }
    texts = list(versions.values())
    path.write_text(texts[0])
    store = BarStore([tmp_path])
    done = threading.Event()

    def rewrite() -> None:
        for round_ in range(60):
            path.write_text(texts[round_ % 2])  # not atomic: readers may catch a half-written file
        done.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    while not done.is_set():
        try:
            history = store.history("X")
        except FailedPreconditionError:
            continue  # a half-written file is refused, never served in part
        closes = tuple(history.columns["close"].tolist())
        assert closes in versions
        assert len(history.frame) == len(history.days) == len(closes)
    writer.join()
    assert store.history("X").columns["close"].tolist() == [2.0] * 4


def sse_minutes(store: BarStore) -> History:
    return store.history("000001.SH-1MIN")


def wall_clock(history: History, window: slice) -> list[str]:
    return [f"{stamp:%Y-%m-%d %H:%M}" for stamp in history.frame.index[window]]


def test_date_time_windows_are_inclusive_at_both_ends(store: BarStore) -> None:
    history = sse_minutes(store)
    window = history_window(history, parse_bound("s", "2020-07-01T11:28"), parse_bound("e", "2020-07-01T13:01:00"))
    assert wall_clock(history, window) == [
        "2020-07-01 11:28",
        "2020-07-01 11:29",
        "2020-07-01 13:00",
        "2020-07-01 13:01",
    ]


def test_an_end_day_holds_every_bar_of_that_trading_day(store: BarStore) -> None:
    history = sse_minutes(store)
    window = history_window(history, date(2020, 7, 2), date(2020, 7, 2))
    assert window.stop - window.start == 240
    assert wall_clock(history, window)[::239] == ["2020-07-02 09:30", "2020-07-02 14:59"]


def test_an_empty_time_window_names_the_data_range(store: BarStore) -> None:
    with pytest.raises(NotFoundError, match="data covers 2020-07-01T09:30 to 2020-07-15T14:59"):
        history_window(sse_minutes(store), parse_bound("s", "2020-07-01T11:31"), parse_bound("e", "2020-07-01T12:59"))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2020-07-01", date(2020, 7, 1)),
        ("2020-07-01T09:30", datetime(2020, 7, 1, 9, 30)),
        ("2020-07-01T09:30:15", datetime(2020, 7, 1, 9, 30, 15)),
        ("", None),
    ],
)
def test_window_bounds_are_days_or_wall_clock_times(text: str, parsed: date | None) -> None:
    assert parse_bound("start_date", text) == parsed


@pytest.mark.parametrize("text", ["2020-07-01 09:30", "2020-07-01T9:30", "2020-07-01T09:30Z", "2020-07-01T24:00"])
def test_malformed_window_bounds_name_the_field(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_bound("start_date", text)
    assert caught.value.field == "start_date"


def test_an_end_time_before_the_start_time_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="end time 2020-07-01 09:00:00 is before start time 2020-07-01"):
        check_window(datetime(2020, 7, 1, 10, 0), datetime(2020, 7, 1, 9, 0))
    check_window(date(2020, 7, 1), datetime(2020, 7, 1, 9, 0))  # the start day's 00:00 is before 09:00


def test_symbols_toml_declares_interval_zone_and_sessions(tmp_path: Path) -> None:
    (tmp_path / "M.csv").write_text("dt,open,high,low,close,vol\n2020-07-01 09:31,1,2,0.5,1.5,10\n")
    manifest = '[M]\ninterval = "1min"\ntime_zone = "Asia/Shanghai"\nsessions = ["09:30-11:30"]\nbar_time = "end"\n'
    (tmp_path / "symbols.toml").write_text(manifest)
    store = BarStore([tmp_path], relist_seconds=0)
    history = store.history("M")
    assert (history.interval, history.time_zone, [str(s) for s in history.sessions]) == (
        Interval.ONE_MINUTE,
        "Asia/Shanghai",
        ["09:30-11:30"],
    )
    assert [f"{stamp:%H:%M}" for stamp in history.frame.index] == ["09:30"]
    (tmp_path / "symbols.toml").write_text(manifest.replace('bar_time = "end"\n', ""))
    assert [f"{stamp:%H:%M}" for stamp in store.history("M").frame.index] == ["09:31"]  # a changed table reads again


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('interval = "2min"', "[M] interval = '2min'; expected one of"),
        ('time_zone = "Mars/Olympus"', "[M] 'Mars/Olympus' is not an IANA time zone"),
        ('sessions = ["15:00-09:30"]', "[M] session '15:00-09:30' must open before it closes"),
        ('bar_time = "end"', "[M] bar_time = 'end' is for intraday intervals only"),
        ('colour = "red"', "[M] has unknown keys ['colour']"),
    ],
)
def test_a_bad_symbols_table_is_logged_by_symbol_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, table: str, problem: str
) -> None:
    (tmp_path / "M.csv").write_text("date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,10\n")
    (tmp_path / "symbols.toml").write_text(f"[M]\n{table}\n")
    with caplog.at_level(logging.WARNING):
        history = BarStore([tmp_path]).history("M")
    assert history.interval is Interval.ONE_DAY
    assert any(problem in record.getMessage() for record in caplog.records), [r.getMessage() for r in caplog.records]
