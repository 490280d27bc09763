"""What a reader sees, measured on the drawn figure: ticks, ranges, legends, labels, colours and bar placement."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox
from matplotlib.text import Text

from idc_server.core.charts import (
    BOLL,
    EMA,
    KDJ,
    MACD,
    RSI,
    SMA,
    VOLUME,
    Overlay,
    Panel,
    PriceScale,
    RenderOptions,
    build_figure,
)
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.indicators import (
    INDICATORS,
    BollingerParameters,
    Convention,
    EMAParameters,
    KDJParameters,
    MACDParameters,
    RSIParameters,
    SMAParameters,
)

STORE = BarStore([bundled_data_dir()])


def outputs(
    history: pd.DataFrame, name: str, parameters: Any, window: np.ndarray, convention: Convention
) -> dict[str, np.ndarray]:
    frame = INDICATORS[name].compute(history, parameters, convention)
    return {column: frame[column].to_numpy(dtype=np.float64)[window] for column in INDICATORS[name].outputs}


def chart(
    symbol: str, start: str, end: str, convention: Convention = Convention.TALIB, panels: str = "volume,macd,rsi,kdj"
) -> tuple[pd.DataFrame, list[Overlay], list[Panel]]:
    """A real symbol's window with SMA(20) and BOLL(20, 2) and the named panels, indicators over all history."""
    history = STORE.bars(symbol)
    window = np.asarray((history.index >= start) & (history.index <= end))
    c = convention
    overlays = [
        Overlay(SMA, "SMA(20)", outputs(history, "sma", SMAParameters(20), window, c)),
        Overlay(BOLL, "BOLL(20, 2)", outputs(history, "boll", BollingerParameters(), window, c)),
    ]
    every = {
        "volume": Panel(VOLUME, "Volume", {}, c),
        "macd": Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window, c), c),
        "rsi": Panel(RSI, "RSI(14)", outputs(history, "rsi", RSIParameters(), window, c), c),
        "kdj": Panel(KDJ, "KDJ(9, 3, 3)", outputs(history, "kdj", KDJParameters(), window, c), c),
    }
    return history[window], overlays, [every[name] for name in panels.split(",")]


CHARTS = {
    "nine days": ("SPY", "2024-03-12", "2024-03-22"),
    "half a year": ("SPY", "2023-07-01", "2023-12-29"),
    "a year of the index": ("000001.SH", "2024-01-01", "2024-12-31"),
    "all of SPY": ("SPY", "1990-01-01", "2030-01-01"),
}
SIZES = [(1200, 800, 100), (640, 480, 100), (1000, 700, 150)]


def drawn(bars: pd.DataFrame, overlays: list[Overlay], panels: list[Panel], **options: Any) -> Figure:
    fig = build_figure(bars, title="t", overlays=overlays, panels=panels, options=RenderOptions(**options))
    FigureCanvasAgg(fig).draw()  # type: ignore[no-untyped-call]
    return fig


def headers(ax: Axes) -> list[AnchoredOffsetbox]:
    return [artist for artist in ax.artists if isinstance(artist, AnchoredOffsetbox)]


def header_texts(ax: Axes) -> list[str]:
    return [text.get_text() for box in headers(ax) for text in box.findobj(Text)]


def y_ticks(ax: Axes) -> list[float]:
    low, high = sorted(ax.get_ylim())
    return [t for t in ax.yaxis.get_majorticklocs() if low <= t <= high]


@pytest.fixture(scope="module", params=[(name, size) for name in CHARTS for size in SIZES], ids=str)
def figure(request: pytest.FixtureRequest) -> tuple[Figure, pd.DataFrame, list[Overlay], list[Panel]]:
    name, (width, height, dpi) = request.param
    bars, overlays, panels = chart(*CHARTS[name])
    return drawn(bars, overlays, panels, width_px=width, height_px=height, dpi=dpi), bars, overlays, panels


def test_every_panel_has_at_least_three_y_ticks_whose_labels_do_not_touch(figure: Any) -> None:
    fig, *_ = figure
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert len(y_ticks(ax)) >= 3, y_ticks(ax)
        labels = [label for label in ax.get_yticklabels() if label.get_text()]
        boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda box: box.y0)
        for lower, upper in pairwise(boxes):
            assert lower.y1 <= upper.y0 + 0.5


def test_y_axes_fit_the_data_with_small_margins(figure: Any) -> None:
    fig, bars, overlays, panels = figure
    price = fig.axes[0]
    values = [bars["low"].to_numpy(), bars["high"].to_numpy(), *(v for o in overlays for v in o.lines.values())]
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    low, high = float(finite.min()), float(finite.max())
    bottom, top = price.get_ylim()
    if price.get_yscale() == "log":
        low, high, bottom, top = (math.log10(v) for v in (low, high, bottom, top))
    assert bottom <= low
    assert top >= high
    assert (top - bottom) <= 1.12 * (high - low)
    for ax, panel in zip(fig.axes[1:], panels, strict=True):
        if panel.kind is RSI:
            assert ax.get_ylim() == (0.0, 100.0)
            continue
        series = [bars["volume"].to_numpy()] if panel.kind is VOLUME else list(panel.series.values())
        finite = np.concatenate([s[np.isfinite(s)] for s in series])
        guides = list(panel.kind.guides) + ([0.0] if panel.kind in (VOLUME, MACD) else [])
        low, high = min(float(finite.min()), *guides), max(float(finite.max()), *guides)
        bottom, top = ax.get_ylim()
        assert bottom <= low
        assert top >= high
        assert (top - bottom) <= 1.12 * (high - low), panel.label


def test_legends_sit_above_their_panels_and_cover_no_data(figure: Any) -> None:
    fig, *_ = figure
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        (header,) = headers(ax)
        box, plot = header.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.y0 >= plot.y1 - 0.5  # wholly above the plot
        assert box.x0 >= plot.x0 - 0.5
        assert box.x1 <= fig.bbox.x1
    tops = [ax.get_window_extent(renderer).y1 for ax in fig.axes]
    for ax, above in zip(fig.axes[1:], fig.axes[:-1], strict=True):
        # A header never reaches into the panel above it.
        assert headers(ax)[0].get_window_extent(renderer).y1 <= above.get_window_extent(renderer).y0 + 0.5
    assert tops == sorted(tops, reverse=True)


def test_date_labels_neither_overlap_nor_leave_the_image(figure: Any) -> None:
    fig, *_ = figure
    renderer = fig.canvas.get_renderer()
    bottom = fig.axes[-1]
    labels = [label for label in bottom.get_xticklabels() if label.get_text()]
    assert len(labels) >= 3
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda box: box.x0)
    for box in boxes:
        assert box.x0 >= 0.0
        assert box.x1 <= fig.bbox.x1
    for left, right in pairwise(boxes):
        assert left.x1 < right.x0


def test_tdx_charts_name_macd_lines_dif_dea_and_macd() -> None:
    for convention, expected in (
        (Convention.TDX, ["DIF", "DEA", "MACD"]),
        (Convention.TALIB, ["MACD", "Signal", "Histogram"]),
    ):
        bars, overlays, panels = chart("000001.SH", "2024-01-01", "2024-06-30", convention, panels="macd")
        fig = drawn(bars, overlays, panels)
        assert header_texts(fig.axes[1]) == ["MACD(12, 26, 9)", *expected]


def overlay_colour(fig: Figure, label: str) -> str:
    colours = {line.get_color() for line in fig.axes[0].get_lines() if line.get_label() == label}
    assert len(colours) == 1, colours
    return str(colours.pop())


def test_an_overlay_keeps_its_colour_whatever_comes_before_it() -> None:
    bars, (sma, boll), _ = chart("SPY", "2023-07-01", "2023-12-29", panels="volume")
    history = STORE.bars("SPY")
    window = np.asarray((history.index >= "2023-07-01") & (history.index <= "2023-12-29"))
    ema = Overlay(EMA, "EMA(50)", outputs(history, "ema", EMAParameters(50), window, Convention.TALIB))
    alone = overlay_colour(drawn(bars, [sma], []), "SMA(20)")
    for order in ([ema, sma], [boll, ema, sma], [sma, boll]):
        fig = drawn(bars, order, [])
        assert overlay_colour(fig, "SMA(20)") == alone
        assert len({overlay_colour(fig, o.label) for o in order}) == len(order)  # still told apart


def test_few_bars_fill_the_width_with_candles_centred_on_their_dates() -> None:
    bars, _, panels = chart("SPY", "2024-03-12", "2024-03-22", panels="volume")
    assert len(bars) == 9
    fig = drawn(bars, [], panels)
    price = fig.axes[0]
    x0, x1 = price.get_xlim()
    assert (x0 + x1) / 2.0 == pytest.approx(4.0)  # the nine slots are centred
    assert x1 - x0 < 9.5  # and fill the width
    (bodies,) = [c for c in price.collections if isinstance(c, PolyCollection)]
    centres = [np.asarray(path.vertices)[:4, 0].mean() for path in bodies.get_paths()]
    np.testing.assert_allclose(centres, np.arange(9), atol=1e-9)
    assert list(fig.axes[-1].get_xticks()) == list(range(9))  # each candle has its date under it


def test_auto_price_scale_is_log_over_decades_and_linear_over_months() -> None:
    long = chart("SPY", "1990-01-01", "2030-01-01", panels="volume")
    short = chart("SPY", "2023-07-01", "2023-12-29", panels="volume")
    assert drawn(*long).axes[0].get_yscale() == "log"
    assert drawn(*short).axes[0].get_yscale() == "linear"
    assert drawn(*long, price_scale=PriceScale.LINEAR).axes[0].get_yscale() == "linear"
    forced = drawn(*short, price_scale=PriceScale.LOG).axes[0]
    assert forced.get_yscale() == "log"
    assert len(y_ticks(forced)) >= 3  # a narrow log axis still gets readable ticks


def test_log_scale_falls_back_to_linear_for_prices_at_or_below_zero() -> None:
    bars, _, _ = chart("SPY", "2023-07-01", "2023-12-29", panels="volume")
    shifted = bars.assign(low=bars["low"] - bars["low"].min())  # one low at exactly 0
    fig = drawn(shifted, [], [], price_scale=PriceScale.LOG)
    assert fig.axes[0].get_yscale() == "linear"


@pytest.mark.parametrize("width", [1200, 640, 400])
def test_no_date_label_is_cut_at_either_edge_whatever_the_bar_count(width: int) -> None:
    # The last label of a daily window once read "2024-03-2".
    history = STORE.bars("SPY")
    for rows in (11, 13, 17, 21, 25, 31, 41):
        bars = history.iloc[-rows:]
        fig = drawn(bars, [], [], width_px=width, height_px=300)
        renderer = cast(FigureCanvasAgg, fig.canvas).get_renderer()  # type: ignore[no-untyped-call]
        labels = [label for label in fig.axes[0].get_xticklabels() if label.get_text()]
        assert labels, rows
        for label in labels:
            box = label.get_window_extent(renderer)
            assert box.x0 >= 0.0, (rows, label.get_text())
            assert box.x1 <= fig.bbox.x1, (rows, label.get_text())
