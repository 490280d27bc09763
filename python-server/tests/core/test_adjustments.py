"""Forward and backward adjustment with factors: a constructed symbol with a 2-for-1 split and a cash dividend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idc_server.core.adjustments import Adjustment, adjust, available
from idc_server.core.analytics import Analytics, IndicatorRequest, chart_title
from idc_server.core.bars import Interval
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import FailedPreconditionError
from idc_server.core.indicators import INDICATORS, Convention, MACDParameters, SMAParameters
from idc_server.core.sources import PriceAdjustment

# Closes as traded: 2-for-1 split before bar 5 (108 -> 55), a 1.20 cash dividend before bar 10 (60 -> 58.80).
RAW = [100.0, 102.0, 104.0, 106.0, 108.0, 55.0, 56.0, 57.0, 58.0, 60.0, 58.8, 59.0, 59.5, 60.0, 61.0]
# Cumulative factors: x2 at the split, x60/(60 - 1.2) = x1/0.98 at the dividend.
FACTORS = [1.0] * 5 + [2.0] * 5 + [2.0 / 0.98] * 5
# 前复权, by hand: before the split x0.5 x0.98 = x0.49, between split and dividend x0.98, after it as traded.
FORWARD = [49.0, 49.98, 50.96, 51.94, 52.92, 53.9, 54.88, 55.86, 56.84, 58.8, 58.8, 59.0, 59.5, 60.0, 61.0]
# 后复权, by hand: before the split as traded, then x2, then x2/0.98 (58.8 x 2 / 0.98 = 120).
BACKWARD = [100.0, 102.0, 104.0, 106.0, 108.0, 110.0, 112.0, 114.0, 116.0, 120.0, 120.0]
BACKWARD += [59.0 * 2 / 0.98, 59.5 * 2 / 0.98, 60.0 * 2 / 0.98, 61.0 * 2 / 0.98]


@pytest.fixture
def analytics(tmp_path: Path) -> Analytics:
    lines = ["date,open,high,low,close,volume,adj_factor"]
    for day, (close, factor) in enumerate(zip(RAW, FACTORS, strict=True), start=1):
        lines.append(f"2024-01-{day:02d},{close},{close + 1},{close - 1},{close},{1000 * day},{factor!r}")
    (tmp_path / "SPLIT.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "symbols.toml").write_text('[SPLIT]\nprice_adjustment = "none"\ntime_zone = "America/New_York"\n')
    return Analytics(BarStore([bundled_data_dir(), tmp_path]), "SPY", Convention.TALIB)


@pytest.mark.parametrize(
    ("adjustment", "closes"),
    [(Adjustment.FORWARD, FORWARD), (Adjustment.BACKWARD, BACKWARD), (Adjustment.NONE, RAW), (None, RAW)],
)
def test_prices_are_scaled_by_factors_and_volumes_kept(
    analytics: Analytics, adjustment: Adjustment | None, closes: list[float]
) -> None:
    selection = analytics.select("split", None, None, adjustment=adjustment)
    columns = selection.columns()
    np.testing.assert_allclose(columns["close"], closes, rtol=1e-13)
    np.testing.assert_allclose(columns["open"], closes, rtol=1e-13)
    scale = np.asarray(closes) / np.asarray(RAW)
    np.testing.assert_allclose(columns["high"], (np.asarray(RAW) + 1) * scale, rtol=1e-13)
    assert columns["volume"].tolist() == [1000.0 * day for day in range(1, 16)]
    assert selection.adjustment is (adjustment or Adjustment.AS_STORED)


def jumps(analytics: Analytics, adjustment: Adjustment, indicator: str, parameters: object, output: str) -> np.ndarray:
    selection = analytics.select("SPLIT", None, None, adjustment=adjustment)
    request = IndicatorRequest(indicator, INDICATORS[indicator], parameters)
    series = {result.name: result.values for result in analytics.indicator(selection, request, Convention.TALIB)}
    return np.abs(np.diff(series[output]))


def test_an_sma_of_adjusted_prices_has_no_jump_at_the_split(analytics: Analytics) -> None:
    raw = jumps(analytics, Adjustment.NONE, "sma", SMAParameters(3), "sma")
    forward = jumps(analytics, Adjustment.FORWARD, "sma", SMAParameters(3), "sma")
    # SMA(3) values start at bar 2; the step into bar 5 is (55 - 104) / 3 raw, (53.9 - 50.96) / 3 forward.
    assert raw[2] == pytest.approx(49 / 3)
    assert forward[2] == pytest.approx(0.98)
    assert raw.max() > 16
    assert forward.max() < 1.5


def test_a_macd_of_adjusted_prices_has_no_jump_at_the_split(analytics: Analytics) -> None:
    parameters = MACDParameters(2, 4, 2)
    raw = jumps(analytics, Adjustment.NONE, "macd", parameters, "macd.macd")
    backward = jumps(analytics, Adjustment.BACKWARD, "macd", parameters, "macd.macd")
    assert raw.max() > 10  # the split halves the raw price
    assert backward.max() < 2


def test_listing_says_which_adjustments_each_symbol_has(analytics: Analytics) -> None:
    summaries = {summary.symbol: summary for summary in analytics.symbols()}
    assert summaries["SPLIT"].adjustments == tuple(Adjustment)
    assert summaries["000001.SH"].adjustments == tuple(Adjustment)  # an index needs none
    assert summaries["SPY"].adjustments == (Adjustment.AS_STORED,)
    assert (summaries["SPLIT"].interval, summaries["SPLIT"].time_zone) == (Interval.ONE_DAY, "America/New_York")


def test_a_symbol_without_factors_says_so(analytics: Analytics) -> None:
    with pytest.raises(FailedPreconditionError) as caught:
        analytics.select("SPY", None, None, adjustment=Adjustment.FORWARD)
    assert caught.value.field == "adjustment"
    basis = "prices stored split- and dividend-adjusted"
    assert f"no adjustment factors for 'SPY' ({basis}), so it cannot be served forward-adjusted" in str(caught.value)
    sse = analytics.select("000001.SH", None, None, adjustment=Adjustment.BACKWARD)
    assert sse.data is not None
    assert sse.adjustment is Adjustment.BACKWARD


def test_a_stored_none_symbol_without_factors_serves_none_only() -> None:
    assert available(False, PriceAdjustment.NONE) == (Adjustment.AS_STORED, Adjustment.NONE)
    assert available(False, None) == (Adjustment.AS_STORED,)


def test_chart_titles_say_the_price_basis(analytics: Analytics) -> None:
    spy = analytics.select("SPY", None, None)
    assert chart_title(spy, Convention.TALIB) == "SPY · 1993-01-29 – 2026-03-27 · split- and dividend-adjusted · TA-Lib"
    aapl = analytics.select("AAPL", None, None)
    assert "· split-adjusted ·" in chart_title(aapl, Convention.TALIB)
    sse = analytics.select("000001.SH", None, None)
    assert chart_title(sse, Convention.TDX) == "000001.SH · 2010-01-04 – 2026-06-16 · TDX"
    split = analytics.select("SPLIT", None, None, adjustment=Adjustment.FORWARD)
    assert chart_title(split, Convention.TALIB) == "SPLIT · 2024-01-01 – 2024-01-15 · forward-adjusted · TA-Lib"


def test_adjusted_histories_have_versions_of_their_own(analytics: Analytics) -> None:
    history = analytics.store.history("SPLIT")
    forward = adjust(history, Adjustment.FORWARD, PriceAdjustment.NONE, "'SPLIT'").history
    backward = adjust(history, Adjustment.BACKWARD, PriceAdjustment.NONE, "'SPLIT'").history
    assert len({history.version, forward.version, backward.version}) == 3
    assert forward.factors is None
    assert history.factors is not None
