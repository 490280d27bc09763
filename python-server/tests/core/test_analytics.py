from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

from idc_server.core import charts
from idc_server.core.analytics import (
    Analytics,
    ChartRequest,
    IndicatorRequest,
    chart_title,
    first_valid,
    macd_chart_request,
)
from idc_server.core.bars import Interval
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import InvalidArgumentError, NotFoundError
from idc_server.core.indicators import (
    INDICATORS,
    BollingerParameters,
    Convention,
    MACDParameters,
    RSIParameters,
    SMAParameters,
)

TALIB, TDX = Convention.TALIB, Convention.TDX


@pytest.fixture(scope="module")
def analytics() -> Analytics:
    return Analytics(BarStore([bundled_data_dir()]), "SPY", TALIB)


def test_empty_symbol_means_the_default(analytics: Analytics) -> None:
    assert analytics.select(None, None, None).symbol == "SPY"
    assert analytics.select("", None, None).symbol == "SPY"


def test_unknown_default_symbol_fails_at_start() -> None:
    with pytest.raises(NotFoundError):
        Analytics(BarStore([bundled_data_dir()]), "NOPE", TALIB)


def test_unspecified_convention_means_the_servers_default(analytics: Analytics) -> None:
    assert analytics.convention(None) is TALIB
    assert analytics.convention(TDX) is TDX


def test_selection_window_covers_the_requested_dates(analytics: Analytics) -> None:
    selection = analytics.select("SPY", date(2023, 1, 1), date(2023, 12, 31))
    assert len(selection.bars) == 250
    assert len(selection.history) == 8347
    assert selection.bars.index[0] == pd.Timestamp("2023-01-03")


@pytest.mark.parametrize("convention", [TALIB, TDX])
def test_window_values_do_not_depend_on_where_the_window_starts(analytics: Analytics, convention: Convention) -> None:
    whole = analytics.macd(analytics.select("SPY", None, None), MACDParameters(), convention)
    june = analytics.macd(analytics.select("SPY", date(2023, 6, 1), date(2023, 6, 30)), MACDParameters(), convention)
    dates = whole.selection.bars.index
    in_june = np.asarray((dates >= "2023-06-01") & (dates <= "2023-06-30"))
    assert in_june.sum() == 21
    pd.testing.assert_frame_equal(june.selection.bars, whole.selection.bars[in_june])
    for name in ("macd", "signal", "histogram"):
        assert len(june.outputs[name]) == 21
        np.testing.assert_array_equal(june.outputs[name], whole.outputs[name][in_june])
    assert june.first_valid_index == 0


def test_macd_marks_talib_warm_up_bars(analytics: Analytics) -> None:
    result = analytics.macd(analytics.select("AAPL", None, None), MACDParameters(), TALIB)
    assert result.first_valid_index == 33
    assert list(result.outputs) == ["macd", "signal", "histogram"]
    for values in result.outputs.values():
        assert len(values) == len(result.selection.bars)
        assert np.isnan(values[:33]).all()
        assert not np.isnan(values[33:]).any()


def test_compute_cuts_each_series_to_its_first_valid_bar(analytics: Analytics) -> None:
    selection = analytics.select("SPY", None, date(1993, 3, 31))
    requests = [
        IndicatorRequest("sma5", INDICATORS["sma"], SMAParameters(5)),
        IndicatorRequest("rsi", INDICATORS["rsi"], RSIParameters(14)),
    ]
    sma, rsi = [result for request in requests for result in analytics.indicator(selection, request, TALIB)]
    frame = analytics.frame(selection, TALIB, [sma, rsi])
    assert [series.name for series in frame.series] == ["sma5", "rsi"]
    assert (sma.first_valid_index, rsi.first_valid_index) == (4, 14)
    assert len(sma.values) == len(frame.days) - 4
    closes = selection.bars["close"].to_numpy()
    np.testing.assert_allclose(sma.values[0], closes[:5].mean(), rtol=1e-12)
    assert not np.isnan(rsi.values).any()


def test_inline_bars_are_used_instead_of_the_store(analytics: Analytics) -> None:
    spy = analytics.store.bars("SPY")
    selection = analytics.select(None, date(2020, 1, 1), None, inline=spy.iloc[-2000:])
    assert selection.symbol == ""
    assert selection.name == "inline bars"
    assert len(selection.history) == 2000


def test_first_valid_of_all_nan_is_the_length() -> None:
    assert first_valid(np.array([np.nan, np.nan])) == 2
    assert first_valid(np.array([np.nan, 1.0])) == 1


def test_chart_is_an_image_of_the_requested_size(analytics: Analytics) -> None:
    selection = analytics.select("SPY", date(2023, 1, 1), date(2023, 12, 31))
    options = charts.RenderOptions(width_px=640, height_px=480, dpi=80)
    image = analytics.chart(selection, macd_chart_request(MACDParameters(), options), TDX)
    assert (image.media_type, image.width_px, image.height_px, image.dpi) == ("image/png", 640, 480, 80)
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.size == (640, 480)


def test_chart_period_longer_than_the_data_names_the_panel(analytics: Analytics) -> None:
    history = analytics.store.bars("SPY").iloc[:30]
    selection = analytics.select(None, None, None, inline=history)
    rsi = IndicatorRequest("rsi", INDICATORS["rsi"], RSIParameters(40))
    request = ChartRequest((), (None, rsi), charts.RenderOptions())
    with pytest.raises(InvalidArgumentError) as caught:
        analytics.chart(selection, request, TALIB)
    assert caught.value.field == "panels[1].rsi.period"


def test_display_names_show_numeric_parameters() -> None:
    assert IndicatorRequest("m", INDICATORS["macd"], MACDParameters()).display_name() == "MACD(12, 26, 9)"
    assert IndicatorRequest("b", INDICATORS["boll"], BollingerParameters()).display_name() == "BOLL(20, 2)"


def test_indicator_values_of_stored_symbols_are_cached_per_data_version(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    rows = [f"2020-01-{day:02d},1,2,0.5,{day},10" for day in range(1, 31)]
    path.write_text("date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    cached = Analytics(BarStore([tmp_path]), "X", TALIB)
    sma = IndicatorRequest("sma", INDICATORS["sma"], SMAParameters(3))

    first = cached.indicator(cached.select("X", None, None), sma, TALIB)[0]
    again = cached.indicator(cached.select("X", date(2020, 1, 10), None), sma, TALIB)[0]
    assert cached.indicator_cache.stats().hits == 1
    np.testing.assert_array_equal(again.values, first.values[7:])
    assert not again.values.flags.writeable  # a view of the shared, cached values

    path.write_text("date,open,high,low,close,volume\n" + "\n".join(rows[:5]) + "\n2020-01-06,1,2,0.5,100,10\n")
    changed = cached.indicator(cached.select("X", None, None), sma, TALIB)[0]
    assert changed.values[-1] == pytest.approx((4 + 5 + 100) / 3)  # the new file, not the cached values
    assert cached.indicator_cache.stats().misses == 2


def test_indicator_cache_can_be_turned_off_and_skips_inline_bars(analytics: Analytics) -> None:
    uncached = Analytics(BarStore([bundled_data_dir()]), "SPY", TALIB, indicator_cache_bytes=0)
    selection = uncached.select("SPY", date(2024, 1, 1), date(2024, 12, 31))
    for _ in range(2):
        result = uncached.macd(selection, MACDParameters(), TALIB)
    assert uncached.indicator_cache.stats().entries == 0
    expected = analytics.macd(analytics.select("SPY", date(2024, 1, 1), date(2024, 12, 31)), MACDParameters(), TALIB)
    for name in ("macd", "signal", "histogram"):
        np.testing.assert_array_equal(result.outputs[name], expected.outputs[name])

    inline = analytics.store.bars("AAPL").iloc[:200]
    before = analytics.indicator_cache.stats()
    analytics.macd(analytics.select(None, None, None, inline), MACDParameters(), TALIB)
    assert analytics.indicator_cache.stats() == before


def test_chart_titles_name_the_series_window_and_convention_without_gaps(analytics: Analytics) -> None:
    # A chart of just volume once read "SPY  2024-03-12 – 2024-03-22    TALIB".
    selection = analytics.select("SPY", date(2024, 3, 12), date(2024, 3, 22))
    assert chart_title(selection, TALIB) == "SPY · 2024-03-12 – 2024-03-22 · split- and dividend-adjusted · TA-Lib"
    inline = analytics.select(None, None, None, inline=analytics.store.bars("AAPL").iloc[:5])
    assert chart_title(inline, TDX) == "inline bars · 2004-08-19 – 2004-08-25 · TDX"


def test_resampled_histories_are_kept_per_interval_and_follow_a_changed_file(tmp_path: Path) -> None:
    lines = ["date,open,high,low,close,volume"] + [f"2024-01-{day:02d},1,2,0.5,{day},10" for day in range(1, 29)]
    (tmp_path / "X.csv").write_text("\n".join(lines) + "\n")
    analytics = Analytics(BarStore([tmp_path], relist_seconds=0), "X", TALIB)
    weekly = analytics.select("X", None, None, interval=Interval.ONE_WEEK)
    assert analytics.select("X", None, None, interval=Interval.ONE_WEEK).data is weekly.data
    monthly = analytics.select("X", None, None, interval=Interval.ONE_MONTH)
    assert len({weekly.version, monthly.version, analytics.select("X", None, None).version}) == 3
    # 2024-01-01 was a Monday: weeks end on the 7th, 14th, 21st and 28th.
    assert weekly.columns()["close"].tolist() == [7.0, 14.0, 21.0, 28.0]
    sma = IndicatorRequest("sma", INDICATORS["sma"], SMAParameters(2))
    assert analytics.indicator(weekly, sma, TALIB)[0].values.tolist() == [10.5, 17.5, 24.5]
    (tmp_path / "X.csv").write_text("\n".join(lines).replace(",28,10", ",56,10") + "\n")
    changed = analytics.select("X", None, None, interval=Interval.ONE_WEEK)
    assert changed.columns()["close"].tolist() == [7.0, 14.0, 21.0, 56.0]
    assert analytics.indicator(changed, sma, TALIB)[0].values.tolist() == [10.5, 17.5, 38.5]
