"""One suite over every kind of store (folder, Parquet dataset, PostgreSQL): same bars in, same history out.

The expected values are the frames the tests write, read back by pandas
itself, never through the store under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from store_kinds import FakeClock, StoreUnderTest, bars_frame

from idc_server.core.bars import BAR_COLUMNS
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import FailedPreconditionError
from idc_server.core.sources import HeldBars

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
CLOSES = [10.0, 11.0, 10.5, 12.0, 12.5]


def real_bars(rows: int) -> pd.DataFrame:
    """The first ``rows`` bars of the bundled AAPL file, read by pandas alone."""
    frame = pd.read_csv(bundled_data_dir() / "AAPL.csv", index_col=0, parse_dates=True).iloc[:rows]
    frame.columns = [str(name).lower() for name in frame.columns]
    frame.index.name = "date"
    return frame[list(BAR_COLUMNS)]


def assert_history(store: BarStore, symbol: str, expected: pd.DataFrame) -> None:
    history = store.history(symbol)
    expected_days = expected.index.to_numpy(dtype="datetime64[D]").astype(np.int64)
    np.testing.assert_array_equal(history.days, expected_days)
    for name in BAR_COLUMNS:
        np.testing.assert_array_equal(history.columns[name], expected[name].to_numpy(dtype=np.float64), err_msg=name)


def test_every_store_serves_the_bars_written(store: StoreUnderTest) -> None:
    bars = real_bars(400)
    store.write("REAL", bars)
    bar_store = BarStore([store.source(FakeClock())])
    assert bar_store.symbols() == ["REAL"]
    assert_history(bar_store, "real", bars)
    [summary] = bar_store.summaries()
    assert (summary.first, summary.last, summary.bar_count) == (
        bars.index[0].date(),
        bars.index[-1].date(),
        400,
    )


def test_a_new_bar_reaches_the_next_request_after_the_check_interval(store: StoreUnderTest) -> None:
    store.write("NEW", bars_frame(DAYS, CLOSES))
    clock = FakeClock()
    bar_store = BarStore([store.source(clock)], relist_seconds=0)
    assert len(bar_store.history("NEW").days) == 5
    added = bars_frame(["2024-01-09"], [13.0])
    store.append("NEW", added)
    clock.advance(1.01)  # the stores' version check runs at most once a second
    assert_history(bar_store, "NEW", pd.concat([bars_frame(DAYS, CLOSES), added]))


def test_a_changed_value_reaches_the_next_request(store: StoreUnderTest) -> None:
    store.write("EDIT", bars_frame(DAYS, CLOSES))
    clock = FakeClock()
    bar_store = BarStore([store.source(clock)], relist_seconds=0)
    before = bar_store.history("EDIT")
    store.set_value("EDIT", "2024-01-04", "close", 10.75)
    clock.advance(1.01)
    after = bar_store.history("EDIT")
    assert after.columns["close"][2] == 10.75
    assert after.version != before.version
    assert before.columns["close"][2] == 10.5  # the history a request already holds is never changed


# The folder store checks its files' signatures on every call; these two check by the clock.
@pytest.mark.parametrize("store", ["parquet", "postgresql"], indirect=True)
def test_a_change_within_the_check_interval_waits_for_it(store: StoreUnderTest) -> None:
    store.write("SOON", bars_frame(DAYS, CLOSES))
    clock = FakeClock()
    bar_store = BarStore([store.source(clock)], relist_seconds=0)
    bar_store.history("SOON")
    store.append("SOON", bars_frame(["2024-01-09"], [13.0]))
    clock.advance(0.5)
    assert len(bar_store.history("SOON").days) == 5
    clock.advance(0.51)
    assert len(bar_store.history("SOON").days) == 6


@pytest.mark.parametrize(("value", "shown"), [(float("nan"), "nan"), (float("inf"), "inf")])
def test_a_bad_value_names_the_symbol_and_row_while_others_are_served(
    store: StoreUnderTest, value: float, shown: str
) -> None:
    store.write("GOOD", bars_frame(DAYS, CLOSES))
    store.write("BAD", bars_frame(DAYS, CLOSES))
    clock = FakeClock()
    bar_store = BarStore([store.source(clock)], relist_seconds=0)
    store.set_value("BAD", "2024-01-05", "close", value)
    clock.advance(1.01)
    with pytest.raises(FailedPreconditionError) as raised:
        bar_store.history("BAD")
    message = str(raised.value)
    assert message.startswith("symbol: 'BAD' cannot be served: ")
    assert f"column close: {shown} is not a finite number" in message
    row = {"file": "line 5", "parquet": "row 4", "postgresql": "row 4 (ts 2024-01-05T00:00:00+00:00)"}[store.kind]
    assert f"{row}, column close" in message
    assert_history(bar_store, "GOOD", bars_frame(DAYS, CLOSES))
    bad = [summary for summary in bar_store.summaries() if summary.symbol == "BAD"]
    assert bad[0].state.value == "invalid"
    assert shown in bad[0].problem


@pytest.mark.parametrize("store", ["parquet", "postgresql"], indirect=True)  # the kinds of thousands of symbols
def test_a_budget_lets_go_of_the_least_recently_used_symbol_which_is_read_again(store: StoreUnderTest) -> None:
    for number, symbol in enumerate(("ONE", "TWO", "THREE"), start=1):
        store.write(symbol, bars_frame(DAYS, [close * number for close in CLOSES]))
    clock = FakeClock()  # never advanced: a symbol still held is served from memory, unchanged
    unbounded = BarStore([store.source(clock)], relist_seconds=0)
    size = unbounded.history("ONE").size_bytes  # every symbol has as many bars, so as many bytes
    held = HeldBars(2 * size)
    bar_store = BarStore([store.source(clock, held)], relist_seconds=0)
    bar_store.history("ONE")
    bar_store.history("TWO")
    bar_store.history("ONE")  # used again: TWO is now the least recently used
    assert (held.size_bytes, held.released) == (2 * size, 0)
    store.set_value("ONE", "2024-01-04", "close", 10.75)
    store.set_value("TWO", "2024-01-04", "close", 21.25)
    bar_store.history("THREE")
    assert (held.size_bytes, held.released) == (2 * size, 1)
    # ONE is still held, as is every symbol of the unbounded store: both serve the bars read before the
    # change until the check interval ends. TWO was let go of, so it is read again and has the change.
    assert bar_store.history("ONE").columns["close"][2] == 10.5
    assert unbounded.history("ONE").columns["close"][2] == 10.5
    assert bar_store.history("TWO").columns["close"][2] == 21.25
    assert (held.size_bytes, held.released) == (2 * size, 2)  # reading TWO let go of THREE, used least recently
