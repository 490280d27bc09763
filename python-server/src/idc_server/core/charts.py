"""Render price + MACD charts to PNG bytes with matplotlib's object API.

This module is part of the proto-free core: it takes a pandas DataFrame and
returns PNG bytes. It knows nothing about gRPC, protobuf or request
validation; the API layer converts requests and range-checks sizes.

Thread safety: pyplot is never imported (it keeps global figure state). Each
call builds its own ``Figure`` with a ``FigureCanvasAgg``, styles every artist
with explicit arguments instead of touching ``rcParams``, and holds
``_LOCK`` while drawing, because matplotlib does not promise that drawing
separate figures concurrently is race-free. PNG encoding of the finished
pixel buffer runs outside the lock.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import imsave
from matplotlib.patches import Patch

__all__ = ["render_macd_chart"]

# Default output size.
WIDTH_PX = 1200
HEIGHT_PX = 800
DPI = 100

# Colours.
UP = "#1a9850"  # up candles, histogram >= 0
DOWN = "#d73027"  # down candles, histogram < 0
CLOSE = "#2c5d8f"  # close line (dense windows)
RANGE = "#a9c1dc"  # high-low band behind the close line
MACD = "#1f4e9c"
SIGNAL = "#f28e1c"
ZERO = "#7f7f7f"
GRID = "#e3e3e3"
TEXT = "#222222"
SPINE = "#9a9a9a"
BG = "#ffffff"

# Above this many bars candles are narrower than ~4 px at the default size and
# turn into noise, so the price panel switches to a close line over a
# high-low band.
MAX_CANDLES = 250

FONT_PT = 9.0  # base font size; shrunk for very small images
MAX_TICKS = 10
MIN_SLOTS = 20  # narrowest x range, in bars
PRICE_SHARE = 2.0  # price panel height relative to the MACD panel

_COLUMNS = ("open", "high", "low", "close", "macd", "signal", "histogram")
_LOCK = threading.Lock()

FloatArray = npt.NDArray[np.float64]


def render_macd_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Render a price panel over a MACD panel and return PNG bytes of exactly width_px x height_px.

    ``frame`` is indexed by trading day and needs the columns open, high, low,
    close, macd, signal and histogram (volume is not drawn). It is not modified.
    Up to MAX_CANDLES rows the price panel shows candlesticks, beyond that a
    close line over a high-low band. Days are plotted at positions 0..n-1, so
    weekends and holidays leave no gaps.
    """
    if width_px <= 0 or height_px <= 0 or dpi <= 0:
        raise ValueError(f"width_px, height_px and dpi must be positive, got {width_px}, {height_px}, {dpi}")
    if frame.empty:
        raise ValueError("cannot render a chart of an empty frame")
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns: {', '.join(missing)}")

    cols = {c: frame[c].to_numpy(dtype=np.float64, copy=True) for c in _COLUMNS}
    dates = pd.DatetimeIndex(frame.index)
    n = len(dates)
    w_in, h_in = width_px / dpi, height_px / dpi
    fs = _font_size(w_in, h_in)
    lw = fs / FONT_PT  # line-width scale, < 1 only for tiny images

    fig = Figure(figsize=(w_in, h_in), dpi=dpi, facecolor=BG)
    canvas = FigureCanvasAgg(fig)
    price_ax, macd_ax = _layout(fig, w_in, h_in, fs)
    x = np.arange(n, dtype=np.float64)
    # At least MIN_SLOTS bar slots wide, so one or two candles are not giant.
    half = max(n, MIN_SLOTS) / 2.0
    macd_ax.set_xlim((n - 1) / 2.0 - half - 0.1, (n - 1) / 2.0 + half + 0.1)
    slot_pt = w_in * 72.0 * macd_ax.get_position().width / (2.0 * half)

    price_handles = _draw_price(price_ax, x, cols, lw, slot_pt)
    macd_handles = _draw_macd(macd_ax, x, cols, lw)
    h_pt = h_in * 72.0
    for ax, handles, values in (
        (price_ax, price_handles, (cols["low"], cols["high"], cols["open"], cols["close"])),
        (macd_ax, macd_handles, (cols["macd"], cols["signal"], cols["histogram"], np.zeros(1))),
    ):
        _legend(ax, handles, fs)
        _style_axes(ax, fs)
        _set_ylim(
            ax,
            np.concatenate(values),
            (1.9 * fs + 6.0) / (ax.get_position().height * h_pt),
        )

    positions, labels = _date_ticks(dates, w_in * dpi * macd_ax.get_position().width, fs * dpi / 72.0)
    macd_ax.set_xticks(positions, labels=labels)
    price_ax.tick_params(axis="x", labelbottom=False)
    fig.suptitle(
        title,
        x=0.5,
        y=1.0 - 0.6 * fs / h_pt,
        va="top",
        fontsize=fs * 1.3,
        fontweight="bold",
        color=TEXT,
        parse_math=False,
    )

    buf = io.BytesIO()
    with _LOCK:
        canvas.draw()  # type: ignore[no-untyped-call]
    # Encoding only reads this call's own pixel buffer, so it runs unlocked.
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    # Software=None drops matplotlib's version string: bytes depend on input only.
    meta: dict[str, Any] = {"Software": None}
    imsave(buf, rgba, format="png", origin="upper", dpi=dpi, metadata=meta)
    return buf.getvalue()


def _font_size(w_in: float, h_in: float) -> float:
    """Base font size in points: FONT_PT, smaller when the image is tiny."""
    return max(3.0, min(FONT_PT, h_in * 72.0 / 26.0, w_in * 72.0 / 42.0))


def _layout(fig: Figure, w_in: float, h_in: float, fs: float) -> tuple[Axes, Axes]:
    """Create the two stacked axes with margins sized in points from the font size."""
    w_pt, h_pt = w_in * 72.0, h_in * 72.0
    left = (7.0 * 0.64 * fs + 9.0) / w_pt  # room for ~7-character y labels
    right = 1.0 - (1.2 * fs + 4.0) / w_pt
    top = 1.0 - 2.6 * fs / h_pt  # title
    bottom = (1.6 * fs + 9.0) / h_pt  # x tick labels
    gap = 1.2 * fs / h_pt
    panel = (top - bottom - gap) / (PRICE_SHARE + 1.0)
    if panel <= 0 or right <= left:  # absurdly small image: fall back to fractions
        left, right, top, bottom, gap = 0.1, 0.98, 0.9, 0.1, 0.02
        panel = (top - bottom - gap) / (PRICE_SHARE + 1.0)
    macd_ax = fig.add_axes((left, bottom, right - left, panel))
    price_ax = fig.add_axes((left, bottom + panel + gap, right - left, PRICE_SHARE * panel), sharex=macd_ax)
    return price_ax, macd_ax


def _draw_price(ax: Axes, x: FloatArray, c: dict[str, FloatArray], lw: float, slot_pt: float) -> list[Artist]:
    """Candlesticks for short windows, a close line over a high-low band otherwise."""
    o, h, lo, cl = c["open"], c["high"], c["low"], c["close"]
    if len(x) > MAX_CANDLES:
        band = ax.fill_between(x, lo, h, color=RANGE, alpha=0.55, linewidth=0, label="High-low")
        (line,) = ax.plot(x, cl, color=CLOSE, linewidth=1.1 * lw, label="Close")
        return [band, line]
    colors = np.where(cl >= o, UP, DOWN).tolist()
    wick = lw * min(1.2, max(0.5, slot_pt * 0.12))
    ax.vlines(x, lo, h, colors=colors, linewidth=wick, zorder=2)
    body = PolyCollection(
        _boxes(x, o, cl, 0.65),
        facecolors=colors,
        edgecolors=colors,
        linewidths=lw * min(0.8, max(0.3, slot_pt * 0.05)),  # keeps dojis visible
        zorder=3,
    )
    ax.add_collection(body, autolim=False)
    return [Patch(color=UP, label="Up day"), Patch(color=DOWN, label="Down day")]


def _draw_macd(ax: Axes, x: FloatArray, c: dict[str, FloatArray], lw: float) -> list[Artist]:
    """MACD and signal lines over a sign-coloured histogram and a zero line."""
    hist = c["histogram"]
    pos = hist >= 0
    if len(x) <= MAX_CANDLES:
        colors = np.where(pos, UP, DOWN).tolist()
        bars = PolyCollection(_boxes(x, np.zeros_like(hist), hist, 0.8), facecolors=colors, linewidths=0, zorder=2)
        ax.add_collection(bars, autolim=False)
    else:
        # Thousands of sub-pixel bars: draw each sign as one stepped polygon
        # (bar i spans i-0.5..i+0.5) instead.
        edges = np.column_stack((x - 0.5, x + 0.5)).ravel()
        for part, color in (
            (np.where(pos, hist, 0.0), UP),
            (np.where(hist < 0, hist, 0.0), DOWN),
        ):
            ax.fill_between(edges, 0.0, np.repeat(part, 2), color=color, linewidth=0, zorder=2)
    ax.axhline(0.0, color=ZERO, linewidth=0.8 * lw, zorder=1)
    line_w = lw * (1.3 if len(x) <= MAX_CANDLES else 1.0)
    (macd,) = ax.plot(x, c["macd"], color=MACD, linewidth=line_w, label="MACD", zorder=3)
    (signal,) = ax.plot(x, c["signal"], color=SIGNAL, linewidth=line_w, label="Signal", zorder=3)
    return [
        macd,
        signal,
        Patch(color=UP, label="Histogram \u2265 0"),
        Patch(color=DOWN, label="Histogram < 0"),
    ]


def _boxes(x: FloatArray, y0: FloatArray, y1: FloatArray, width: float) -> Sequence[FloatArray]:
    """Rectangles centred on x spanning y0..y1, as one (n, 4, 2) vertex array for a PolyCollection."""
    left, right = x - width / 2.0, x + width / 2.0
    corners = ((left, y0), (left, y1), (right, y1), (right, y0))
    verts = np.stack([np.column_stack(corner) for corner in corners], axis=1)
    # PolyCollection documents (n, 4, 2) arrays (its fast path); the stubs only say Sequence.
    return cast("Sequence[FloatArray]", verts)


def _legend(ax: Axes, handles: list[Artist], fs: float) -> None:
    """Compact one-row legend in the upper-left corner (never loc='best': slow)."""
    ax.legend(
        handles=handles,
        loc="upper left",
        ncols=4,
        fontsize=fs * 0.9,
        frameon=True,
        framealpha=0.85,
        edgecolor=GRID,
        fancybox=False,
        borderaxespad=0.3,
        handlelength=1.4,
        columnspacing=1.2,
        labelcolor=TEXT,
    )


def _set_ylim(ax: Axes, values: FloatArray, legend_frac: float) -> None:
    """Fit the finite values, leaving a strip at the top for the legend."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    if span <= 0.0:
        span = abs(hi) * 0.02 or 1.0
        lo, hi = lo - span / 2.0, hi + span / 2.0
    total = span / (1.0 - min(legend_frac, 0.4) - 0.07)
    bottom = lo - 0.04 * total
    ax.set_ylim(bottom, bottom + total)


def _style_axes(ax: Axes, fs: float) -> None:
    """Grid, spines and tick styling with explicit arguments (no rcParams)."""
    ax.set_facecolor(BG)
    ax.grid(True, color=GRID, linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_color(SPINE)
        spine.set_linewidth(0.8)
    ax.tick_params(labelsize=fs, labelcolor=TEXT, color=SPINE, length=3, width=0.6, pad=2)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)


def _date_ticks(dates: pd.DatetimeIndex, axes_px: float, font_px: float) -> tuple[list[int], list[str]]:
    """Pick ~6-10 tick positions (0..n-1) with date labels suited to the span.

    Windows of three months or more get ticks on the first trading day of a
    month ("2023-03") or year ("2023") every 1, 2, 3, 6 months or 1, 2, 5, 10,
    20 years; shorter windows get every k-th trading day ("2023-03-15").
    """
    n = len(dates)
    span_days = (dates[-1] - dates[0]).days

    def max_ticks(chars: int) -> int:
        label_px = (chars + 3) * 0.62 * font_px
        return max(2, min(MAX_TICKS, int(axes_px // label_px)))

    if span_days >= 90:
        limit = max_ticks(7)
        for months in (1, 2, 3, 6, 12, 24, 60, 120, 240, 600):
            if span_days / (30.44 * months) <= limit:
                break
        positions = _period_starts(dates, months)
        if len(positions) >= 2:
            fmt = "%Y" if months >= 12 else "%Y-%m"
            return positions, [dates[p].strftime(fmt) for p in positions]

    limit = max_ticks(10)
    step = next((s for s in (1, 2, 3, 5, 10, 15, 20, 25, 50, 100) if n / s <= limit), n)
    positions = list(range(0, n, step))
    return positions, [dates[p].strftime("%Y-%m-%d") for p in positions]


def _period_starts(dates: pd.DatetimeIndex, months: int) -> list[int]:
    """Positions of the first trading day of each period of `months` months.

    A period counts only if the data has a row within its first week, so a
    window starting mid-month does not get a misleading month tick at 0.
    """
    first = dates[0].year * 12 + dates[0].month - 1
    last = dates[-1].year * 12 + dates[-1].month - 1
    periods = range(math.ceil(first / months) * months, last + 1, months)
    starts = pd.DatetimeIndex([pd.Timestamp(year=p // 12, month=p % 12 + 1, day=1) for p in periods])
    idx = dates.searchsorted(starts)
    week = pd.Timedelta(days=7)
    return [int(i) for i, start in zip(idx.tolist(), starts, strict=True) if i < len(dates) and dates[i] < start + week]
