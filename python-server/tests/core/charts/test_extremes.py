"""Every finite input draws without raising: extreme magnitudes, flat series, negative prices, millions of bars."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from idc_server.core.charts import (
    BOLL,
    KDJ,
    MACD,
    RSI,
    SMA,
    VOLUME,
    ImageFormat,
    Overlay,
    Panel,
    PriceScale,
    RenderOptions,
    render_chart,
)
from idc_server.core.charts.reduce import Buckets
from idc_server.core.charts.values import Scaled, number_label, si_label


def flat_bars(n: int, open_: float, high: float, low: float, close: float, volume: float) -> pd.DataFrame:
    columns = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(
        {name: np.full(n, value) for name, value in columns.items()}, index=pd.bdate_range("2020-01-01", periods=n)
    )


def every_panel(n: int, value: float) -> tuple[list[Overlay], list[Panel]]:
    line = np.full(n, value)
    overlays = [
        Overlay(SMA, "SMA(5)", {"sma": line}),
        Overlay(BOLL, "BOLL", {"upper": line, "middle": line, "lower": line}),
    ]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD", {"macd": line, "signal": -line, "histogram": line}),
        Panel(RSI, "RSI", {"rsi": line}),
        Panel(KDJ, "KDJ", {"k": line, "d": line, "j": -line}),
    ]
    return overlays, panels


MAX = float(np.finfo(np.float64).max)
EXTREMES = {
    "volume 1.7e308": (flat_bars(30, 1.0, 2.0, 0.5, 1.5, 1.7e308), 1.0),
    "high 1.5e308, low 0": (flat_bars(30, 1.0, 1.5e308, 0.0, 1.0, 10.0), 1.0),
    "every price 1e308": (flat_bars(30, 1e308, 1e308, 1e308, 1e308, 1e308), 1e308),
    "the largest double everywhere": (flat_bars(30, MAX, MAX, MAX, MAX, MAX), MAX),
    "low at minus the largest double": (flat_bars(30, 0.0, MAX, -MAX, 0.0, MAX), -MAX),
    "tiny prices": (flat_bars(30, 1e-300, 2e-300, 5e-301, 1.5e-300, 1e-300), 1e-300),
    "the smallest subnormal": (flat_bars(30, 5e-324, 5e-324, 5e-324, 5e-324, 5e-324), 5e-324),
    "negative prices": (flat_bars(30, -5.0, -1.0, -9.0, -2.0, 0.0), -3.0),
    "all zero": (flat_bars(30, 0.0, 0.0, 0.0, 0.0, 0.0), 0.0),
}


@pytest.mark.parametrize(
    ("rows", "image_format", "scale"),
    [
        (1, ImageFormat.PNG, PriceScale.AUTO),
        (30, ImageFormat.PNG, PriceScale.AUTO),
        (600, ImageFormat.PNG, PriceScale.AUTO),  # close line and stepped bars
        (30, ImageFormat.PNG, PriceScale.LOG),
        (30, ImageFormat.PNG, PriceScale.LINEAR),
        (30, ImageFormat.SVG, PriceScale.LOG),
    ],
)
@pytest.mark.parametrize("case", list(EXTREMES))
def test_extreme_finite_values_render(case: str, rows: int, image_format: ImageFormat, scale: PriceScale) -> None:
    template, value = EXTREMES[case]
    bars = pd.DataFrame(
        {name: np.resize(template[name].to_numpy(), rows) for name in template.columns},
        index=pd.bdate_range("2020-01-01", periods=rows),
    )
    down = np.arange(rows) % 7 == 0  # some down bars too
    bars.loc[down, "close"] = bars.loc[down, "open"] * 0.5
    overlays, panels = every_panel(rows, value)
    options = RenderOptions(600, 400, format=image_format, price_scale=scale)
    assert render_chart(bars, title=case, overlays=overlays, panels=panels, options=options)


def test_two_million_noisy_bars_render_as_one_column_per_pixel() -> None:
    # matplotlib's Agg renderer raised "Exceeded cell block limit" for this volume panel.
    n = 2_000_000
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    bars = pd.DataFrame(
        {
            "open": close * np.exp(rng.normal(0.0, 0.001, n)),
            "high": close * 1.002,
            "low": close * 0.998,
            "close": close,
            "volume": rng.integers(1, 10**7, n).astype(np.float64),
        },
        index=pd.date_range("2020-01-01", periods=n, freq="min"),
    )
    noise = rng.normal(size=n)
    overlays = [Overlay(BOLL, "BOLL", {"upper": close * 1.01, "middle": close, "lower": close * 0.99})]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD", {"macd": noise, "signal": noise / 2, "histogram": noise}),
    ]
    data = render_chart(bars, title="2,000,000 minutes", overlays=overlays, panels=panels)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1200, 800)


def test_scaling_keeps_ordinary_values_and_divides_extreme_ones() -> None:
    assert Scaled.of(np.array([1e8, 3.0])).factor == 1.0  # volumes stay as they are
    assert Scaled.of(np.array([1.7e308, 1.0])).factor == 1e308
    assert Scaled.of(np.array([3e-300])).factor == 1e-300
    assert Scaled.of(np.array([np.nan, 0.0])).factor == 1.0


def test_tick_labels_carry_the_real_magnitude() -> None:
    assert number_label(1.5e308, 1e307) == "1.5e308"
    assert number_label(-2.5e-7, 1e-7) == "-2.5e-7"
    assert number_label(1e20, 1e19) == "1e20"
    assert number_label(1.25e308, 2.5e307) == "1.25e308"
    assert number_label(512.5, 2.5) == "512.5"
    assert number_label(500.0, 5.0) == "500"
    assert number_label(0.25, 0.25) == "0.25"
    assert si_label(1_500_000.0) == "1.5M"
    assert si_label(1.7e308) == "1.7e308"


def test_buckets_keep_each_columns_extremes_in_order() -> None:
    values = np.array([5.0, 1.0, 9.0, np.nan, 2.0, 8.0, np.nan, np.nan, 4.0])
    buckets = Buckets.for_columns(len(values), columns=4)
    assert buckets.size == 3
    np.testing.assert_array_equal(buckets.centres, [1.0, 4.0, 7.0])
    np.testing.assert_array_equal(buckets.edges, [-0.5, 2.5, 2.5, 5.5, 5.5, 8.5])
    np.testing.assert_array_equal(buckets.lowest(values), [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(buckets.highest(values), [9.0, 8.0, 4.0])
    x, y = buckets.line(np.arange(9.0), values)
    np.testing.assert_array_equal(x, [1.0, 1.0, 4.0, 4.0, 7.0, 7.0])
    np.testing.assert_array_equal(y, [1.0, 9.0, 2.0, 8.0, 4.0, 4.0])  # the low came first in each
    falling = np.array([9.0, 1.0, 0.0])
    _, y = Buckets(3, 3).line(np.arange(3.0), falling)
    np.testing.assert_array_equal(y, [9.0, 0.0])  # the high came first
    opens, closes = np.array([1.0, 5.0, 5.0, 9.0]), np.array([2.0, 4.0, 6.0, 3.0])
    np.testing.assert_array_equal(Buckets(4, 2).closed_up(opens, closes), [True, False])  # 1 -> 4 up, 5 -> 3 down


def test_no_reduction_up_to_one_bar_per_column() -> None:
    assert not Buckets.for_columns(1000, columns=1000.0).reduced
    assert Buckets.for_columns(1001, columns=1000.0).size == 2
