"""Indicators against TA-Lib, 通达信 regression pins and independent loop implementations."""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from talib._ta_lib import MA_Type  # talib does not re-export it for type checkers

from idc.v1 import indicators_pb2
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import (
    INDICATORS,
    MAX_PERIOD,
    BollingerParameters,
    Convention,
    EMAParameters,
    KDJParameters,
    KDJSeed,
    MACDParameters,
    RSIParameters,
    SMAParameters,
    StdDev,
    ema,
)

TALIB = Convention.TALIB
TDX = Convention.TDX
SYMBOLS = ("SPY", "000001.SH", "AAPL")
SMA_MATYPE = MA_Type.SMA  # BBANDS with a simple moving average (matype 0)

# --- bars -----------------------------------------------------------------------


def make_bars(close: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """A bars frame around ``close``: open near the previous close, high >= max(open, close), low <= min."""
    rng = np.random.default_rng(seed)
    close = np.asarray(close, dtype="float64")
    opening = np.r_[close[:1], close[:-1]] * np.exp(rng.normal(0.0, 0.002, len(close)))
    high = np.maximum(opening, close) * (1 + np.abs(rng.normal(0.0, 0.005, len(close))))
    low = np.minimum(opening, close) * (1 - np.abs(rng.normal(0.0, 0.005, len(close))))
    index = pd.DatetimeIndex(pd.bdate_range("2000-01-03", periods=len(close)), name="date")
    volume = rng.integers(1_000, 1_000_000, len(close)).astype("float64")
    return pd.DataFrame({"open": opening, "high": high, "low": low, "close": close, "volume": volume}, index=index)


@st.composite
def bar_series(draw: st.DrawFn, min_length: int = 1, max_length: int = 600) -> pd.DataFrame:
    """Random-walk bars whose highest close is a level between 0.01 and 1e5.

    Some walks are rounded to a tick of 1e-4 of the level, and some hold still
    for a stretch, so that unchanged closes and flat windows come up.
    """
    length = draw(st.integers(min_length, max(min_length, max_length)))
    level = draw(st.floats(0.01, 1e5))
    volatility = draw(st.sampled_from([0.001, 0.01, 0.03]))
    seed = draw(st.integers(0, 2**32 - 1))
    flat_start = draw(st.integers(0, length))
    flat_length = draw(st.integers(0, 80))
    rounded = draw(st.booleans())
    steps = np.random.default_rng(seed).normal(0.0, volatility, length)
    steps[flat_start : flat_start + flat_length] = 0.0
    path = np.cumsum(steps)
    close = level * np.exp(path - path.max())
    if rounded:
        tick = level * 1e-4
        close = np.maximum(np.round(close / tick), 1.0) * tick
    return make_bars(close, seed)


@pytest.fixture(scope="module")
def store() -> BarStore:
    return BarStore([bundled_data_dir()])


def level_of(bars: pd.DataFrame) -> float:
    return float(max(1.0, bars["close"].abs().max()))


def compute(name: str, bars: pd.DataFrame, parameters: Any, convention: Convention) -> pd.DataFrame:
    return INDICATORS[name].compute(bars, parameters, convention)


def assert_matches(actual: pd.Series, expected: np.ndarray, atol: float) -> None:
    """Same NaN positions, and every other value within ``atol``."""
    ours = actual.to_numpy(dtype="float64")
    theirs = np.asarray(expected, dtype="float64")
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{actual.name}: NaN positions differ")
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol, err_msg=str(actual.name))


def price_tolerance(bars: pd.DataFrame) -> float:
    """1e-9, scaled with the price level for outputs in price units.

    Plain 1e-9 is only ~65 ulps at a price of 1e5, and both sides round
    differently: pandas' ewm and TA-Lib's EMA recursion each accumulate
    rounding over ~period steps (measured up to 7e-10 apart at 1e5), and
    TA-Lib's running-sum variance drifts along a series (its BBANDS was
    measured 1.8e-8 away from the exact value at a price of 1.5e4, where
    ours was 7e-12 away; see test_bollinger_width_is_exact_where_running_sums_drift).
    So price outputs are compared to 1e-9 of the level; RSI (percent) to plain 1e-9.
    """
    return 1e-9 * level_of(bars)


# --- TA-Lib oracle: random walks ----------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_talib_sma_matches_talib_sma(data: st.DataObject) -> None:
    bars = data.draw(bar_series())
    period = data.draw(st.integers(1, min(len(bars), MAX_PERIOD)))
    result = compute("sma", bars, SMAParameters(period), TALIB)
    assert_matches(result["sma"], talib.SMA(bars["close"].to_numpy(), period), price_tolerance(bars))


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_talib_ema_matches_talib_ema(data: st.DataObject) -> None:
    bars = data.draw(bar_series())
    period = data.draw(st.integers(1, min(len(bars), MAX_PERIOD)))
    expected = talib.EMA(bars["close"].to_numpy(), period)
    assert_matches(compute("ema", bars, EMAParameters(period), TALIB)["ema"], expected, price_tolerance(bars))
    assert_matches(ema(bars["close"], period, TALIB), expected, price_tolerance(bars))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_talib_macd_matches_talib_macd(data: st.DataObject) -> None:
    fast = data.draw(st.integers(2, 30), label="fast")
    slow = data.draw(st.integers(fast + 1, 60), label="slow")
    signal = data.draw(st.integers(1, 20), label="signal")
    bars = data.draw(bar_series(min_length=slow))
    result = compute("macd", bars, MACDParameters(fast, slow, signal), TALIB)
    expected = talib.MACD(bars["close"].to_numpy(), fast, slow, signal)
    for output, values in zip(("macd", "signal", "histogram"), expected, strict=True):
        assert_matches(result[output], values, price_tolerance(bars))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_talib_rsi_matches_talib_rsi(data: st.DataObject) -> None:
    bars = data.draw(bar_series(min_length=3))
    period = data.draw(st.integers(2, min(len(bars) - 1, MAX_PERIOD)))
    result = compute("rsi", bars, RSIParameters(period), TALIB)
    assert_matches(result["rsi"], talib.RSI(bars["close"].to_numpy(), period), 1e-9)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_talib_bollinger_matches_talib_bbands_with_population_std(data: st.DataObject) -> None:
    bars = data.draw(bar_series(min_length=2))
    period = data.draw(st.integers(2, min(len(bars), MAX_PERIOD)))
    k = data.draw(st.floats(0.1, 10.0))
    std_dev = data.draw(st.sampled_from([None, StdDev.POPULATION]))
    result = compute("boll", bars, BollingerParameters(period, k, std_dev), TALIB)
    expected = talib.BBANDS(bars["close"].to_numpy(), period, k, k, matype=SMA_MATYPE)
    for output, values in zip(("upper", "middle", "lower"), expected, strict=True):
        assert_matches(result[output], values, price_tolerance(bars))


# --- TA-Lib oracle: real series -------------------------------------------------------------


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(
    ("name", "parameters", "reference"),
    [
        ("sma", SMAParameters(), lambda close: [talib.SMA(close, 20)]),
        ("sma", SMAParameters(5), lambda close: [talib.SMA(close, 5)]),
        ("ema", EMAParameters(), lambda close: [talib.EMA(close, 20)]),
        ("ema", EMAParameters(60), lambda close: [talib.EMA(close, 60)]),
        ("macd", MACDParameters(), lambda close: talib.MACD(close, 12, 26, 9)),
        ("macd", MACDParameters(5, 35, 5), lambda close: talib.MACD(close, 5, 35, 5)),
        ("rsi", RSIParameters(), lambda close: [talib.RSI(close, 14)]),
        ("rsi", RSIParameters(6), lambda close: [talib.RSI(close, 6)]),
        ("boll", BollingerParameters(), lambda close: talib.BBANDS(close, 20, 2.0, 2.0, matype=SMA_MATYPE)),
        ("boll", BollingerParameters(10, 1.5), lambda close: talib.BBANDS(close, 10, 1.5, 1.5, matype=SMA_MATYPE)),
    ],
)
def test_talib_convention_matches_talib_on_real_series(
    store: BarStore,
    symbol: str,
    name: str,
    parameters: Any,
    reference: Callable[[np.ndarray], list[np.ndarray]],
) -> None:
    bars = store.bars(symbol)
    result = compute(name, bars, parameters, TALIB)
    expected = reference(bars["close"].to_numpy())
    for output, values in zip(INDICATORS[name].outputs, expected, strict=True):
        assert_matches(result[output], values, 1e-9)


# --- warm-up ----------------------------------------------------------------------------------


def first_valid(series: pd.Series) -> int:
    return int(np.flatnonzero(series.notna().to_numpy())[0])


@pytest.mark.parametrize(
    ("name", "parameters", "convention", "first"),
    [
        ("macd", MACDParameters(), TALIB, 33),
        ("macd", MACDParameters(5, 35, 1), TALIB, 34),
        ("rsi", RSIParameters(), TALIB, 14),
        ("boll", BollingerParameters(), TALIB, 19),
        ("sma", SMAParameters(), TALIB, 19),
        ("ema", EMAParameters(), TALIB, 19),
        ("kdj", KDJParameters(), TALIB, 8),
        ("macd", MACDParameters(), TDX, 0),
        ("rsi", RSIParameters(), TDX, 1),
        ("kdj", KDJParameters(), TDX, 0),
        ("ema", EMAParameters(), TDX, 0),
        ("sma", SMAParameters(), TDX, 19),
        ("boll", BollingerParameters(), TDX, 19),
    ],
)
def test_first_valid_bar_is_the_documented_warm_up(
    store: BarStore, name: str, parameters: Any, convention: Convention, first: int
) -> None:
    result = compute(name, store.bars("SPY"), parameters, convention)
    for output in result.columns:
        assert first_valid(result[output]) == first, output
        assert result[output].iloc[first:].notna().all(), output


# --- 通达信 regression pins ----------------------------------------------------------------
# These figures came from our own code (PROVENANCE.md), not from 通达信: they pin today's
# values against accidental change. The independent oracle is MyTT, in
# test_indicators_tdx_oracle.py.


@pytest.mark.parametrize(
    ("symbol", "day", "dif", "dea"),
    [
        ("SPY", "2023-12-29", 7.4880921771, 7.5222453641),
        ("SPY", "2026-03-27", -9.8551530048, -7.3929258776),
        ("000001.SH", "2023-12-29", -22.8746222612, -27.6650371902),
        ("000001.SH", "2026-06-16", -16.2015269606, -17.7731961644),
        ("AAPL", "2018-01-19", 1.7824423213, 1.2813726230),
    ],
)
def test_tdx_macd_matches_its_regression_pins(store: BarStore, symbol: str, day: str, dif: float, dea: float) -> None:
    row = compute("macd", store.bars(symbol), MACDParameters(), TDX).loc[day]
    assert row["macd"] == pytest.approx(dif, abs=1e-9)
    assert row["signal"] == pytest.approx(dea, abs=1e-9)
    assert row["histogram"] == pytest.approx(2 * (dif - dea), abs=1e-9)


def test_tdx_macd_bar_matches_its_regression_pin(store: BarStore) -> None:
    row = compute("macd", store.bars("000001.SH"), MACDParameters(), TDX).loc["2026-06-16"]
    assert row["histogram"] == pytest.approx(3.1433384075, abs=1e-9)


def test_aapl_regression_pins_hold_under_both_conventions(store: BarStore) -> None:
    for convention in Convention:
        row = compute("macd", store.bars("AAPL"), MACDParameters(), convention).loc["2018-01-19"]
        assert row["macd"] == pytest.approx(1.7824423213, abs=1e-9)
        assert row["signal"] == pytest.approx(1.2813726230, abs=1e-9)


# --- independent loop implementations of the 通达信 formulas -------------------------------


def loop_sma_tdx(values: list[float], n: int, m: int) -> list[float]:
    """通达信 SMA(X, N, M): Y = (M*X + (N-M)*Y') / N, Y = X on the first bar."""
    out = [values[0]]
    for value in values[1:]:
        out.append((m * value + (n - m) * out[-1]) / n)
    return out


def loop_ema(values: list[float], period: int) -> list[float]:
    """通达信 EMA(X, N): Y = (2*X + (N-1)*Y') / (N+1), Y = X on the first bar."""
    return loop_sma_tdx(values, period + 1, 2)


def loop_macd(close: list[float], fast: int, slow: int, signal: int) -> list[list[float]]:
    dif = [f - s for f, s in zip(loop_ema(close, fast), loop_ema(close, slow), strict=True)]
    dea = loop_ema(dif, signal)
    return [dif, dea, [2 * (a - b) for a, b in zip(dif, dea, strict=True)]]


def loop_rsi(close: list[float], n: int) -> list[float]:
    """SMA(MAX(C-LC,0),N,1) / SMA(ABS(C-LC),N,1) * 100; no value on bar 0, 0 while nothing moved."""
    changes = [c - lc for lc, c in itertools.pairwise(close)]
    up = loop_sma_tdx([max(change, 0.0) for change in changes], n, 1)
    moved = loop_sma_tdx([abs(change) for change in changes], n, 1)
    return [math.nan] + [0.0 if b == 0 else a / b * 100 for a, b in zip(up, moved, strict=True)]


def loop_boll(close: list[float], n: int, k: float, ddof: int) -> list[list[float]]:
    upper: list[float] = []
    middle: list[float] = []
    lower: list[float] = []
    for t in range(len(close)):
        if t < n - 1:
            for output in (upper, middle, lower):
                output.append(math.nan)
            continue
        window = close[t - n + 1 : t + 1]
        mean = sum(window) / n
        std = math.sqrt(sum((x - mean) ** 2 for x in window) / (n - ddof))
        upper.append(mean + k * std)
        middle.append(mean)
        lower.append(mean - k * std)
    return [upper, middle, lower]


def loop_kdj(bars: pd.DataFrame, n: int, m1: int, m2: int, seed: KDJSeed, full: bool) -> list[list[float]]:
    """RSV over the last n bars (or fewer at the start unless ``full``), K and D smoothed, J = 3K - 2D."""
    high, low, close = bars["high"].tolist(), bars["low"].tolist(), bars["close"].tolist()
    k_out: list[float] = []
    d_out: list[float] = []
    j_out: list[float] = []
    k = d = math.nan
    for t in range(len(close)):
        if full and t < n - 1:
            for output in (k_out, d_out, j_out):
                output.append(math.nan)
            continue
        first = max(0, t - n + 1)
        hhv, llv = max(high[first : t + 1]), min(low[first : t + 1])
        rsv = 50.0 if hhv == llv else (close[t] - llv) / (hhv - llv) * 100
        if math.isnan(k):
            k = d = 50.0 if seed is KDJSeed.FIFTY else rsv
        k = ((m1 - 1) * k + rsv) / m1
        d = ((m2 - 1) * d + k) / m2
        k_out.append(k)
        d_out.append(d)
        j_out.append(3 * k - 2 * d)
    return [k_out, d_out, j_out]


def assert_close_to_loop(result: pd.DataFrame, expected: list[list[float]], scale: float) -> None:
    """Relative 1e-9, with an absolute floor of 1e-9 of the output's scale for values near 0."""
    for output, values in zip(result.columns, expected, strict=True):
        ours = result[output].to_numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(values), err_msg=f"{output}: NaN positions differ")
        np.testing.assert_allclose(ours, values, rtol=1e-9, atol=1e-9 * scale, err_msg=output)


@settings(max_examples=100, deadline=None)
@given(bars=bar_series(), period=st.integers(1, 200))
def test_tdx_ema_equals_the_loop(bars: pd.DataFrame, period: int) -> None:
    period = min(period, len(bars))
    expected = [loop_ema(bars["close"].tolist(), period)]
    assert_close_to_loop(compute("ema", bars, EMAParameters(period), TDX), expected, level_of(bars))
    assert_close_to_loop(ema(bars["close"], period, TDX).to_frame(), expected, level_of(bars))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_tdx_macd_equals_the_loop(data: st.DataObject) -> None:
    fast = data.draw(st.integers(1, 30), label="fast")
    slow = data.draw(st.integers(fast + 1, 60), label="slow")
    signal = data.draw(st.integers(1, 20), label="signal")
    bars = data.draw(bar_series(min_length=slow))
    expected = loop_macd(bars["close"].tolist(), fast, slow, signal)
    result = compute("macd", bars, MACDParameters(fast, slow, signal), TDX)
    assert_close_to_loop(result, expected, level_of(bars))


@settings(max_examples=100, deadline=None)
@given(bars=bar_series(min_length=2), period=st.integers(1, 100))
def test_tdx_rsi_equals_the_loop(bars: pd.DataFrame, period: int) -> None:
    period = min(period, len(bars) - 1)
    result = compute("rsi", bars, RSIParameters(period), TDX)
    assert_close_to_loop(result, [loop_rsi(bars["close"].tolist(), period)], 1.0)


@settings(max_examples=100, deadline=None)
@given(bars=bar_series(min_length=2, max_length=300), period=st.integers(2, 60), k=st.floats(0.1, 10.0))
def test_tdx_bollinger_equals_the_loop_with_sample_std(bars: pd.DataFrame, period: int, k: float) -> None:
    period = min(period, len(bars))
    expected = loop_boll(bars["close"].tolist(), period, k, ddof=1)
    for std_dev in (None, StdDev.SAMPLE):
        result = compute("boll", bars, BollingerParameters(period, k, std_dev), TDX)
        assert_close_to_loop(result, expected, level_of(bars))


@settings(max_examples=50, deadline=None)
@given(bars=bar_series(min_length=2, max_length=300), period=st.integers(2, 60), k=st.floats(0.1, 10.0))
def test_explicit_std_dev_overrides_the_convention(bars: pd.DataFrame, period: int, k: float) -> None:
    period = min(period, len(bars))
    population = compute("boll", bars, BollingerParameters(period, k, StdDev.POPULATION), TDX)
    assert_close_to_loop(population, loop_boll(bars["close"].tolist(), period, k, ddof=0), level_of(bars))
    sample = compute("boll", bars, BollingerParameters(period, k, StdDev.SAMPLE), TALIB)
    assert_close_to_loop(sample, loop_boll(bars["close"].tolist(), period, k, ddof=1), level_of(bars))


@settings(max_examples=150, deadline=None)
@given(
    bars=bar_series(max_length=300),
    period=st.integers(1, 60),
    k_period=st.integers(1, 10),
    d_period=st.integers(1, 10),
    seed=st.sampled_from(KDJSeed),
    convention=st.sampled_from(Convention),
)
def test_kdj_equals_the_loop(
    bars: pd.DataFrame, period: int, k_period: int, d_period: int, seed: KDJSeed, convention: Convention
) -> None:
    period = min(period, len(bars))
    expected = loop_kdj(bars, period, k_period, d_period, seed, full=convention is TALIB)
    result = compute("kdj", bars, KDJParameters(period, k_period, d_period, seed), convention)
    assert_close_to_loop(result, expected, 1.0)


# --- edge cases ---------------------------------------------------------------------------


def flat_bars(length: int, price: float = 12.34) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.bdate_range("2000-01-03", periods=length), name="date")
    return pd.DataFrame(
        {"open": price, "high": price, "low": price, "close": price, "volume": 1000.0}, index=index, dtype="float64"
    )


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize("seed", list(KDJSeed))
def test_kdj_of_a_flat_series_is_fifty(convention: Convention, seed: KDJSeed) -> None:
    result = compute("kdj", flat_bars(40), KDJParameters(seed=seed), convention).dropna()
    assert len(result) == (40 if convention is TDX else 32)
    assert (result == 50.0).all().all()


def test_kdj_first_rsv_seed_starts_k_d_and_j_at_the_first_rsv(store: BarStore) -> None:
    bars = store.bars("AAPL").iloc[:50]
    for convention, first in ((TDX, 0), (TALIB, 8)):
        row = compute("kdj", bars, KDJParameters(seed=KDJSeed.FIRST_RSV), convention).iloc[first]
        window = bars.iloc[max(0, first - 8) : first + 1]
        rsv = (window["close"].iloc[-1] - window["low"].min()) / (window["high"].max() - window["low"].min()) * 100
        assert row["k"] == pytest.approx(rsv, abs=1e-12)
        assert row["d"] == pytest.approx(rsv, abs=1e-12)
        assert row["j"] == pytest.approx(rsv, abs=1e-12)


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize("seed", list(KDJSeed))
def test_kdj_k_and_d_stay_within_0_and_100_on_real_series(
    store: BarStore, symbol: str, convention: Convention, seed: KDJSeed
) -> None:
    result = compute("kdj", store.bars(symbol), KDJParameters(seed=seed), convention).dropna()
    for output in ("k", "d"):
        assert result[output].between(0.0, 100.0).all(), output
    assert not result["j"].between(0.0, 100.0).all()  # J overshoots, as it should


@pytest.mark.parametrize("convention", list(Convention))
def test_rsi_of_a_flat_series_is_zero(convention: Convention) -> None:
    result = compute("rsi", flat_bars(30), RSIParameters(), convention)["rsi"]
    assert (result.dropna() == 0.0).all()
    assert result.notna().sum() == (16 if convention is TALIB else 29)


def test_talib_rsi_is_zero_only_until_something_moves() -> None:
    # Flat, one rise, then flat again for longer than the averages take to
    # decay below 1e-8: TA-Lib keeps the last ratio rather than dropping to 0.
    close = np.r_[np.full(20, 10.0), 11.0, np.full(500, 10.5)]
    result = compute("rsi", make_bars(close), RSIParameters(), TALIB)["rsi"]
    expected = talib.RSI(close, 14)
    assert_matches(result, expected, 1e-9)
    assert (result.iloc[14:20] == 0.0).all()
    # Bar 20: gain 1/14; bar 21: gain 13/196, loss 0.5/14 = 7/196; both then decay alike.
    assert (result.iloc[21:] - 65.0).abs().max() < 1e-9


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize("price", [0.1, 2.675, 1e5 / 3])
def test_bollinger_of_a_flat_series_has_zero_width(convention: Convention, price: float) -> None:
    # For these prices a summed mean of 20 equal closes rounds an ulp off the
    # close, which would leave a deviation of ~1e-17 (1e-11 at 33333) instead of 0.
    result = compute("boll", flat_bars(40, price), BollingerParameters(), convention).iloc[19:]
    assert result.notna().all().all()
    np.testing.assert_allclose(result["middle"], price, rtol=1e-15)
    assert (result["upper"] == result["middle"]).all()
    assert (result["lower"] == result["middle"]).all()


def test_bollinger_width_is_exact_where_running_sums_drift() -> None:
    # Running sums of squares (TA-Lib, pandas rolling std) drift along a long
    # series at a high price level; each window's deviation here is within
    # 1e-12 relative of the exact one, computed with fractions.
    rng = np.random.default_rng(11)
    close = 5e4 * np.exp(np.cumsum(rng.normal(0.0, 0.002, 20_000)))
    result = compute("boll", make_bars(close), BollingerParameters(20, 1.0), TALIB)
    for t in range(len(close) - 100, len(close)):
        window = [Fraction(x) for x in close[t - 19 : t + 1]]
        mean = sum(window) / 20
        std = math.sqrt(sum((x - mean) ** 2 for x in window) / 20)
        assert result["upper"].iloc[t] - result["middle"].iloc[t] == pytest.approx(std, rel=1e-12)


def test_rsi_with_period_one_is_100_on_rises_and_0_otherwise() -> None:
    close = np.array([10.0, 11.0, 10.5, 10.5, 12.0])
    for convention in Convention:
        result = compute("rsi", make_bars(close), RSIParameters(1), convention)["rsi"]
        np.testing.assert_array_equal(result.to_numpy(), [np.nan, 100.0, 0.0, 0.0, 100.0])


def test_talib_macd_with_fast_period_one_uses_the_close_as_fast_ema(store: BarStore) -> None:
    bars = store.bars("AAPL")
    result = compute("macd", bars, MACDParameters(1, 26, 9), TALIB)
    slow = talib.EMA(bars["close"].to_numpy(), 26)
    line = bars["close"].to_numpy() - slow
    expected_signal = np.full(len(line), np.nan)
    expected_signal[33:] = talib.EMA(line[25:], 9)[8:]
    line[:33] = np.nan
    assert_matches(result["macd"], line, 1e-9)
    assert_matches(result["signal"], expected_signal, 1e-9)


# --- purity and shape ---------------------------------------------------------------------


ALL_SPECS = [
    ("sma", SMAParameters(7)),
    ("ema", EMAParameters(7)),
    ("macd", MACDParameters(3, 8, 4)),
    ("rsi", RSIParameters(6)),
    ("boll", BollingerParameters(6, 2.5)),
    ("kdj", KDJParameters(6, 3, 3)),
    ("kdj", KDJParameters(6, 2, 4, KDJSeed.FIRST_RSV)),
]


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize(("name", "parameters"), ALL_SPECS)
def test_inputs_are_never_mutated(store: BarStore, name: str, parameters: Any, convention: Convention) -> None:
    bars = store.bars("000001.SH").iloc[-300:]
    before = copy.deepcopy(bars)
    compute(name, bars, parameters, convention)
    pd.testing.assert_frame_equal(bars, before, check_exact=True)


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize(("name", "parameters"), ALL_SPECS)
def test_same_input_gives_bitwise_identical_output(
    store: BarStore, name: str, parameters: Any, convention: Convention
) -> None:
    bars = store.bars("SPY")
    first = compute(name, bars, parameters, convention)
    second = compute(name, bars.copy(deep=True), parameters, convention)
    assert first.to_numpy().tobytes() == second.to_numpy().tobytes()


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize(("name", "parameters"), ALL_SPECS)
def test_output_keeps_the_index_and_has_the_registered_columns(
    name: str, parameters: Any, convention: Convention
) -> None:
    bars = make_bars(100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 60))))
    result = compute(name, bars, parameters, convention)
    assert result.index.equals(bars.index)
    assert result.index.name == "date"
    assert tuple(result.columns) == INDICATORS[name].outputs
    assert (result.dtypes == "float64").all()


# --- parameter validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: SMAParameters(period=0), "period"),
        (lambda: SMAParameters(period=MAX_PERIOD + 1), "period"),
        (lambda: EMAParameters(period=-1), "period"),
        (lambda: MACDParameters(fast_period=0), "fast_period"),
        (lambda: MACDParameters(slow_period=1001), "slow_period"),
        (lambda: MACDParameters(signal_period=0), "signal_period"),
        (lambda: MACDParameters(fast_period=26, slow_period=12), "fast_period"),
        (lambda: MACDParameters(fast_period=12, slow_period=12), "fast_period"),
        (lambda: RSIParameters(period=0), "period"),
        (lambda: BollingerParameters(k=0), "k"),
        (lambda: BollingerParameters(k=-1), "k"),
        (lambda: BollingerParameters(k=10.5), "k"),
        (lambda: BollingerParameters(k=math.nan), "k"),
        (lambda: BollingerParameters(k=math.inf), "k"),
        (lambda: BollingerParameters(period=1), "period"),
        (lambda: KDJParameters(period=0), "period"),
        (lambda: KDJParameters(k_period=0), "k_period"),
        (lambda: KDJParameters(d_period=1001), "d_period"),
    ],
)
def test_out_of_range_parameters_name_the_field(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        make()
    assert caught.value.field == field


@pytest.mark.parametrize("convention", list(Convention))
@pytest.mark.parametrize(
    ("name", "parameters", "length", "needed", "field"),
    [
        ("sma", SMAParameters(50), 10, 50, "period"),
        ("ema", EMAParameters(50), 49, 50, "period"),
        ("macd", MACDParameters(), 20, 26, "slow_period"),
        ("macd", MACDParameters(3, 30, 40), 29, 30, "slow_period"),
        ("rsi", RSIParameters(10), 10, 11, "period"),
        ("boll", BollingerParameters(21), 20, 21, "period"),
        ("kdj", KDJParameters(9), 8, 9, "period"),
    ],
)
def test_a_period_longer_than_the_series_names_the_field(
    name: str, parameters: Any, length: int, needed: int, field: str, convention: Convention
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        compute(name, make_bars(np.linspace(10.0, 20.0, length)), parameters, convention)
    assert caught.value.field == field
    compute(name, make_bars(np.linspace(10.0, 20.0, needed)), parameters, convention)


# --- registry -------------------------------------------------------------------------------


def test_registry_holds_the_six_indicators_with_their_outputs() -> None:
    assert {name: indicator.outputs for name, indicator in INDICATORS.items()} == {
        "sma": ("sma",),
        "ema": ("ema",),
        "macd": ("macd", "signal", "histogram"),
        "rsi": ("rsi",),
        "boll": ("upper", "middle", "lower"),
        "kdj": ("k", "d", "j"),
    }


def test_registry_matches_the_proto_oneof_and_parameter_fields() -> None:
    oneof = indicators_pb2.IndicatorSpec.DESCRIPTOR.oneofs_by_name["parameters"]
    proto = {}
    for field in oneof.fields:
        assert field.message_type is not None
        proto[field.name] = tuple(member.name for member in field.message_type.fields)
    assert {name: indicator.parameter_names() for name, indicator in INDICATORS.items()} == proto


def test_defaults_are_the_documented_ones() -> None:
    assert SMAParameters() == SMAParameters(20)
    assert EMAParameters() == EMAParameters(20)
    assert MACDParameters() == MACDParameters(12, 26, 9)
    assert RSIParameters() == RSIParameters(14)
    assert BollingerParameters() == BollingerParameters(20, 2.0, None)
    assert KDJParameters() == KDJParameters(9, 3, 3, KDJSeed.FIFTY)


def test_series_names_use_the_label() -> None:
    assert INDICATORS["sma"].series_names("sma5") == ["sma5"]
    assert INDICATORS["boll"].series_names("boll") == ["boll.upper", "boll.middle", "boll.lower"]


@pytest.mark.parametrize("name", sorted(INDICATORS))
def test_an_indicator_pickles_by_name_as_render_workers_receive_it(name: str) -> None:
    assert pickle.loads(pickle.dumps(INDICATORS[name])) is INDICATORS[name]
