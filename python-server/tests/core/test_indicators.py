from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import MACDPeriods, ema, macd


def loop_ema(values: list[float], period: int) -> list[float]:
    """The textbook recursion, written independently of pandas: y0 = x0, y = a*x + (1-a)*y."""
    alpha = 2.0 / (period + 1)
    out = [values[0]]
    for value in values[1:]:
        out.append(alpha * value + (1 - alpha) * out[-1])
    return out


def random_walk(seed: int, length: int, level: float) -> pd.Series:
    steps = np.random.default_rng(seed).normal(0.0, 0.01, length)
    return pd.Series(level * np.exp(np.cumsum(steps)), index=pd.bdate_range("2000-01-03", periods=length))


@pytest.fixture(scope="module")
def store() -> BarStore:
    return BarStore([bundled_data_dir()])


@pytest.mark.parametrize(
    ("symbol", "day", "expected_macd", "expected_signal"),
    [
        ("SPY", "2023-12-29", 7.4880921771, 7.5222453641),
        ("SPY", "2026-03-27", -9.8551530048, -7.3929258776),
        ("000001.SH", "2023-12-29", -22.8746222612, -27.6650371902),
        ("000001.SH", "2026-06-16", -16.2015269606, -17.7731961644),
        ("AAPL", "2018-01-19", 1.7824423213, 1.2813726230),
    ],
)
def test_macd_matches_reference_values(
    store: BarStore, symbol: str, day: str, expected_macd: float, expected_signal: float
) -> None:
    row = macd(store.bars(symbol)["close"]).loc[day]
    assert row["macd"] == pytest.approx(expected_macd, abs=1e-9)
    assert row["signal"] == pytest.approx(expected_signal, abs=1e-9)
    assert row["histogram"] == pytest.approx(expected_macd - expected_signal, abs=1e-9)


def test_tdx_macd_bar_is_twice_the_histogram(store: BarStore) -> None:
    # 000001.SH 2026-06-16: 通达信 MACD bar 3.1433384075 = 2 * (DIF - DEA).
    histogram = macd(store.bars("000001.SH")["close"])["histogram"]
    assert 2 * histogram["2026-06-16"] == pytest.approx(3.1433384075, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(1, 400),
    level=st.floats(0.01, 1e5),
    period=st.integers(1, 60),
)
def test_ema_equals_the_textbook_recursion(seed: int, length: int, level: float, period: int) -> None:
    close = random_walk(seed, length, level)
    np.testing.assert_allclose(ema(close, period).to_numpy(), loop_ema(close.tolist(), period), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), level=st.floats(0.5, 1e4))
def test_macd_converges_to_talib_after_warm_up(seed: int, level: float) -> None:
    # TA-Lib seeds its EMAs with simple averages, so the two agree only once
    # the seed has decayed; after 400 bars the difference is far below 1e-9.
    close = random_walk(seed, 800, level)
    ours = macd(close)
    talib_macd, talib_signal, talib_hist = talib.MACD(close.to_numpy(), 12, 26, 9)
    tail = slice(400, None)
    scale = level * 1e-9
    np.testing.assert_allclose(ours["macd"].to_numpy()[tail], talib_macd[tail], atol=scale)
    np.testing.assert_allclose(ours["signal"].to_numpy()[tail], talib_signal[tail], atol=scale)
    np.testing.assert_allclose(ours["histogram"].to_numpy()[tail], talib_hist[tail], atol=scale)


@pytest.mark.parametrize("symbol", ["SPY", "000001.SH", "AAPL"])
def test_macd_matches_talib_on_bundled_series_after_warm_up(store: BarStore, symbol: str) -> None:
    close = store.bars(symbol)["close"]
    ours = macd(close)
    talib_macd, talib_signal, _ = talib.MACD(close.to_numpy(), 12, 26, 9)
    np.testing.assert_allclose(ours["macd"].to_numpy()[400:], talib_macd[400:], atol=1e-9)
    np.testing.assert_allclose(ours["signal"].to_numpy()[400:], talib_signal[400:], atol=1e-9)


def test_macd_has_a_value_from_the_first_bar_and_keeps_the_index() -> None:
    close = random_walk(7, 50, 100.0)
    result = macd(close, MACDPeriods(3, 6, 4))
    assert result.index.equals(close.index)
    assert list(result.columns) == ["macd", "signal", "histogram"]
    assert not result.isna().to_numpy().any()
    assert result["macd"].iloc[0] == 0.0


def test_macd_does_not_mutate_its_input() -> None:
    close = random_walk(3, 120, 50.0)
    before = close.copy()
    macd(close)
    pd.testing.assert_series_equal(close, before)


@pytest.mark.parametrize(
    ("periods", "field"),
    [
        ({"fast": 0}, "fast_period"),
        ({"fast": -1}, "fast_period"),
        ({"slow": 1001}, "slow_period"),
        ({"signal": 0}, "signal_period"),
        ({"fast": 26, "slow": 12}, "fast_period"),
        ({"fast": 12, "slow": 12}, "fast_period"),
    ],
)
def test_periods_out_of_range_name_the_field(periods: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        MACDPeriods(**periods)
    assert caught.value.field == field


def test_default_periods_are_12_26_9() -> None:
    assert MACDPeriods() == MACDPeriods(12, 26, 9)
