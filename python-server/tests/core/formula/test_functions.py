"""Formula functions against MyTT (an independent port of 通达信's functions) and hand-computed cases.

MyTT 2.9.3 differs from 通达信 (and from us) in documented places, which
the tests below spell out rather than hide:

- HHV, LLV, HHVBARS, LLVBARS: MyTT uses full windows (NaN for the first
  N-1 bars); 通达信 and we use the bars so far. Equal from bar N-1.
- STD: MyTT's STD is the population deviation (ddof 0), which is our STDP;
  our STD is 通达信's sample deviation (ddof 1).
- EVERY, EXIST: MyTT says False before N bars exist; we say NaN (no value).
- CROSS: MyTT treats a missing previous value as "below", so a line that
  starts above the other crosses on its first bar; we need the previous bar.
- BARSLAST: MyTT counts from before the first bar (i + 1) until the first
  true bar; we give NaN there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import MyTT
import numpy as np
import pytest
from formula_support import SYMBOLS, Array, assert_same, real_columns, run, series, walk_columns
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_server.core.formula import FUNCTIONS

Oracle = Callable[[dict[str, Array]], Any]

# --- MyTT, where it implements the function the same way ------------------------------------

# (formula, MyTT's value from the columns); every one equal at every bar.
SAME_AS_MYTT: list[tuple[str, Oracle]] = [
    ("X:MA(C,5);", lambda c: MyTT.MA(c["close"], 5)),
    ("X:MA(C,1);", lambda c: MyTT.MA(c["close"], 1)),
    ("X:EMA(C,12);", lambda c: MyTT.EMA(c["close"], 12)),
    ("X:EMA(C,1);", lambda c: MyTT.EMA(c["close"], 1)),
    ("X:SMA(C,9,2);", lambda c: MyTT.SMA(c["close"], 9, 2)),
    ("X:SMA(C,7,7);", lambda c: MyTT.SMA(c["close"], 7, 7)),
    ("X:DMA(C,0.2);", lambda c: MyTT.DMA(c["close"], 0.2)),
    ("X:WMA(C,10);", lambda c: MyTT.WMA(c["close"], 10)),
    ("X:REF(C,3);", lambda c: MyTT.REF(c["close"], 3)),
    ("X:STDP(C,20);", lambda c: MyTT.STD(c["close"], 20)),
    ("X:AVEDEV(C,14);", lambda c: MyTT.AVEDEV(c["close"], 14)),
    ("X:SUM(V,10);", lambda c: MyTT.SUM(c["volume"], 10)),
    ("X:SUM(C-O,0);", lambda c: MyTT.SUM(c["close"] - c["open"], 0)),
    ("X:COUNT(C>O,10);", lambda c: MyTT.COUNT(c["close"] > c["open"], 10)),
    ("X:IF(C>O,H,L);", lambda c: MyTT.IF(c["close"] > c["open"], c["high"], c["low"])),
    ("X:ABS(C-O);", lambda c: MyTT.ABS(c["close"] - c["open"])),
    ("X:MAX(O,C);", lambda c: MyTT.MAX(c["open"], c["close"])),
    ("X:MIN(O,C);", lambda c: MyTT.MIN(c["open"], c["close"])),
    ("X:CROSS(C,O);", lambda c: MyTT.CROSS(c["close"], c["open"])),
    ("X:BARSLASTCOUNT(C>O);", lambda c: MyTT.BARSLASTCOUNT(c["close"] > c["open"])),
    ("X:VALUEWHEN(C>H*0.999,O);", lambda c: MyTT.VALUEWHEN(c["close"] > c["high"] * 0.999, c["open"])),
    ("X:SLOPE(C,20);", lambda c: MyTT.SLOPE(c["close"], 20)),
    ("X:FORCAST(C,20);", lambda c: MyTT.FORCAST(c["close"], 20)),
]


def level(columns: dict[str, Array]) -> float:
    return float(np.nanmax(np.abs(columns["close"])))


def check_against_mytt(text: str, expected: Array, columns: dict[str, Array], start: int = 0) -> None:
    ours = run(text, columns)
    assert_same(ours[start:], np.asarray(expected, dtype="float64")[start:], rtol=1e-10, atol=1e-10 * level(columns))


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(("text", "mytt"), SAME_AS_MYTT, ids=[text for text, _ in SAME_AS_MYTT])
def test_function_equals_mytt_on_real_series(symbol: str, text: str, mytt: Oracle) -> None:
    columns = real_columns(symbol)
    check_against_mytt(text, mytt(columns), columns)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 300), scale=st.sampled_from([0.01, 1.0, 1e5]))
def test_functions_equal_mytt_on_random_walks(seed: int, length: int, scale: float) -> None:
    columns = walk_columns(length, seed, scale)
    for text, mytt in SAME_AS_MYTT:
        check_against_mytt(text, mytt(columns), columns)


# (formula, MyTT's value, the first bar from which they agree: before it MyTT has no value).
FULL_WINDOWS_IN_MYTT: list[tuple[str, Oracle, int]] = [
    ("X:HHV(H,10);", lambda c: MyTT.HHV(c["high"], 10), 9),
    ("X:LLV(L,10);", lambda c: MyTT.LLV(c["low"], 10), 9),
    ("X:HHVBARS(H,10);", lambda c: MyTT.HHVBARS(c["high"], 10), 9),
    ("X:LLVBARS(L,10);", lambda c: MyTT.LLVBARS(c["low"], 10), 9),
    ("X:EVERY(C>O,3);", lambda c: MyTT.EVERY(c["close"] > c["open"], 3), 2),
    ("X:EXIST(C>O*1.01,5);", lambda c: MyTT.EXIST(c["close"] > c["open"] * 1.01, 5), 4),
]


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(
    ("text", "mytt", "start"), FULL_WINDOWS_IN_MYTT, ids=[text for text, _, _ in FULL_WINDOWS_IN_MYTT]
)
def test_function_equals_mytt_once_its_window_is_full(symbol: str, text: str, mytt: Oracle, start: int) -> None:
    columns = real_columns(symbol)
    expected = np.asarray(mytt(columns), dtype="float64")
    check_against_mytt(text, expected, columns, start)
    assert not np.isnan(run(text, columns)[:start]).all() or "EVERY" in text or "EXIST" in text


def test_hhv_and_llv_use_the_bars_so_far_where_mytt_has_none() -> None:
    columns = series(3.0, 1.0, 5.0, 2.0, 4.0)
    assert run("X:HHV(C,3);", columns).tolist() == [3.0, 3.0, 5.0, 5.0, 5.0]
    assert run("X:LLV(C,3);", columns).tolist() == [3.0, 1.0, 1.0, 1.0, 2.0]
    assert run("X:HHVBARS(C,3);", columns).tolist() == [0.0, 1.0, 0.0, 1.0, 2.0]
    assert run("X:LLVBARS(C,3);", columns).tolist() == [0.0, 0.0, 1.0, 2.0, 1.0]
    assert np.isnan(MyTT.HHV(columns["close"], 3)[:2]).all()


def test_std_is_the_sample_deviation_and_stdp_mytts_population_one() -> None:
    columns = series(1.0, 2.0, 3.0, 4.0)
    assert run("X:STD(C,4);", columns)[3] == pytest.approx(math.sqrt(5.0 / 3.0), rel=1e-15)
    assert run("X:STDP(C,4);", columns)[3] == pytest.approx(math.sqrt(1.25), rel=1e-15)
    assert MyTT.STD(columns["close"], 4)[3] == pytest.approx(math.sqrt(1.25), rel=1e-15)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_std_is_stdp_scaled_by_bessel(symbol: str) -> None:
    columns = real_columns(symbol)
    sample, population = run("X:STD(C,20);", columns), MyTT.STD(columns["close"], 20)
    assert_same(sample, population * math.sqrt(20 / 19), rtol=1e-10, atol=1e-12 * level(columns))


def test_every_and_exist_have_no_value_before_n_bars_where_mytt_says_false() -> None:
    columns = series(1.0, 1.0, 1.0, 0.0)
    assert_same(run("X:EVERY(C,3);", columns), [math.nan, math.nan, 1.0, 0.0])
    assert_same(run("X:EXIST(C=0,3);", columns), [math.nan, math.nan, 0.0, 1.0])
    assert MyTT.EVERY(columns["close"], 3).tolist()[:2] == [False, False]


def test_cross_needs_the_previous_bar_where_mytt_treats_none_as_below() -> None:
    columns = series(1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    ours = run("X:CROSS(C,MA(C,3)*0.9);", columns)
    assert ours.tolist() == [0.0] * 6  # above the average from its first bar: no cross
    theirs = MyTT.CROSS(columns["close"], MyTT.MA(columns["close"], 3) * 0.9)
    assert theirs.tolist() == [False, False, True, False, False, False]


def test_barslast_has_no_value_before_the_first_true_bar_where_mytt_counts_from_before_the_start() -> None:
    columns = series(0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0)
    assert_same(run("X:BARSLAST(C);", columns), [math.nan, math.nan, 0.0, 1.0, 2.0, 0.0, 1.0])
    assert MyTT.BARSLAST(columns["close"]).tolist() == [1, 2, 0, 1, 2, 0, 1]


# --- hand-computed edge rules ------------------------------------------------------------


def test_ref_shifts_and_leaves_the_head_without_value() -> None:
    columns = series(1.0, 2.0, 3.0)
    assert_same(run("X:REF(C,1);", columns), [math.nan, 1.0, 2.0])
    assert_same(run("X:REF(C,0);", columns), [1.0, 2.0, 3.0])
    assert_same(run("X:REF(C,5);", columns), [math.nan] * 3)


def test_ema_and_sma_are_seeded_with_the_first_value() -> None:
    columns = series(10.0, 20.0, 30.0)
    # EMA(X,3): alpha 1/2. SMA(X,3,1): alpha 1/3.
    assert_same(run("X:EMA(C,3);", columns), [10.0, 15.0, 22.5], rtol=1e-15)
    assert_same(run("X:SMA(C,3,1);", columns), [10.0, 40 / 3, (30 + 2 * 40 / 3) / 3], rtol=1e-15)


def test_recursive_averages_start_at_the_first_value_and_carry_over_missing_bars() -> None:
    columns = series(math.nan, 4.0, math.nan, 8.0)
    # REF makes a missing head; the average starts at the first value, skips the gap.
    assert_same(run("X:EMA(C,3);", columns), [math.nan, 4.0, math.nan, 6.0], rtol=1e-15)
    assert_same(run("X:EMA(REF(C,2),3);", series(1.0, 2.0, 3.0, 5.0)), [math.nan, math.nan, 1.0, 1.5], rtol=1e-15)


def test_dma_with_a_factor_per_bar() -> None:
    close = series(10.0, 20.0, 30.0, 40.0)
    close["open"] = np.array([0.5, 0.5, 0.0, 0.25])  # A = 0 is outside (0, 1]: no value, carried over
    assert_same(run("X:DMA(C,O);", close), [10.0, 15.0, math.nan, 0.25 * 40 + 0.75 * 15], rtol=1e-15)


def test_sum_count_and_extremes_with_n_zero_run_from_the_first_bar() -> None:
    columns = series(1.0, 0.0, 3.0, 2.0)
    assert run("X:SUM(C,0);", columns).tolist() == [1.0, 1.0, 4.0, 6.0]
    assert run("X:COUNT(C,0);", columns).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert run("X:HHV(C,0);", columns).tolist() == [1.0, 1.0, 3.0, 3.0]
    assert run("X:LLVBARS(C,0);", columns).tolist() == [0.0, 0.0, 1.0, 2.0]
    assert_same(run("X:SUM(C,2);", columns), [math.nan, 1.0, 3.0, 5.0])


def test_hhvbars_takes_the_latest_of_equal_highs() -> None:
    columns = series(5.0, 1.0, 5.0, 2.0)
    assert run("X:HHVBARS(C,4);", columns).tolist() == [0.0, 1.0, 0.0, 1.0]
    assert run("X:HHVBARS(C,0);", columns).tolist() == [0.0, 1.0, 0.0, 1.0]


def test_cross_when_the_lines_touch() -> None:
    a = series(1.0, 2.0, 2.0, 3.0, 2.0, 3.0)
    a["open"] = np.full(6, 2.0)
    # Bar 1 touches (not above), bar 3 leaves the touch upwards: a cross; bar 5 rises again from below.
    assert run("X:CROSS(C,O);", a).tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 1.0]


def test_slope_and_forcast_of_a_line() -> None:
    columns = series(*(2.0 * t + 1.0 for t in range(6)))
    assert_same(run("X:SLOPE(C,4);", columns), [math.nan] * 3 + [2.0] * 3, rtol=1e-14)
    assert_same(run("X:FORCAST(C,4);", columns), [math.nan] * 3 + [7.0, 9.0, 11.0], rtol=1e-14)


def test_wma_weights_the_latest_bar_most() -> None:
    columns = series(1.0, 2.0, 4.0)
    assert_same(run("X:WMA(C,3);", columns), [math.nan, math.nan, (1 + 4 + 12) / 6], rtol=1e-15)


def test_barslastcount_and_valuewhen() -> None:
    columns = series(1.0, 1.0, 0.0, 1.0)
    assert run("X:BARSLASTCOUNT(C);", columns).tolist() == [1.0, 2.0, 0.0, 1.0]
    values = series(0.0, 1.0, 0.0, 1.0, 0.0)
    values["open"] = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    assert_same(run("X:VALUEWHEN(C,O);", values), [math.nan, 11.0, 11.0, 13.0, 13.0])


def test_division_by_zero_and_undefined_maths_have_no_value() -> None:
    columns = series(0.0, -8.0, 4.0)
    assert_same(run("X:1/C;", columns), [math.nan, -0.125, 0.25])
    assert_same(run("X:LN(C);", columns), [math.nan, math.nan, math.log(4.0)])
    assert_same(run("X:LOG(C);", columns), [math.nan, math.nan, math.log10(4.0)])
    assert_same(run("X:SQRT(C);", columns), [0.0, math.nan, 2.0])
    assert_same(run("X:POW(C,1/3);", columns), [0.0, math.nan, 4.0 ** (1 / 3)], rtol=1e-15)
    assert_same(run("X:EXP(C*1000);", columns), [1.0, 0.0, math.nan])
    assert_same(run("X:POW(C,2);", columns), [0.0, 64.0, 16.0])


def test_round_halves_away_from_zero_and_sign() -> None:
    columns = series(2.5, -2.5, 0.49, -0.0, 3.0)
    assert run("X:ROUND(C);", columns).tolist() == [3.0, -3.0, 0.0, 0.0, 3.0]
    assert run("X:SIGN(C);", columns).tolist() == [1.0, -1.0, 1.0, 0.0, 1.0]


def test_comparisons_and_logic_treat_no_value_as_false() -> None:
    columns = series(1.0, math.nan, 3.0)
    assert run("X:C<>2;", columns).tolist() == [1.0, 0.0, 1.0]
    assert run("X:C>=1 AND C<=3;", columns).tolist() == [1.0, 0.0, 1.0]
    assert run("X:NOT(C);", columns).tolist() == [0.0, 1.0, 0.0]
    assert run("X:C OR 0;", columns).tolist() == [1.0, 0.0, 1.0]
    assert run("X:IF(C,1,2);", columns).tolist() == [1.0, 2.0, 1.0]
    assert run("X:C=1 || C=3;", columns).tolist() == [1.0, 0.0, 1.0]
    assert run("X:C=1 && C=3;", columns).tolist() == [0.0, 0.0, 0.0]


def test_full_window_functions_have_no_value_until_n_values_exist() -> None:
    columns = series(1.0, 2.0, 3.0)
    for name in ("MA", "SUM", "STDP", "AVEDEV", "WMA", "COUNT"):
        assert np.isnan(run(f"X:{name}(C,3);", columns)[:2]).all(), name
        assert not np.isnan(run(f"X:{name}(C,3);", columns)[2]), name
    for name in ("STD", "SLOPE", "FORCAST"):
        assert_same(run(f"X:{name}(C,3);", columns)[:2], [math.nan, math.nan])


def test_a_period_longer_than_the_bars_gives_no_value() -> None:
    columns = series(1.0, 2.0)
    for name in ("MA", "STD", "WMA", "SLOPE", "AVEDEV", "SUM", "REF"):
        assert np.isnan(run(f"X:{name}(C,50);", columns)).all(), name


def test_every_declared_function_is_exercised_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [name for name in FUNCTIONS if f"{name}(" not in source]
    assert not untested


def test_the_language_reference_documents_every_function() -> None:
    reference = (Path(__file__).parents[4] / "docs" / "formula-language.md").read_text(encoding="utf-8")
    undocumented = [
        function.signature for function in FUNCTIONS.values() if f"| `{function.signature}` |" not in reference
    ]
    assert not undocumented
