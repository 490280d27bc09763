"""Tests for the PNG price + MACD chart renderer."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from idc_server.core.charts import CLOSE, DOWN, UP, _date_ticks, render_macd_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLE = "SPY  2023-01-03 – 2023-12-29  MACD(12, 26, 9)"


def ohlcv_macd_frame(rows: int, seed: int = 0, start: str = "2015-01-02") -> pd.DataFrame:
    """A random-walk OHLCV frame on business days with MACD(12, 26, 9) columns."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, rows)))
    open_ = close * np.exp(rng.normal(0.0, 0.006, rows))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.005, rows)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.005, rows)))
    volume = rng.integers(1_000_000, 5_000_000, rows).astype(np.float64)
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.bdate_range(start, periods=rows, name="date"),
    )
    fast = frame["close"].ewm(span=12, adjust=False).mean()
    slow = frame["close"].ewm(span=26, adjust=False).mean()
    frame["macd"] = fast - slow
    frame["signal"] = frame["macd"].ewm(span=9, adjust=False).mean()
    frame["histogram"] = frame["macd"] - frame["signal"]
    return frame


def decode(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def colour_count(pixels: np.ndarray, hex_colour: str) -> int:
    return int(np.all(pixels == rgb(hex_colour), axis=-1).sum())


def distinct_colours(pixels: np.ndarray) -> int:
    packed = pixels[..., 0].astype(np.int32) << 16 | pixels[..., 1].astype(np.int32) << 8 | pixels[..., 2]
    return len(np.unique(packed))


@pytest.fixture(scope="module")
def quarter() -> pd.DataFrame:
    """About three months of bars: candlestick mode."""
    return ohlcv_macd_frame(60, seed=1)


@pytest.fixture(scope="module")
def decade() -> pd.DataFrame:
    """Ten years of bars: close-line mode."""
    return ohlcv_macd_frame(2520, seed=2)


@pytest.mark.parametrize(
    ("width", "height", "dpi"),
    [(1200, 800, 100), (800, 600, 72), (333, 222, 150), (201, 113, 100), (1000, 750, 150)],
)
def test_png_has_exactly_the_requested_pixel_size(quarter: pd.DataFrame, width: int, height: int, dpi: int) -> None:
    # 201 x 113 at 100 dpi: width/dpi*dpi is not exactly 201.0 in floating point.
    image = decode(render_macd_chart(quarter, title=TITLE, width_px=width, height_px=height, dpi=dpi))
    assert image.format == "PNG"
    assert image.size == (width, height)


def test_defaults_give_1200_by_800(quarter: pd.DataFrame) -> None:
    assert decode(render_macd_chart(quarter, title=TITLE)).size == (1200, 800)


def test_single_row_renders() -> None:
    image = decode(render_macd_chart(ohlcv_macd_frame(1), title="one day"))
    assert image.size == (1200, 800)
    pixels = np.asarray(image.convert("RGB"))
    candle = np.all(pixels == rgb(UP), axis=-1) | np.all(pixels == rgb(DOWN), axis=-1)
    assert candle.sum() > 500  # the one candle is drawn...
    assert np.count_nonzero(candle[:500].any(axis=0)) < 80  # ...at a normal width, not stretched across the panel


def test_ten_year_window_renders(decade: pd.DataFrame) -> None:
    assert decode(render_macd_chart(decade, title=TITLE)).size == (1200, 800)


def test_leading_nan_indicator_rows_render() -> None:
    frame = ohlcv_macd_frame(80, seed=3)
    frame.loc[frame.index[:25], ["macd", "signal", "histogram"]] = np.nan  # indicator warm-up
    assert decode(render_macd_chart(frame, title=TITLE)).size == (1200, 800)


@pytest.mark.parametrize("rows", [60, 2520])
def test_input_frame_is_not_mutated(rows: int) -> None:
    frame = ohlcv_macd_frame(rows, seed=4)
    before = frame.copy(deep=True)
    render_macd_chart(frame, title=TITLE)
    pd.testing.assert_frame_equal(frame, before, check_freq=True)


def test_same_input_gives_identical_bytes(quarter: pd.DataFrame) -> None:
    assert render_macd_chart(quarter, title=TITLE) == render_macd_chart(quarter.copy(), title=TITLE)


def test_png_carries_no_software_or_time_metadata(quarter: pd.DataFrame) -> None:
    image = decode(render_macd_chart(quarter, title=TITLE))
    assert "Software" not in image.info
    assert "Creation Time" not in image.info


def test_different_data_gives_different_bytes(quarter: pd.DataFrame) -> None:
    other = quarter.copy()
    other["close"] = other["close"] * 1.05
    assert render_macd_chart(quarter, title=TITLE) != render_macd_chart(other, title=TITLE)
    assert render_macd_chart(quarter, title=TITLE) != render_macd_chart(ohlcv_macd_frame(60, seed=99), title=TITLE)


def test_different_title_gives_different_bytes(quarter: pd.DataFrame) -> None:
    assert render_macd_chart(quarter, title="SPY") != render_macd_chart(quarter, title="QQQ")


def test_concurrent_renders_match_serial_renders() -> None:
    frames = [ohlcv_macd_frame(rows, seed=seed) for seed, rows in enumerate([20, 45, 90, 130, 260, 400, 700, 1000] * 2)]
    titles = [f"chart {i}" for i in range(len(frames))]

    def render(i: int) -> bytes:
        return render_macd_chart(frames[i], title=titles[i], width_px=400, height_px=300)

    serial = [render(i) for i in range(len(frames))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(render, range(len(frames))))
    assert len(set(serial)) == len(frames)  # every input gives its own image
    assert concurrent == serial


def test_module_does_not_import_pyplot() -> None:
    code = "import idc_server.core.charts, sys; assert 'matplotlib.pyplot' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr


def test_candle_chart_draws_both_panels_in_colour(quarter: pd.DataFrame) -> None:
    pixels = np.asarray(decode(render_macd_chart(quarter, title=TITLE)).convert("RGB"))
    assert distinct_colours(pixels) > 100
    # Rows clear of the legends: price panel body, then MACD panel body.
    price, macd = pixels[120:500], pixels[640:760]
    for panel in (price, macd):
        # A legend swatch is ~100 px; real candles and histogram bars are far more.
        assert colour_count(panel, UP) > 1500
        assert colour_count(panel, DOWN) > 1500


def test_line_chart_draws_close_line_and_coloured_histogram(decade: pd.DataFrame) -> None:
    pixels = np.asarray(decode(render_macd_chart(decade, title=TITLE)).convert("RGB"))
    assert distinct_colours(pixels) > 100
    assert colour_count(pixels[120:500], CLOSE) > 1000
    macd = pixels[640:760]  # below the legend
    assert colour_count(macd, UP) > 300
    assert colour_count(macd, DOWN) > 300


def test_empty_frame_raises_value_error(quarter: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="empty"):
        render_macd_chart(quarter.iloc[:0], title=TITLE)


def test_missing_column_raises_value_error(quarter: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="histogram"):
        render_macd_chart(quarter.drop(columns="histogram"), title=TITLE)


@pytest.mark.parametrize(
    "size",
    [
        {"width_px": 0},
        {"width_px": -1200},
        {"height_px": 0},
        {"height_px": -1},
        {"dpi": 0},
        {"dpi": -100},
    ],
)
def test_non_positive_size_raises_value_error(quarter: pd.DataFrame, size: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        render_macd_chart(quarter, title=TITLE, **size)


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
    positions, labels = _date_ticks(dates, axes_px=1100.0, font_px=12.5)
    assert 1 <= len(positions) <= 10
    if rows >= 22:
        assert len(positions) >= 4
    assert positions == sorted(set(positions))
    assert all(0 <= p < rows for p in positions)
    assert {len(label) for label in labels} == {label_length}
    # Each label names the date at its position.
    assert all(dates[p].strftime("%Y-%m-%d").startswith(label) for p, label in zip(positions, labels, strict=True))


def test_month_ticks_fall_on_first_trading_day_of_month() -> None:
    dates = pd.bdate_range("2023-01-16", "2023-08-31", name="date")
    positions, labels = _date_ticks(dates, axes_px=1100.0, font_px=12.5)
    # A mid-January start gets no January tick; every later month gets one.
    assert labels == ["2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07", "2023-08"]
    for p in positions:
        assert p > 0
        assert dates[p].month != dates[p - 1].month
