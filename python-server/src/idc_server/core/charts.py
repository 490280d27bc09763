"""Render stock charts (price, overlays, indicator panels) with matplotlib's object API.

This module is part of the proto-free core: it takes a bars frame and
indicator arrays and returns encoded image bytes (PNG, SVG, JPEG or WebP).
It knows nothing about gRPC, protobuf or request validation; the API layer
converts requests and range-checks sizes.

Layout: a title, then the price panel (candlesticks up to MAX_CANDLES bars,
else a close line over a high-low band) with its overlays, then one panel per
``Panel`` in order. All panels share one x axis on which trading day ``i`` sits
at ``x = i``, so weekends and holidays leave no gaps; only the bottom panel
shows date labels. Sizes (fonts, margins, line widths) are worked out in
points from the image's size in inches, so a higher dpi at the same pixel
size gives larger text and thicker lines.

Thread safety: pyplot is never imported (it keeps global figure state). Each
call builds its own ``Figure``, styles every artist with explicit arguments
instead of touching ``rcParams`` or style contexts, and holds ``_LOCK`` while
drawing, because matplotlib's font cache is shared and it does not promise
that drawing separate figures concurrently is race-free. Raster encoding of
the finished pixel buffer runs outside the lock.

Determinism: the bytes depend only on the inputs (no timestamps or software
versions in PNG metadata, no random ids in SVG).
"""

from __future__ import annotations

import enum
import hashlib
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from PIL import Image

__all__ = [
    "DPI",
    "HEIGHT_PX",
    "MAX_CANDLES",
    "WIDTH_PX",
    "ColorScheme",
    "ImageFormat",
    "Overlay",
    "Panel",
    "PanelKind",
    "RenderCancelled",
    "RenderOptions",
    "Theme",
    "render_chart",
    "render_macd_chart",
]

# Default output size.
WIDTH_PX = 1200
HEIGHT_PX = 800
DPI = 100

# Above this many bars candles are narrower than ~4 px at the default size and
# turn into noise, so the price panel switches to a close line over a
# high-low band (and histogram/volume bars to stepped areas).
MAX_CANDLES = 250

FONT_PT = 9.0  # base font size at the default size; shrunk for small images, grown a little for large ones
MAX_FONT_GROWTH = 2.5
MAX_TICKS = 10
MIN_SLOTS = 20  # narrowest x range, in bars
PRICE_SHARE = 2.0  # price panel height relative to one sub-panel...
PRICE_FRACTION = 0.52  # ...but at least this share of the plotting height with many panels
JPEG_QUALITY = 90

FloatArray = npt.NDArray[np.float64]
Checkpoint = Callable[[], None]

_LOCK = threading.Lock()
_OHLC = ("open", "high", "low", "close")
_BAND_KEYS = frozenset({"upper", "middle", "lower"})


class ImageFormat(enum.Enum):
    """Output encodings; the value is the media type."""

    PNG = "image/png"
    SVG = "image/svg+xml"
    JPEG = "image/jpeg"
    WEBP = "image/webp"


class Theme(enum.Enum):
    """Background and text colours."""

    LIGHT = "light"
    DARK = "dark"


class ColorScheme(enum.Enum):
    """Which colour means up: WESTERN up green / down red, CN up red / down green."""

    WESTERN = "western"
    CN = "cn"


class PanelKind(enum.Enum):
    """What a panel below the price panel shows."""

    VOLUME = "volume"
    MACD = "macd"
    RSI = "rsi"
    KDJ = "kdj"


class RenderCancelled(Exception):  # noqa: N818 - the API layer's name for it
    """Raised (by a checkpoint) to abandon a render."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Output size, encoding and colours."""

    width_px: int = WIDTH_PX
    height_px: int = HEIGHT_PX
    dpi: int = DPI
    format: ImageFormat = ImageFormat.PNG
    theme: Theme = Theme.LIGHT
    scheme: ColorScheme = ColorScheme.WESTERN

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0 or self.dpi <= 0:
            raise ValueError(
                f"width_px, height_px and dpi must be positive, got {self.width_px}, {self.height_px}, {self.dpi}"
            )


@dataclass(frozen=True, slots=True)
class Overlay:
    """An indicator drawn over the price panel.

    ``lines`` with one entry is a line; the keys upper, middle and lower are a
    Bollinger band (shaded between upper and lower, with the middle line);
    any other set of keys gives one line per entry.
    """

    label: str  # legend text, e.g. "SMA(20)", "BOLL(20, 2)"
    lines: Mapping[str, FloatArray]


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel below the price panel.

    ``series`` holds MACD: macd, signal, histogram; RSI: rsi; KDJ: k, d, j;
    VOLUME: nothing (it draws ``bars["volume"]``).
    """

    kind: PanelKind
    label: str  # e.g. "Volume", "MACD(12, 26, 9)", "RSI(14)", "KDJ(9, 3, 3)"
    series: Mapping[str, FloatArray]


_REQUIRED_SERIES: Mapping[PanelKind, tuple[str, ...]] = {
    PanelKind.VOLUME: (),
    PanelKind.MACD: ("macd", "signal", "histogram"),
    PanelKind.RSI: ("rsi",),
    PanelKind.KDJ: ("k", "d", "j"),
}


@dataclass(frozen=True, slots=True)
class _Palette:
    """Every colour a chart uses, for one theme."""

    background: str
    text: str
    grid: str
    spine: str
    gain: str  # green: up in WESTERN, down in CN
    loss: str  # red: down in WESTERN, up in CN
    close: str
    high_low: str
    high_low_alpha: float
    zero: str
    guide: str
    guide_band_alpha: float
    band_alpha: float  # Bollinger fill
    macd: str
    signal: str
    rsi: str
    k: str
    d: str
    j: str
    overlays: tuple[str, ...]


_PALETTES: Mapping[Theme, _Palette] = {
    Theme.LIGHT: _Palette(
        background="#ffffff",
        text="#222222",
        grid="#e6e6e6",
        spine="#a0a0a0",
        gain="#1a9850",
        loss="#d73027",
        close="#2c5d8f",
        high_low="#a9c1dc",
        high_low_alpha=0.55,
        zero="#808080",
        guide="#8a8a8a",
        guide_band_alpha=0.06,
        band_alpha=0.10,
        macd="#1f4e9c",
        signal="#f28e1c",
        rsi="#6a3d9a",
        k="#1f4e9c",
        d="#f28e1c",
        j="#b8409b",
        overlays=("#e08214", "#6a3d9a", "#1f78b4", "#a6761d", "#e7298a", "#17a2b8", "#666666", "#9aa01c"),
    ),
    Theme.DARK: _Palette(
        background="#121418",
        text="#d7dae0",
        grid="#2a2e36",
        spine="#5a606b",
        gain="#3fb950",
        loss="#f85149",
        close="#79b8ff",
        high_low="#35557a",
        high_low_alpha=0.55,
        zero="#8b929c",
        guide="#8b929c",
        guide_band_alpha=0.08,
        band_alpha=0.16,
        macd="#58a6ff",
        signal="#ffa657",
        rsi="#d2a8ff",
        k="#58a6ff",
        d="#ffa657",
        j="#f778ba",
        overlays=("#ffa657", "#d2a8ff", "#58a6ff", "#e3b341", "#f778ba", "#56d4dd", "#b1bac4", "#c9d05c"),
    ),
}


@dataclass(frozen=True, slots=True)
class _Style:
    """Colours and sizes (in points) for one render."""

    palette: _Palette
    up: str
    down: str
    fs: float  # base font size
    lw: float  # line-width scale
    slot_pt: float  # width of one bar slot
    dense: bool  # more than MAX_CANDLES bars


@dataclass(frozen=True, slots=True)
class _Bars:
    """The window's dates, its columns as float64 copies, and whether each day closed up."""

    dates: pd.DatetimeIndex
    x: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray | None
    up: npt.NDArray[np.bool_]


def render_chart(
    bars: pd.DataFrame,
    *,
    title: str,
    overlays: Sequence[Overlay] = (),
    panels: Sequence[Panel] = (),
    options: RenderOptions = RenderOptions(),
    checkpoint: Checkpoint | None = None,
) -> bytes:
    """Render a price panel with ``overlays`` over ``panels`` and return the encoded image.

    ``bars`` has a DatetimeIndex (one row per trading day) and float64
    columns open, high, low, close and (for a volume panel) volume. Every
    overlay line and panel series has one value per bar, NaN where there is
    none (warm-up bars); nothing is drawn there. Nothing passed in is
    modified. Raster formats are exactly ``width_px`` x ``height_px``; SVG is
    ``width_px / dpi`` x ``height_px / dpi`` inches.

    ``checkpoint``, if given, is called between steps: before building the
    figure, after building each panel, while drawing each panel and before
    encoding. Whatever it raises (e.g. RenderCancelled) propagates at once and
    abandons the render.

    Raises ValueError for non-positive sizes, empty bars, missing columns or
    series, or an array whose length differs from the number of bars.
    """
    check = checkpoint or _no_checkpoint
    data = _bars(bars, panels)
    lines = [_overlay_lines(overlay, len(data.x)) for overlay in overlays]
    series = [_panel_series(panel, len(data.x)) for panel in panels]
    check()

    fig = _build(
        data, title, list(zip(overlays, lines, strict=True)), list(zip(panels, series, strict=True)), options, check
    )
    if options.format is ImageFormat.SVG:
        check()
        with _LOCK:
            return _svg(fig)

    canvas = FigureCanvasAgg(fig)
    with _LOCK:
        canvas.draw()  # type: ignore[no-untyped-call]
    check()
    # Encoding only reads this call's own pixel buffer, so it runs unlocked.
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    return _encode_raster(rgba, options)


def render_macd_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    width_px: int = WIDTH_PX,
    height_px: int = HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Render a price panel over a MACD panel as PNG (light theme, Western colours).

    ``frame`` is indexed by trading day and needs the columns open, high, low,
    close, macd, signal and histogram (volume is not drawn). It is not modified.
    """
    options = RenderOptions(width_px=width_px, height_px=height_px, dpi=dpi)
    missing = [c for c in (*_OHLC, "macd", "signal", "histogram") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame is missing columns: {', '.join(missing)}")
    series = {c: frame[c].to_numpy(dtype=np.float64) for c in ("macd", "signal", "histogram")}
    panel = Panel(PanelKind.MACD, "MACD", series)
    return render_chart(frame[list(_OHLC)], title=title, panels=(panel,), options=options)


# --- input checks -----------------------------------------------------------------------------


def _no_checkpoint() -> None:
    return None


def _column(values: Any, what: str, n: int) -> FloatArray:
    """A float64 copy of ``values`` with non-finite values as NaN; ValueError naming ``what`` if its length is not n."""
    array = np.array(values, dtype=np.float64, copy=True)
    if array.ndim != 1 or len(array) != n:
        raise ValueError(f"{what} has {array.size} values, expected one per bar ({n})")
    array[~np.isfinite(array)] = np.nan
    return array


def _bars(bars: pd.DataFrame, panels: Sequence[Panel]) -> _Bars:
    if bars.empty:
        raise ValueError("cannot render a chart of empty bars")
    needed = [*_OHLC, *(["volume"] if any(p.kind is PanelKind.VOLUME for p in panels) else [])]
    missing = [c for c in needed if c not in bars.columns]
    if missing:
        raise ValueError(f"bars are missing columns: {', '.join(missing)}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise ValueError("bars must have a DatetimeIndex")
    n = len(bars)
    cols = {c: _column(bars[c].to_numpy(), f"bars column {c!r}", n) for c in needed}
    return _Bars(
        dates=pd.DatetimeIndex(bars.index),
        x=np.arange(n, dtype=np.float64),
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=cols["close"],
        volume=cols.get("volume"),
        up=cols["close"] >= cols["open"],
    )


def _overlay_lines(overlay: Overlay, n: int) -> dict[str, FloatArray]:
    if not overlay.lines:
        raise ValueError(f"overlay {overlay.label!r} has no lines")
    return {key: _column(v, f"overlay {overlay.label!r} line {key!r}", n) for key, v in overlay.lines.items()}


def _panel_series(panel: Panel, n: int) -> dict[str, FloatArray]:
    missing = [key for key in _REQUIRED_SERIES[panel.kind] if key not in panel.series]
    if missing:
        raise ValueError(f"{panel.kind.name} panel {panel.label!r} is missing series: {', '.join(missing)}")
    return {
        key: _column(panel.series[key], f"{panel.kind.name} panel {panel.label!r} series {key!r}", n)
        for key in _REQUIRED_SERIES[panel.kind]
    }


# --- figure -----------------------------------------------------------------------------------


class _CheckpointArtist(Artist):
    """An invisible artist, drawn first in its axes, that calls the render's checkpoint."""

    def __init__(self, check: Checkpoint) -> None:
        super().__init__()
        self._check = check
        self.set_zorder(-1e9)
        self.set_in_layout(False)

    def draw(self, renderer: RendererBase) -> None:
        self._check()


def _font_size(w_in: float, h_in: float, panels: int) -> float:
    """Base font size in points: FONT_PT, smaller for small images, somewhat larger for large ones."""
    grow = min(MAX_FONT_GROWTH, max(1.0, math.sqrt(min(w_in / 12.0, h_in / 8.0))))
    fit = min(h_in * 72.0 / (26.0 + 5.0 * max(0, panels - 1)), w_in * 72.0 / 42.0)
    return max(3.0, min(FONT_PT * grow, fit))


def _build(
    data: _Bars,
    title: str,
    overlays: list[tuple[Overlay, dict[str, FloatArray]]],
    panels: list[tuple[Panel, dict[str, FloatArray]]],
    options: RenderOptions,
    check: Checkpoint,
) -> Figure:
    """The whole figure, not yet drawn."""
    palette = _PALETTES[options.theme]
    up, down = (palette.gain, palette.loss) if options.scheme is ColorScheme.WESTERN else (palette.loss, palette.gain)
    w_in, h_in = options.width_px / options.dpi, options.height_px / options.dpi
    n = len(data.x)
    fs = _font_size(w_in, h_in, len(panels))

    fig = Figure(figsize=(w_in, h_in), dpi=options.dpi, facecolor=palette.background)
    axes = _layout(fig, w_in, h_in, fs, len(panels))
    price_ax, bottom_ax = axes[0], axes[-1]
    for ax in axes:
        ax.add_artist(_CheckpointArtist(check))
    # At least MIN_SLOTS bar slots wide, so one or two candles are not giant.
    half = max(n, MIN_SLOTS) / 2.0
    price_ax.set_xlim((n - 1) / 2.0 - half - 0.1, (n - 1) / 2.0 + half + 0.1)
    slot_pt = w_in * 72.0 * price_ax.get_position().width / (2.0 * half)
    style = _Style(palette, up, down, fs, fs / FONT_PT, slot_pt, n > MAX_CANDLES)
    h_pt = h_in * 72.0

    entries, values = _draw_price(price_ax, data, style)
    for index, (overlay, lines) in enumerate(overlays):
        entries.append(
            _draw_overlay(
                price_ax, data.x, overlay.label, lines, palette.overlays[index % len(palette.overlays)], style
            )
        )
        values.extend(lines.values())
    rows = _legend(price_ax, entries, style, w_in, size=0.9)
    _style_axes(price_ax, style, h_pt)
    _fit_ylim(price_ax, np.concatenate(values), _legend_fraction(price_ax, rows, style, h_pt, size=0.9))
    check()

    for ax, (panel, series) in zip(axes[1:], panels, strict=True):
        _style_axes(ax, style, h_pt)
        _DRAW_PANEL[panel.kind](ax, panel.label, series, data, style, w_in, h_pt)
        check()

    positions, labels = _date_ticks(
        data.dates, w_in * options.dpi * bottom_ax.get_position().width, fs * options.dpi / 72.0
    )
    bottom_ax.set_xticks(positions, labels=labels)
    for ax in axes[:-1]:
        ax.tick_params(axis="x", labelbottom=False)
    _title(fig, title, fs, palette, w_in, h_in)
    return fig


def _layout(fig: Figure, w_in: float, h_in: float, fs: float, panels: int) -> list[Axes]:
    """The price axes and one axes per panel, top to bottom, with margins sized in points from the font size."""
    w_pt, h_pt = w_in * 72.0, h_in * 72.0
    left = (7.0 * 0.62 * fs + 8.0) / w_pt  # room for ~7-character y labels
    right = 1.0 - (1.2 * fs + 4.0) / w_pt
    top = 1.0 - 2.6 * fs / h_pt  # title
    bottom = (1.6 * fs + 8.0) / h_pt  # x tick labels
    gap = 0.8 * fs / h_pt
    share = max(PRICE_SHARE, panels * PRICE_FRACTION / (1.0 - PRICE_FRACTION))
    unit = (top - bottom - panels * gap) / (share + panels)
    if unit * h_pt < 2.0 * fs or right <= left:  # absurdly small image: fall back to fractions
        left, right, top, bottom, gap = 0.1, 0.98, 0.9, 0.1, 0.01
        unit = (top - bottom - panels * gap) / (share + panels)
    y = top - share * unit
    price = fig.add_axes((left, y, right - left, share * unit))
    axes = [price]
    for _ in range(panels):
        y -= gap + unit
        axes.append(fig.add_axes((left, y, right - left, unit), sharex=price))
    return axes


@dataclass(frozen=True, slots=True)
class _Key:
    """What a legend entry shows before its text: colour swatches (side by side), a line over them, or both."""

    swatches: tuple[str, ...] = ()
    swatch_alpha: float = 1.0
    line: str | None = None
    line_width: float = 1.0
    line_style: Any = "-"


Entry = tuple[_Key | None, str]  # a legend key (None: text only) and its text


def _line_key(color: str, width: float, line_style: Any = "-") -> _Key:
    return _Key(line=color, line_width=width, line_style=line_style)


def _draw_price(ax: Axes, data: _Bars, style: _Style) -> tuple[list[Entry], list[FloatArray]]:
    """Candlesticks for short windows, a close line over a high-low band otherwise."""
    p, lw = style.palette, style.lw
    x, o, h, lo, cl = data.x, data.open, data.high, data.low, data.close
    if style.dense:
        ax.fill_between(x, lo, h, color=p.high_low, alpha=p.high_low_alpha, linewidth=0, zorder=1)
        ax.plot(x, cl, color=p.close, linewidth=1.1 * lw, zorder=2)
        return [
            (_line_key(p.close, 1.1 * lw), "Close"),
            (_Key(swatches=(p.high_low,), swatch_alpha=p.high_low_alpha), "High-low"),
        ], [lo, h]
    ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(cl)
    colors = np.where(data.up, style.up, style.down)[ok].tolist()
    wick = lw * min(1.2, max(0.5, style.slot_pt * 0.12))
    ax.vlines(x[ok], lo[ok], h[ok], colors=colors, linewidth=wick, zorder=2)
    body = PolyCollection(
        _boxes(x[ok], o[ok], cl[ok], 0.65),
        facecolors=colors,
        edgecolors=colors,
        linewidths=lw * min(0.8, max(0.3, style.slot_pt * 0.05)),  # keeps dojis visible
        zorder=3,
    )
    ax.add_collection(body, autolim=False)
    return [(_Key(swatches=(style.up,)), "Up day"), (_Key(swatches=(style.down,)), "Down day")], [lo, h]


def _draw_overlay(
    ax: Axes, x: FloatArray, label: str, lines: dict[str, FloatArray], color: str, style: _Style
) -> Entry:
    """One overlay on the price panel: a Bollinger band or lines.

    Bands go under the plain lines (zorder 3.5 < 4), so an SMA over the same
    period as a band's middle line stays visible.
    """
    lw = style.lw * (1.0 if style.dense else 1.2)
    if set(lines) == _BAND_KEYS:
        alpha = style.palette.band_alpha
        ax.fill_between(x, lines["lower"], lines["upper"], color=color, alpha=alpha, linewidth=0, zorder=1)
        for key in ("upper", "lower"):
            ax.plot(x, lines[key], color=color, linewidth=0.6 * lw, alpha=0.65, zorder=3.5)
        ax.plot(x, lines["middle"], color=color, linewidth=lw, zorder=3.5)
        return _Key(swatches=(color,), swatch_alpha=min(1.0, 2.5 * alpha), line=color, line_width=lw), label
    styles: list[Any] = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (5, 2, 1, 2))]
    for i, values in enumerate(lines.values()):
        ax.plot(x, values, color=color, linewidth=lw, linestyle=styles[i % len(styles)], zorder=4)
    return _line_key(color, lw), label


def _draw_volume(
    ax: Axes, label: str, series: dict[str, FloatArray], data: _Bars, style: _Style, w_in: float, h_pt: float
) -> None:
    """Volume bars coloured by whether the day closed up."""
    volume = data.volume if data.volume is not None else np.zeros_like(data.x)
    _signed_bars(ax, data.x, volume, data.up, style, 0.7)
    rows = _legend(ax, [(_Key(swatches=(style.up, style.down)), label)], style, w_in, bold=1)
    finite = volume[np.isfinite(volume)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    ax.set_ylim(0.0, top / (1.0 - min(_legend_fraction(ax, rows, style, h_pt), 0.45) - 0.03))
    ax.yaxis.set_major_formatter(FuncFormatter(_si_label))


def _draw_macd(
    ax: Axes, label: str, series: dict[str, FloatArray], data: _Bars, style: _Style, w_in: float, h_pt: float
) -> None:
    """MACD and signal lines over a sign-coloured histogram and a zero line."""
    p, x = style.palette, data.x
    macd, signal, hist = series["macd"], series["signal"], series["histogram"]
    _signed_bars(ax, x, hist, hist >= 0, style, 0.8)
    ax.axhline(0.0, color=p.zero, linewidth=0.7 * style.lw, zorder=1)
    line_w = style.lw * (1.0 if style.dense else 1.3)
    ax.plot(x, macd, color=p.macd, linewidth=line_w, zorder=3)
    ax.plot(x, signal, color=p.signal, linewidth=line_w, zorder=3)
    entries: list[Entry] = [
        (None, label),
        (_line_key(p.macd, line_w), "MACD"),
        (_line_key(p.signal, line_w), "Signal"),
        (_Key(swatches=(style.up, style.down)), "Histogram"),
    ]
    rows = _legend(ax, entries, style, w_in, bold=1)
    _fit_ylim(ax, np.concatenate((macd, signal, hist, np.zeros(1))), _legend_fraction(ax, rows, style, h_pt))


def _draw_rsi(
    ax: Axes, label: str, series: dict[str, FloatArray], data: _Bars, style: _Style, w_in: float, h_pt: float
) -> None:
    """RSI on a fixed 0-100 scale with 30 and 70 guide lines."""
    p = style.palette
    ax.axhspan(30.0, 70.0, color=p.guide, alpha=p.guide_band_alpha, linewidth=0, zorder=0)
    _guides(ax, (30.0, 70.0), style)
    line_w = style.lw * (1.0 if style.dense else 1.3)
    ax.plot(data.x, series["rsi"], color=p.rsi, linewidth=line_w, zorder=3)
    _legend(ax, [(_line_key(p.rsi, line_w), label)], style, w_in, bold=1)
    ax.set_ylim(0.0, 100.0)
    ax.yaxis.set_major_locator(FixedLocator([30.0, 70.0]))


def _draw_kdj(
    ax: Axes, label: str, series: dict[str, FloatArray], data: _Bars, style: _Style, w_in: float, h_pt: float
) -> None:
    """K, D and J lines with 20 and 80 guide lines."""
    p = style.palette
    _guides(ax, (20.0, 80.0), style)
    line_w = style.lw * (0.8 if style.dense else 1.2)
    entries: list[Entry] = [(None, label)]
    # J swings widest, so it goes underneath and K on top.
    for zorder, (key, color) in zip((3.2, 3.1, 3.0), (("k", p.k), ("d", p.d), ("j", p.j)), strict=True):
        ax.plot(data.x, series[key], color=color, linewidth=line_w, zorder=zorder)
        entries.append((_line_key(color, line_w), key.upper()))
    rows = _legend(ax, entries, style, w_in, bold=1)
    values = np.concatenate((series["k"], series["d"], series["j"], np.array([20.0, 80.0])))
    _fit_ylim(ax, values, _legend_fraction(ax, rows, style, h_pt))
    ax.yaxis.set_major_locator(FixedLocator([20.0, 80.0]))


_DRAW_PANEL: Mapping[PanelKind, Callable[[Axes, str, dict[str, FloatArray], _Bars, _Style, float, float], None]] = {
    PanelKind.VOLUME: _draw_volume,
    PanelKind.MACD: _draw_macd,
    PanelKind.RSI: _draw_rsi,
    PanelKind.KDJ: _draw_kdj,
}


def _guides(ax: Axes, levels: Sequence[float], style: _Style) -> None:
    for level in levels:
        ax.axhline(level, color=style.palette.guide, linewidth=0.7 * style.lw, linestyle=(0, (4, 3)), zorder=1)


def _signed_bars(
    ax: Axes, x: FloatArray, values: FloatArray, up: npt.NDArray[np.bool_], style: _Style, width: float
) -> None:
    """Bars from 0 to ``values``, in the up colour where ``up`` and the down colour elsewhere; NaN draws nothing."""
    ok = np.isfinite(values)
    if not style.dense:
        colors = np.where(up, style.up, style.down)[ok].tolist()
        bars = PolyCollection(
            _boxes(x[ok], np.zeros(int(ok.sum())), values[ok], width), facecolors=colors, linewidths=0, zorder=2
        )
        ax.add_collection(bars, autolim=False)
        return
    # Thousands of sub-pixel bars: draw each colour as one stepped polygon
    # (bar i spans i-0.5..i+0.5) instead.
    edges = np.column_stack((x - 0.5, x + 0.5)).ravel()
    for mask, color in ((ok & up, style.up), (ok & ~up, style.down)):
        if mask.any():
            ax.fill_between(edges, 0.0, np.repeat(np.where(mask, values, 0.0), 2), color=color, linewidth=0, zorder=2)


def _boxes(x: FloatArray, y0: FloatArray, y1: FloatArray, width: float) -> Sequence[FloatArray]:
    """Rectangles centred on x spanning y0..y1, as one (n, 4, 2) vertex array for a PolyCollection."""
    left, right = x - width / 2.0, x + width / 2.0
    corners = ((left, y0), (left, y1), (right, y1), (right, y0))
    verts = np.stack([np.column_stack(corner) for corner in corners], axis=1)
    # PolyCollection documents (n, 4, 2) arrays (its fast path); the stubs only say Sequence.
    return cast("Sequence[FloatArray]", verts)


def _si_label(value: float, _position: float | None) -> str:
    """A volume tick label: 1500000 -> "1.5M"."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


# Legend geometry, in multiples of its font size.
_KEY_WIDTH = 1.6
_KEY_HEIGHT = 0.75
_KEY_PAD = 0.45
_ENTRY_GAP = 1.1
_ROW_GAP = 0.35
_BORDER_PAD = 0.35
_AXES_PAD = 0.35


def _legend(ax: Axes, entries: list[Entry], style: _Style, w_in: float, bold: int = 0, size: float = 0.85) -> int:
    """A compact legend box in the upper-left corner; returns its number of rows.

    Built from offsetbox parts rather than Axes.legend so a panel's label can
    lead the row as plain bold text. Entries run left to right and wrap to
    new rows when the (estimated) width is used up. The first ``bold`` texts
    are bold.
    """
    p = style.palette
    fs = style.fs * size
    room = w_in * 72.0 * ax.get_position().width * 0.96
    rows: list[list[Artist]] = [[]]
    used = 0.0
    for i, (key, text) in enumerate(entries):
        weight = "bold" if i < bold else "normal"
        label = TextArea(text, textprops={"color": p.text, "fontsize": fs, "fontweight": weight, "parse_math": False})
        width = (0.66 if i < bold else 0.6) * fs * len(text)
        item: HPacker | TextArea = label
        if key is not None:
            item = HPacker(children=[_key_area(key, fs), label], align="center", pad=0.0, sep=_KEY_PAD * fs)
            width += (_KEY_WIDTH + _KEY_PAD) * fs
        if rows[-1] and used + _ENTRY_GAP * fs + width > room:
            rows.append([])
            used = 0.0
        used += width + (_ENTRY_GAP * fs if rows[-1] else 0.0)
        rows[-1].append(item)
    box = VPacker(
        children=[HPacker(children=row, align="center", pad=0.0, sep=_ENTRY_GAP * fs) for row in rows],
        align="left",
        pad=0.0,
        sep=_ROW_GAP * fs,
    )
    legend = AnchoredOffsetbox(
        loc="upper left", child=box, pad=_BORDER_PAD, borderpad=_AXES_PAD, frameon=True, prop=FontProperties(size=fs)
    )
    legend.patch.set_facecolor(to_rgba(p.background, 0.85))
    legend.patch.set_edgecolor(p.grid)
    legend.patch.set_linewidth(0.6 * style.lw)
    legend.set_zorder(5.0)
    ax.add_artist(legend)
    return len(rows)


def _key_area(key: _Key, fs: float) -> DrawingArea:
    """The picture in front of a legend text, in points."""
    width, height = _KEY_WIDTH * fs, _KEY_HEIGHT * fs
    area = DrawingArea(width, height)
    count = len(key.swatches)
    gap = 0.12 * fs if count > 1 else 0.0
    part = (width - gap * (count - 1)) / max(count, 1)
    for i, color in enumerate(key.swatches):
        rect = Rectangle((i * (part + gap), 0.0), part, height, facecolor=color, alpha=key.swatch_alpha, linewidth=0)
        area.add_artist(rect)
    if key.line is not None:
        area.add_artist(
            Line2D(
                [0.0, width],
                [height / 2.0] * 2,
                color=key.line,
                linewidth=key.line_width,
                linestyle=key.line_style,
                solid_capstyle="butt",
            )
        )
    return area


def _legend_fraction(ax: Axes, rows: int, style: _Style, h_pt: float, size: float = 0.85) -> float:
    """The share of the axes height a legend of ``rows`` rows covers, plus a little air."""
    fs = style.fs * size
    legend_pt = (rows * 1.2 + (rows - 1) * _ROW_GAP + 2.0 * _BORDER_PAD + _AXES_PAD + 0.4) * fs
    return legend_pt / (ax.get_position().height * h_pt)


def _fit_ylim(ax: Axes, values: FloatArray, legend_frac: float) -> None:
    """Fit the finite values, leaving a strip at the top for the legend."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    if span <= 0.0:
        span = abs(hi) * 0.02 or 1.0
        lo, hi = lo - span / 2.0, hi + span / 2.0
    total = span / (1.0 - min(legend_frac, 0.45) - 0.06)
    bottom = lo - 0.04 * total
    ax.set_ylim(bottom, bottom + total)


def _style_axes(ax: Axes, style: _Style, h_pt: float) -> None:
    """Background, grid, spines and ticks with explicit arguments (no rcParams)."""
    p, fs = style.palette, style.fs
    ax.set_facecolor(p.background)
    ax.grid(True, color=p.grid, linewidth=0.6 * style.lw, zorder=0)
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_color(p.spine)
        spine.set_linewidth(0.8 * style.lw)
    ax.tick_params(labelsize=fs, labelcolor=p.text, color=p.spine, length=3.0 * style.lw, width=0.6 * style.lw, pad=2.0)
    height_pt = ax.get_position().height * h_pt
    ax.yaxis.set_major_locator(MaxNLocator(nbins=max(2, min(8, int(height_pt / (3.0 * fs)))), prune="upper"))
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)


def _title(fig: Figure, title: str, fs: float, palette: _Palette, w_in: float, h_in: float) -> None:
    """The title, centred at the top, shrunk (within reason) to fit the width."""
    size = fs * 1.3
    estimate = len(title) * 0.6 * size
    room = w_in * 72.0 * 0.96
    if estimate > room:
        size = max(fs * 0.8, size * room / estimate)
    fig.text(
        0.5,
        1.0 - 0.7 * fs / (h_in * 72.0),
        title,
        ha="center",
        va="top",
        fontsize=size,
        fontweight="bold",
        color=palette.text,
        parse_math=False,
    )


# --- encoding ---------------------------------------------------------------------------------


class _StableIdRendererSVG(RendererSVG):
    """RendererSVG whose element ids hash only their content.

    Stock RendererSVG salts ids (clip paths, markers, path collections) with a
    random uuid unless rcParams["svg.hashsalt"] is set, and rcParams are
    global, so they are not ours to change.
    """

    def _make_id(self, type: str, content: Any) -> str:
        return f"{type}{hashlib.sha256(str(content).encode('utf-8')).hexdigest()[:10]}"


def _svg(fig: Figure) -> bytes:
    """The figure as SVG, sized in points (1/72 in); what FigureCanvasSVG.print_svg does, with stable ids.

    Date metadata is left out so the bytes depend only on the input.
    """
    buf = io.StringIO()
    dpi = fig.dpi
    w_in, h_in = fig.get_size_inches()
    fig.dpi = 72.0  # SVG user units are points
    metadata = {"Date": None}
    svg = _StableIdRendererSVG(w_in * 72.0, h_in * 72.0, buf, image_dpi=dpi, metadata=metadata)  # type: ignore[no-untyped-call]
    renderer = MixedModeRenderer(fig, w_in, h_in, dpi, svg)  # type: ignore[no-untyped-call]
    fig.draw(cast("RendererBase", renderer))  # a MixedModeRenderer forwards to the SVG renderer
    renderer.finalize()
    return buf.getvalue().encode("utf-8")


def _encode_raster(rgba: npt.NDArray[np.uint8], options: RenderOptions) -> bytes:
    """PNG, JPEG or WebP of an opaque RGBA pixel buffer, with the dpi recorded where the format allows."""
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    dpi = (options.dpi, options.dpi)
    buf = io.BytesIO()
    if options.format is ImageFormat.PNG:
        image.save(buf, format="PNG", dpi=dpi, compress_level=6)  # Pillow adds no time or software chunks
    elif options.format is ImageFormat.JPEG:
        # 4:4:4 chroma keeps thin red and green lines crisp.
        image.save(buf, format="JPEG", quality=JPEG_QUALITY, subsampling=0, dpi=dpi)
    elif options.format is ImageFormat.WEBP:
        exif = Image.Exif()  # WebP has no dpi field; EXIF resolution is the common substitute
        exif[0x011A] = options.dpi  # XResolution
        exif[0x011B] = options.dpi  # YResolution
        exif[0x0128] = 2  # ResolutionUnit: inches
        image.save(
            buf, format="WEBP", lossless=True, quality=60, method=3, exif=exif
        )  # ~2x faster than the defaults, as small
    else:
        raise ValueError(f"not a raster format: {options.format}")
    return buf.getvalue()


# --- date axis --------------------------------------------------------------------------------


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
