"""Tests for the chart renderer: formats, layout, colours, reference images, threads and cancellation."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from PIL import Image

from idc_server.core import charts
from idc_server.core.analytics import Analytics, chart_title
from idc_server.core.bars import Interval
from idc_server.core.charts import (
    BOLL,
    EMA,
    KDJ,
    MACD,
    RSI,
    SMA,
    VOLUME,
    ColorScheme,
    ImageFormat,
    Overlay,
    Panel,
    RenderOptions,
    Theme,
    render_chart,
)
from idc_server.core.charts import render as chart_render
from idc_server.core.charts.timeaxis import AxisGeometry, time_ticks
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
from idc_server.core.render_cache import RenderAbandonedError

BASELINE_DIR = Path(__file__).parent / "baseline"
UPDATE_BASELINE = os.environ.get("IDC_UPDATE_BASELINE") == "1"
# Mean colour difference (0-255 scale, RMS over all pixels) allowed against a
# reference image. Identical software gives 0.0; 1.0 absorbs anti-aliasing
# noise, while a missing panel or a swapped colour scheme scores well above 10.
BASELINE_TOLERANCE = 1.0
TITLE = "SPY · 2023-07-03 – 2023-12-29 · TA-Lib"


# --- fixtures and helpers ---------------------------------------------------------------------


def random_bars(rows: int, seed: int = 0, start: str = "2015-01-02") -> pd.DataFrame:
    """A random-walk bars frame on business days."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, rows)))
    open_ = close * np.exp(rng.normal(0.0, 0.006, rows))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.005, rows)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.005, rows)))
    volume = rng.integers(1_000_000, 5_000_000, rows).astype(np.float64)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.bdate_range(start, periods=rows, name="date"),
    )


def outputs(
    history: pd.DataFrame,
    name: str,
    parameters: Any,
    window: slice | np.ndarray,
    convention: Convention = Convention.TALIB,
) -> dict[str, np.ndarray]:
    """An indicator's outputs over the whole history, cut to the window (warm-up bars are NaN)."""
    frame = INDICATORS[name].compute(history, parameters, convention)
    return {column: frame[column].to_numpy(dtype=np.float64)[window] for column in INDICATORS[name].outputs}


def standard_chart(
    history: pd.DataFrame, window: slice | np.ndarray | None = None
) -> tuple[pd.DataFrame, list[Overlay], list[Panel]]:
    """Bars of the window with SMA(20) and BOLL(20, 2) overlays and volume, MACD, RSI and KDJ panels."""
    window = slice(None) if window is None else window
    overlays = [
        Overlay(SMA, "SMA(20)", outputs(history, "sma", SMAParameters(20), window)),
        Overlay(BOLL, "BOLL(20, 2)", outputs(history, "boll", BollingerParameters(20, 2.0), window)),
    ]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window)),
        Panel(RSI, "RSI(14)", outputs(history, "rsi", RSIParameters(14), window)),
        Panel(KDJ, "KDJ(9, 3, 3)", outputs(history, "kdj", KDJParameters(), window)),
    ]
    return history.iloc[window] if isinstance(window, slice) else history[window], overlays, panels


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode(data).convert("RGB")).astype(np.int32)


def reddish(rgb: np.ndarray) -> int:
    """Pixels clearly red: red well above both green and blue."""
    return int((rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2]) > 80).sum())


def greenish(rgb: np.ndarray) -> int:
    """Pixels clearly green: green well above both red and blue."""
    return int((rgb[..., 1] - np.maximum(rgb[..., 0], rgb[..., 2]) > 50).sum())


@pytest.fixture(scope="module")
def quarter() -> tuple[pd.DataFrame, list[Overlay], list[Panel]]:
    """About four months of random bars with every overlay and panel: candlestick mode."""
    history = random_bars(120, seed=1)
    return standard_chart(history, slice(40, None))


@pytest.fixture(scope="module")
def decade() -> tuple[pd.DataFrame, list[Overlay], list[Panel]]:
    """Ten years of random bars with every overlay and panel: close-line mode."""
    return standard_chart(random_bars(2520, seed=2))


@pytest.fixture(scope="module")
def spy_2023h2() -> tuple[pd.DataFrame, list[Overlay], list[Panel]]:
    """The reference data set: real SPY bars for 2023-07-01..2023-12-29, indicators computed over all history."""
    history = BarStore([bundled_data_dir()]).bars("SPY")
    dates = history.index
    window = np.asarray((dates >= "2023-07-01") & (dates <= "2023-12-29"))
    return standard_chart(history, window)


def render(chart: tuple[pd.DataFrame, list[Overlay], list[Panel]], **options: Any) -> bytes:
    bars, overlays, panels = chart
    return render_chart(bars, title=TITLE, overlays=overlays, panels=panels, options=RenderOptions(**options))


# --- formats and sizes ------------------------------------------------------------------------

SIZES = [(640, 480, 72), (201, 113, 100), (1000, 700, 300)]


@pytest.mark.parametrize(("width", "height", "dpi"), SIZES)
@pytest.mark.parametrize(
    ("image_format", "pillow_format"),
    [(ImageFormat.PNG, "PNG"), (ImageFormat.JPEG, "JPEG"), (ImageFormat.WEBP, "WEBP")],
)
def test_raster_formats_decode_at_the_requested_size_and_dpi(
    quarter: Any, image_format: ImageFormat, pillow_format: str, width: int, height: int, dpi: int
) -> None:
    # 201 x 113 at 100 dpi: width/dpi*dpi is not exactly 201.0 in floating point.
    image = decode(render(quarter, width_px=width, height_px=height, dpi=dpi, format=image_format))
    assert image.format == pillow_format
    assert image.size == (width, height)
    if image_format is ImageFormat.WEBP:
        # WebP has no dpi field: the resolution is in EXIF (XResolution, YResolution, unit inches).
        exif = image.getexif()
        assert (float(exif[0x011A]), float(exif[0x011B]), exif[0x0128]) == (dpi, dpi, 2)
    else:
        # PNG stores pixels per metre, so 100 dpi reads back as 99.9998.
        assert image.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)


@pytest.mark.parametrize(("width", "height", "dpi"), [(900, 600, 100), (1000, 700, 150), (333, 222, 72)])
def test_svg_parses_as_xml_sized_in_points(quarter: Any, width: int, height: int, dpi: int) -> None:
    root = ET.fromstring(render(quarter, width_px=width, height_px=height, dpi=dpi, format=ImageFormat.SVG))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for attribute, pixels_ in (("width", width), ("height", height)):
        value = root.get(attribute)
        assert value is not None
        assert value.endswith("pt")
        assert float(value.removesuffix("pt")) == pytest.approx(pixels_ / dpi * 72.0, abs=1e-6)


def test_media_types_are_the_enum_values() -> None:
    assert {f.name: f.value for f in ImageFormat} == {
        "PNG": "image/png",
        "SVG": "image/svg+xml",
        "JPEG": "image/jpeg",
        "WEBP": "image/webp",
    }


def test_defaults_give_a_1200_by_800_light_western_png(quarter: Any) -> None:
    assert RenderOptions() == RenderOptions(1200, 800, 100, ImageFormat.PNG, Theme.LIGHT, ColorScheme.WESTERN)
    image = decode(render(quarter))
    assert (image.format, image.size) == ("PNG", (1200, 800))


def test_png_carries_no_software_or_time_metadata(quarter: Any) -> None:
    image = decode(render(quarter))
    assert "Software" not in image.info
    assert "Creation Time" not in image.info


# --- reference images -------------------------------------------------------------------------


Reference = tuple[pd.DataFrame, str, list[Overlay], list[Panel], RenderOptions]


def symbol_window(symbol: str, start: str, end: str) -> tuple[pd.DataFrame, np.ndarray]:
    history = BarStore([bundled_data_dir()]).bars(symbol)
    return history, np.asarray((history.index >= start) & (history.index <= end))


def short_spy() -> Reference:
    """Nine days of SPY: candles spread over the width, every date labelled, SMA(5), volume and MACD."""
    history, window = symbol_window("SPY", "2024-03-12", "2024-03-22")
    overlays = [Overlay(SMA, "SMA(5)", outputs(history, "sma", SMAParameters(5), window))]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window)),
    ]
    return history[window], "SPY · 2024-03-12 – 2024-03-22 · TA-Lib", overlays, panels, RenderOptions(1000, 700)


def long_spy() -> Reference:
    """All 33 years of SPY: an automatic log price scale, one pixel column per bucket of bars."""
    history, window = symbol_window("SPY", "1990-01-01", "2030-01-01")
    overlays = [Overlay(SMA, "SMA(200)", outputs(history, "sma", SMAParameters(200), window))]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window)),
        Panel(RSI, "RSI(14)", outputs(history, "rsi", RSIParameters(), window)),
    ]
    return history[window], "SPY · 1993-01-29 – 2026-03-27 · TA-Lib", overlays, panels, RenderOptions(1000, 700)


def cn_tdx() -> Reference:
    """Half a year of the Shanghai Composite under 通达信 conventions and CN colours: DIF, DEA and MACD."""
    tdx = Convention.TDX
    history, window = symbol_window("000001.SH", "2024-07-01", "2024-12-31")
    overlays = [
        Overlay(SMA, "SMA(5)", outputs(history, "sma", SMAParameters(5), window, tdx)),
        Overlay(SMA, "SMA(20)", outputs(history, "sma", SMAParameters(20), window, tdx)),
        Overlay(BOLL, "BOLL(20, 2)", outputs(history, "boll", BollingerParameters(), window, tdx)),
    ]
    panels = [
        Panel(VOLUME, "Volume", {}, tdx),
        Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window, tdx), tdx),
        Panel(KDJ, "KDJ(9, 3, 3)", outputs(history, "kdj", KDJParameters(), window, tdx), tdx),
    ]
    options = RenderOptions(1000, 700, scheme=ColorScheme.CN)
    return history[window], "000001.SH · 2024-07-01 – 2024-12-31 · TDX", overlays, panels, options


def intraday_sessions() -> Reference:
    """Three Shanghai sessions of 5-minute bars: no gap for nights or lunch, times within sessions, dates at opens."""
    stamps = pd.DatetimeIndex(
        [
            stamp
            for day in pd.bdate_range("2024-03-11", periods=3)
            for start, end in (("09:30", "11:30"), ("13:00", "15:00"))
            for stamp in pd.date_range(f"{day.date()} {start}", f"{day.date()} {end}", freq="5min")[1:]
        ],
        name="date",
    )
    bars = random_bars(len(stamps), seed=11).set_axis(stamps)
    tdx = Convention.TDX
    overlays = [Overlay(SMA, "SMA(12)", outputs(bars, "sma", SMAParameters(12), slice(None), tdx))]
    panels = [
        Panel(VOLUME, "Volume", {}, tdx),
        Panel(MACD, "MACD(12, 26, 9)", outputs(bars, "macd", MACDParameters(), slice(None), tdx), tdx),
    ]
    title = f"5-minute bars · {charts.span_text(stamps)} · TDX"
    return bars, title, overlays, panels, RenderOptions(1000, 700, scheme=ColorScheme.CN)


def sse_minutes() -> Reference:
    """Two days of the bundled SSE 1-minute bars, selected as the server does: no lunch or night gap."""
    analytics = Analytics(BarStore([bundled_data_dir()]), "SPY", Convention.TDX)
    selection = analytics.select("000001.SH-1MIN", date(2020, 7, 1), date(2020, 7, 2), interval=Interval.ONE_MINUTE)
    history, window, tdx = selection.history, selection.window, Convention.TDX
    overlays = [Overlay(SMA, "SMA(30)", outputs(history, "sma", SMAParameters(30), window, tdx))]
    panels = [
        Panel(VOLUME, "Volume", {}, tdx),
        Panel(MACD, "MACD(12, 26, 9)", outputs(history, "macd", MACDParameters(), window, tdx), tdx),
    ]
    title = chart_title(selection, tdx)
    assert title == "000001.SH-1MIN · 1 minute · 2020-07-01 09:30 – 2020-07-02 14:59 · TDX"
    return selection.bars, title, overlays, panels, RenderOptions(1000, 700, scheme=ColorScheme.CN)


def spy_half_year(theme: Theme, scheme: ColorScheme) -> Callable[[], Reference]:
    def reference() -> Reference:
        history, window = symbol_window("SPY", "2023-07-01", "2023-12-29")
        bars, overlays, panels = standard_chart(history, window)
        return bars, TITLE, overlays, panels, RenderOptions(1000, 700, theme=theme, scheme=scheme)

    return reference


REFERENCES: dict[str, Callable[[], Reference]] = {
    "spy_2023h2_light_western": spy_half_year(Theme.LIGHT, ColorScheme.WESTERN),
    "spy_2023h2_dark_cn": spy_half_year(Theme.DARK, ColorScheme.CN),
    "short_spy_9_days": short_spy,
    "long_spy_33_years": long_spy,
    "cn_tdx_sse_2024h2": cn_tdx,
    "intraday_3_sessions": intraday_sessions,
    "sse_1min_2020_07_01_02": sse_minutes,
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_chart_matches_reference_image(tmp_path: Path, name: str) -> None:
    expected = BASELINE_DIR / f"{name}.png"
    bars, title, overlays, panels, options = REFERENCES[name]()
    data = render_chart(bars, title=title, overlays=overlays, panels=panels, options=options)
    if UPDATE_BASELINE:
        BASELINE_DIR.mkdir(exist_ok=True)
        expected.write_bytes(data)
        pytest.skip(f"rewrote {expected.name}; unset IDC_UPDATE_BASELINE and rerun to compare")
    if not expected.exists():
        pytest.fail(
            f"reference image {expected.name} is missing; create it with IDC_UPDATE_BASELINE=1 (baseline/README.md)"
        )
    actual = tmp_path / f"{name}.png"
    actual.write_bytes(data)
    failure = compare_images(str(expected), str(actual), tol=BASELINE_TOLERANCE)
    assert failure is None, failure


def test_reference_comparison_catches_a_missing_panel(spy_2023h2: Any, tmp_path: Path) -> None:
    """The tolerance is tight enough that dropping the RSI panel fails the comparison."""
    expected = BASELINE_DIR / "spy_2023h2_light_western.png"
    if not expected.exists():
        pytest.fail(f"reference image {expected.name} is missing; create it with IDC_UPDATE_BASELINE=1")
    bars, overlays, panels = spy_2023h2
    without_rsi = [panel for panel in panels if panel.kind is not RSI]
    actual = tmp_path / "without_rsi.png"
    actual.write_bytes(render((bars, overlays, without_rsi), width_px=1000, height_px=700))
    assert compare_images(str(expected), str(actual), tol=BASELINE_TOLERANCE) is not None


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("panels", [0, 1, 2, 3, 4, 6])
def test_price_panel_gets_the_larger_share(panels: int) -> None:
    fig = Figure(figsize=(12.0, 8.0), dpi=100)
    axes = chart_render._layout(fig, 9.0, 864.0, 576.0, 0.08, 0.98, [12.0] * (panels + 1))
    assert len(axes) == panels + 1
    heights = [ax.get_position().height for ax in axes]
    bottoms = [ax.get_position().y0 for ax in axes]
    assert bottoms == sorted(bottoms, reverse=True)  # price on top, panels below in order
    share = heights[0] / sum(heights)
    if panels in (3, 4):
        assert 0.45 <= share <= 0.6
    if panels:
        assert heights[0] == pytest.approx(max(2.0, panels * 0.52 / 0.48) * heights[1])
        assert len(set(np.round(heights[1:], 9))) == 1  # sub-panels share the rest equally


def test_zero_panels_draw_just_the_price_panel(quarter: Any) -> None:
    bars, overlays, _ = quarter
    data = render_chart(bars, title="price only", overlays=overlays)
    assert decode(data).size == (1200, 800)
    assert data != render(quarter)


def test_single_row_renders_one_normal_width_candle() -> None:
    bars = random_bars(1)
    rgb = pixels(render_chart(bars, title="one day"))
    candle = (np.abs(rgb - np.array([0x1A, 0x98, 0x50])).sum(axis=-1) == 0) | (
        np.abs(rgb - np.array([0xD7, 0x30, 0x27])).sum(axis=-1) == 0
    )
    assert candle[80:].sum() > 500  # the one candle is drawn (below the legend)...
    assert np.count_nonzero(candle[80:].any(axis=0)) < 80  # ...at a normal width, not stretched across the panel


def test_ten_year_window_renders_as_png_and_svg(decade: Any) -> None:
    for image_format in (ImageFormat.PNG, ImageFormat.SVG):
        assert render(decade, width_px=800, height_px=500, format=image_format)


@pytest.mark.parametrize(
    ("width", "height", "dpi"), [(200, 200, 50), (200, 200, 600), (8000, 200, 100), (300, 4000, 100)]
)
def test_extreme_sizes_render(quarter: Any, width: int, height: int, dpi: int) -> None:
    assert decode(render(quarter, width_px=width, height_px=height, dpi=dpi)).size == (width, height)


def test_2500_bars_with_4_panels_and_3_overlays_render(decade: Any) -> None:
    # Speed is the benchmark's business (nox -s bench); this only checks that it draws.
    bars, overlays, panels = decade
    history = random_bars(2520, seed=2)
    overlays = [*overlays, Overlay(EMA, "EMA(50)", outputs(history, "ema", EMAParameters(50), slice(None)))]
    assert decode(render_chart(bars, title="three overlays", overlays=overlays, panels=panels)).size == (1200, 800)


# --- colours ----------------------------------------------------------------------------------


def one_way_bars(rows: int, up: bool) -> pd.DataFrame:
    """Bars that all close above (up) or below their open."""
    bars = random_bars(rows, seed=5)
    low_end, high_end = bars[["open", "close"]].min(axis=1), bars[["open", "close"]].max(axis=1)
    bars["open"], bars["close"] = (low_end, high_end) if up else (high_end, low_end)
    return bars


@pytest.mark.parametrize("theme", list(Theme))
@pytest.mark.parametrize("up", [True, False])
def test_candles_follow_the_colour_scheme(theme: Theme, up: bool) -> None:
    bars = one_way_bars(60, up)
    western = pixels(render_chart(bars, title="t", options=RenderOptions(600, 400, theme=theme)))
    cn = pixels(render_chart(bars, title="t", options=RenderOptions(600, 400, theme=theme, scheme=ColorScheme.CN)))
    # Western: up green, down red. CN: up red, down green. (Legend swatches show both, but are small.)
    green_chart, red_chart = (western, cn) if up else (cn, western)
    assert greenish(green_chart) > 10 * max(reddish(green_chart), 100)
    assert reddish(red_chart) > 10 * max(greenish(red_chart), 100)


@pytest.mark.parametrize("scheme", list(ColorScheme))
def test_volume_bars_and_macd_histogram_follow_the_colour_scheme(scheme: ColorScheme) -> None:
    # Over MAX_CANDLES bars the price panel is a blue close line, so only the
    # panels below use the up and down colours.
    for rows in (charts.MAX_CANDLES + 50, 80):
        bars = one_way_bars(rows, up=True)
        nan = np.full(rows, np.nan)
        positive = np.linspace(0.5, 2.0, rows)
        for panel in (
            Panel(VOLUME, "Volume", {}),
            Panel(MACD, "MACD", {"macd": nan, "signal": nan, "histogram": positive}),
        ):
            options = RenderOptions(600, 400, scheme=scheme)
            rgb = pixels(render_chart(bars, title="t", panels=[panel], options=options))
            lower = rgb[int(rgb.shape[0] * 0.62) :]  # the sub-panel (a third of the plot), below the price panel
            up_count, down_count = (
                (greenish(lower), reddish(lower))
                if scheme is ColorScheme.WESTERN
                else (
                    reddish(lower),
                    greenish(lower),
                )
            )
            assert up_count > 10 * max(down_count, 50), (rows, panel.kind)


def test_negative_histogram_uses_the_down_colour() -> None:
    bars = random_bars(80, seed=6)
    nan = np.full(80, np.nan)
    panel = Panel(MACD, "MACD", {"macd": nan, "signal": nan, "histogram": -np.linspace(0.5, 2.0, 80)})
    rgb = pixels(render_chart(bars, title="t", panels=[panel], options=RenderOptions(600, 400)))
    lower = rgb[int(rgb.shape[0] * 0.62) :]
    assert reddish(lower) > 10 * max(greenish(lower), 50)


def test_dark_theme_has_a_dark_background_and_light_theme_a_white_one(quarter: Any) -> None:
    light = pixels(render(quarter))
    dark = pixels(render(quarter, theme=Theme.DARK))
    for corner in ((0, 0), (-1, -1), (0, -1), (-1, 0)):
        assert tuple(light[corner]) == (255, 255, 255)
        assert max(dark[corner]) < 40
    # Dark charts still have plenty of light text and lines.
    assert (dark.min(axis=-1) > 180).sum() > 2000


# --- determinism and threads ------------------------------------------------------------------


@pytest.mark.parametrize("image_format", list(ImageFormat))
def test_same_input_gives_identical_bytes(quarter: Any, image_format: ImageFormat) -> None:
    bars, overlays, panels = quarter
    copied = (
        bars.copy(deep=True),
        [Overlay(o.kind, o.label, {k: v.copy() for k, v in o.lines.items()}) for o in overlays],
        [Panel(p.kind, p.label, {k: v.copy() for k, v in p.series.items()}) for p in panels],
    )
    options = {"width_px": 600, "height_px": 400, "format": image_format, "theme": Theme.DARK}
    assert render(quarter, **options) == render(copied, **options)


def test_different_inputs_give_different_bytes(quarter: Any) -> None:
    bars, overlays, panels = quarter
    base = render(quarter)
    assert base != render((bars * 1.05, overlays, panels))
    assert base != render(quarter, scheme=ColorScheme.CN)
    assert base != render_chart(bars, title="other", overlays=overlays, panels=panels)


def test_concurrent_renders_match_serial_renders() -> None:
    jobs: list[Callable[[], bytes]] = []
    for i, rows in enumerate([40, 60, 90, 130, 260, 400, 700, 1000] * 2):
        history = random_bars(rows, seed=10 + i)
        bars, overlays, panels = standard_chart(history)
        options = RenderOptions(
            width_px=300 + 10 * i,
            height_px=240,
            format=list(ImageFormat)[i % 4],
            theme=list(Theme)[i // 8],
            scheme=list(ColorScheme)[i % 2],
        )
        chosen = [panels[i % 4], *([panels[(i + 1) % 4]] if i % 2 else [])]

        def job(
            bars: pd.DataFrame = bars,
            o: Sequence[Overlay] = overlays,
            p: Sequence[Panel] = chosen,
            options: RenderOptions = options,
        ) -> bytes:
            return render_chart(bars, title=f"chart {len(bars)}", overlays=o, panels=p, options=options)

        jobs.append(job)

    serial = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: job(), jobs))
    assert len(set(serial)) == len(jobs)  # every input gives its own image
    assert concurrent == serial


PROCESS_CHECK = """
import hashlib, sys
import numpy as np, pandas as pd
import idc_server.core.charts as charts
assert "matplotlib.pyplot" not in sys.modules
bars = pd.DataFrame({"open": [1.0, 2.0, 3.0], "high": [2.5, 3.5, 4.5], "low": [0.5, 1.5, 2.5],
                     "close": [2.0, 3.0, 2.8], "volume": [10.0, 20.0, 30.0]},
                    index=pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], name="date"))
panels = [charts.Panel(charts.VOLUME, "Volume", {})]
for fmt in (charts.ImageFormat.PNG, charts.ImageFormat.SVG):
    data = charts.render_chart(bars, title="t", panels=panels, options=charts.RenderOptions(400, 300, format=fmt))
    print(hashlib.sha256(data).hexdigest())
assert "matplotlib.pyplot" not in sys.modules
"""


def test_other_processes_render_the_same_bytes_without_pyplot() -> None:
    """A fresh interpreter never imports pyplot, and renders byte-identical output (SVG ids are not random)."""
    result = subprocess.run(
        [sys.executable, "-c", PROCESS_CHECK], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    bars = pd.DataFrame(
        {
            "open": [1.0, 2.0, 3.0],
            "high": [2.5, 3.5, 4.5],
            "low": [0.5, 1.5, 2.5],
            "close": [2.0, 3.0, 2.8],
            "volume": [10.0, 20.0, 30.0],
        },
        index=pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], name="date"),
    )
    panels = [Panel(VOLUME, "Volume", {})]
    here = [
        hashlib.sha256(
            render_chart(bars, title="t", panels=panels, options=RenderOptions(400, 300, format=f))
        ).hexdigest()
        for f in (ImageFormat.PNG, ImageFormat.SVG)
    ]
    assert result.stdout.split() == here


# --- checkpoint and cancellation --------------------------------------------------------------


@pytest.mark.parametrize("panel_count", [0, 4])
@pytest.mark.parametrize("image_format", [ImageFormat.PNG, ImageFormat.SVG])
def test_checkpoint_is_called_between_steps(quarter: Any, panel_count: int, image_format: ImageFormat) -> None:
    bars, overlays, panels = quarter
    calls: list[int] = []
    render_chart(
        bars,
        title="t",
        overlays=overlays,
        panels=panels[:panel_count],
        options=RenderOptions(400, 300, format=image_format),
        checkpoint=lambda: calls.append(1),
    )
    # Before building, after each panel (and the price panel), once per axes while drawing, before encoding.
    # The exact count pins down the per-axes calls during drawing: without them it would be panel_count + 3.
    assert len(calls) >= panel_count + 3
    assert len(calls) == 2 * panel_count + 4


def test_cancelling_on_the_third_checkpoint_abandons_the_render(quarter: Any) -> None:
    bars, overlays, panels = quarter
    calls: list[int] = []

    def checkpoint() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RenderAbandonedError("every caller went away")

    with pytest.raises(RenderAbandonedError):
        render_chart(bars, title="t", overlays=overlays, panels=panels, checkpoint=checkpoint)
    assert len(calls) == 3  # abandoned at once
    assert not chart_render._LOCK.locked()
    assert decode(render_chart(bars, title="t", overlays=overlays, panels=panels)).size == (1200, 800)


@pytest.mark.parametrize("image_format", [ImageFormat.PNG, ImageFormat.SVG])
def test_any_checkpoint_can_abandon_the_render_and_releases_the_lock(quarter: Any, image_format: ImageFormat) -> None:
    bars, overlays, panels = quarter
    chosen = panels[:2]
    total = 2 * len(chosen) + 4
    for stop in range(1, total + 1):
        calls: list[int] = []

        def checkpoint(calls: list[int] = calls, stop: int = stop) -> None:
            calls.append(1)
            if len(calls) == stop:
                raise KeyboardInterrupt if stop == total else LookupError(stop)  # whatever it raises propagates

        with pytest.raises((LookupError, KeyboardInterrupt)):
            render_chart(
                bars,
                title="t",
                overlays=overlays,
                panels=chosen,
                options=RenderOptions(300, 200, format=image_format),
                checkpoint=checkpoint,
            )
        assert len(calls) == stop
        assert not chart_render._LOCK.locked()
    render_chart(bars, title="t", options=RenderOptions(300, 200, format=image_format))


# --- missing values, inputs and validation ----------------------------------------------------


def test_warm_up_nans_render(quarter: Any) -> None:
    bars, overlays, panels = standard_chart(random_bars(80, seed=3))  # no history before: long warm-ups
    macd = next(p for p in panels if p.kind is MACD).series["macd"]
    assert np.isnan(macd[:33]).all()
    assert not np.isnan(macd[33:]).any()
    for image_format in (ImageFormat.PNG, ImageFormat.SVG):
        assert render((bars, overlays, panels), width_px=600, height_px=400, format=image_format)


@pytest.mark.parametrize("rows", [1, 60, charts.MAX_CANDLES + 1])
def test_all_nan_series_render(rows: int) -> None:
    bars = random_bars(rows, seed=4)
    nan = np.full(rows, np.nan)
    overlays = [
        Overlay(SMA, "SMA(20)", {"sma": nan}),
        Overlay(BOLL, "BOLL(20, 2)", {"upper": nan, "middle": nan, "lower": nan}),
    ]
    panels = [
        Panel(VOLUME, "Volume", {}),
        Panel(MACD, "MACD", {"macd": nan, "signal": nan, "histogram": nan}),
        Panel(RSI, "RSI", {"rsi": nan}),
        Panel(KDJ, "KDJ", {"k": nan, "d": nan, "j": nan}),
    ]
    for image_format in (ImageFormat.PNG, ImageFormat.SVG):
        assert render_chart(
            bars, title="t", overlays=overlays, panels=panels, options=RenderOptions(format=image_format)
        )


@pytest.mark.parametrize("rows", [60, 2520])
def test_inputs_are_not_mutated(rows: int) -> None:
    bars, overlays, panels = standard_chart(random_bars(rows, seed=4))
    bars_before = bars.copy(deep=True)
    arrays = [*(a for o in overlays for a in o.lines.values()), *(a for p in panels for a in p.series.values())]
    arrays_before = [a.copy() for a in arrays]
    for image_format in (ImageFormat.PNG, ImageFormat.SVG):  # the other formats only re-encode PNG's pixels
        options = RenderOptions(600, 400, format=image_format)
        render_chart(bars, title="t", overlays=overlays, panels=panels, options=options)
    pd.testing.assert_frame_equal(bars, bars_before, check_freq=True)
    for after, before in zip(arrays, arrays_before, strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize(
    "size",
    [{"width_px": 0}, {"width_px": -1200}, {"height_px": 0}, {"height_px": -1}, {"dpi": 0}, {"dpi": -100}],
)
def test_non_positive_size_raises_value_error(quarter: Any, size: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        render(quarter, **size)


def test_empty_bars_raise_value_error(quarter: Any) -> None:
    bars, _, _ = quarter
    with pytest.raises(ValueError, match="empty"):
        render_chart(bars.iloc[:0], title="t")


def test_wrong_length_arrays_raise_value_error_naming_them(quarter: Any) -> None:
    bars, _, _ = quarter
    n = len(bars)
    short_overlay = Overlay(SMA, "SMA(20)", {"sma": np.zeros(n - 1)})
    with pytest.raises(ValueError, match=rf"SMA\(20\).*'sma'.*{n - 1} values.*\({n}\)"):
        render_chart(bars, title="t", overlays=[short_overlay])
    long_panel = Panel(RSI, "RSI(14)", {"rsi": np.zeros(n + 5)})
    with pytest.raises(ValueError, match=rf"RSI\(14\).*'rsi'.*{n + 5} values"):
        render_chart(bars, title="t", panels=[long_panel])


def test_missing_series_and_columns_raise_value_error(quarter: Any) -> None:
    bars, _, _ = quarter
    n = len(bars)
    with pytest.raises(ValueError, match="histogram"):
        render_chart(bars, title="t", panels=[Panel(MACD, "MACD", {"macd": np.zeros(n), "signal": np.zeros(n)})])
    with pytest.raises(ValueError, match="volume"):
        render_chart(bars.drop(columns="volume"), title="t", panels=[Panel(VOLUME, "Volume", {})])
    with pytest.raises(ValueError, match="close"):
        render_chart(bars.drop(columns="close"), title="t")
    # Volume is only needed for a volume panel.
    assert render_chart(bars.drop(columns="volume"), title="t")


# --- date axis --------------------------------------------------------------------------------


# --- time axis --------------------------------------------------------------------------------

DEFAULT_GEOMETRY = AxisGeometry(first_px=100.0, slot_px=1.0, image_px=1200.0, font_px=12.5)


def geometry_for(rows: int, plot_px: float = 1080.0) -> AxisGeometry:
    """Bars spread over ``plot_px`` pixels starting 100 px into a 1200 px image, as the renderer lays them out."""
    slot = plot_px / (rows + 0.2)
    return AxisGeometry(first_px=100.0 + 0.6 * slot, slot_px=slot, image_px=plot_px + 120.0, font_px=12.5)


@pytest.mark.parametrize(
    ("rows", "label_length"),
    [
        (1, 10),  # one day: "2023-03-15"
        (22, 10),  # a month: daily labels
        (250, 7),  # a year: "2023-03"
        (2520, 4),  # ten years: "2023"
    ],
)
def test_date_ticks_suit_the_span(rows: int, label_length: int) -> None:
    dates = pd.bdate_range("2014-01-02", periods=rows, name="date")
    positions, labels = time_ticks(dates, geometry_for(rows))
    assert 1 <= len(positions) <= 12
    if rows >= 22:
        assert len(positions) >= 4
    assert positions == sorted(set(positions))
    assert all(0 <= p < rows for p in positions)
    assert {len(label) for label in labels} == {label_length}
    # Each label names the date at its position.
    assert all(dates[p].strftime("%Y-%m-%d").startswith(label) for p, label in zip(positions, labels, strict=True))


def test_month_ticks_fall_on_first_trading_day_of_month() -> None:
    dates = pd.bdate_range("2023-01-16", "2023-08-31", name="date")
    positions, labels = time_ticks(dates, geometry_for(len(dates)))
    # A mid-January start gets no January tick; every later month gets one.
    assert labels == ["2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07", "2023-08"]
    for p in positions:
        assert p > 0
        assert dates[p].month != dates[p - 1].month


def test_a_month_opening_after_a_week_long_holiday_still_gets_its_tick() -> None:
    history = BarStore([bundled_data_dir()]).bars("000001.SH")
    dates = pd.DatetimeIndex(history.index[(history.index >= "2024-07-01") & (history.index <= "2024-12-31")])
    positions, labels = time_ticks(dates, geometry_for(len(dates)))
    assert labels == ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
    assert dates[positions[3]] == pd.Timestamp("2024-10-08")  # after the National Day holiday


def test_nine_bars_get_every_date_when_there_is_room_and_fewer_when_not() -> None:
    dates = pd.bdate_range("2024-03-12", periods=9, name="date")
    wide, _ = time_ticks(dates, geometry_for(9))
    assert wide == list(range(9))  # 120 px a bar: every bar, under its candle
    narrow, _ = time_ticks(dates, geometry_for(9, plot_px=300.0))
    assert len(narrow) < 9
    gap = np.diff(narrow).min() * 300.0 / 9.2
    assert gap >= 12 * 0.64 * 12.5  # ten characters and two of air apart


def cn_sessions(days: int = 3, minutes: int = 5) -> pd.DatetimeIndex:
    """Bars of ``days`` Shanghai sessions: 09:35..11:30 and 13:05..15:00, every ``minutes`` minutes."""
    stamps: list[pd.Timestamp] = []
    for day in pd.bdate_range("2024-03-11", periods=days):
        for start, end in (("09:30", "11:30"), ("13:00", "15:00")):
            session = pd.date_range(f"{day.date()} {start}", f"{day.date()} {end}", freq=f"{minutes}min")
            stamps.extend(session[1:])  # a bar is stamped with its end
    return pd.DatetimeIndex(stamps, name="date")


def test_intraday_ticks_label_sessions_with_dates_and_hours_with_times() -> None:
    stamps = cn_sessions()
    assert len(stamps) == 3 * 48
    positions, labels = time_ticks(stamps, geometry_for(len(stamps)))
    by_position = dict(zip(positions, labels, strict=True))
    # Each session opens with its date, and the afternoon is labelled where it starts after lunch.
    assert [by_position[p] for p in (0, 48, 96)] == ["03-11", "03-12", "03-13"]
    afternoon = int(np.flatnonzero(stamps == pd.Timestamp("2024-03-11 13:05"))[0])
    assert by_position[afternoon] == "13:05"
    assert stamps[afternoon - 1] == pd.Timestamp("2024-03-11 11:30")  # the next bar: no gap for lunch
    for p, label in by_position.items():
        assert label == stamps[p].strftime("%m-%d" if p in (0, 48, 96) else "%H:%M")
    assert np.diff(positions).min() * geometry_for(len(stamps)).slot_px >= 7 * 0.64 * 12.5


def test_intraday_sessions_too_narrow_for_times_are_labelled_by_date() -> None:
    stamps = cn_sessions(days=60)
    positions, labels = time_ticks(stamps, geometry_for(len(stamps)))
    assert 4 <= len(positions) <= 12
    assert all(stamps[p].strftime("%m-%d") == label for p, label in zip(positions, labels, strict=True))
    assert all(p == 0 or stamps[p].date() != stamps[p - 1].date() for p in positions)  # session starts


def test_title_span_shows_times_only_for_intraday_bars() -> None:
    assert charts.span_text(pd.bdate_range("2024-03-11", periods=5)) == "2024-03-11 – 2024-03-15"
    assert charts.span_text(cn_sessions(days=2)) == "2024-03-11 09:35 – 2024-03-12 15:00"
    assert charts.span_text(pd.DatetimeIndex(["2024-03-11"])) == "2024-03-11"
