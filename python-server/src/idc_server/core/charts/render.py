"""Render stock charts (price, overlays, indicator panels) with matplotlib's object API.

Layout: a title, then the price panel (candlesticks up to MAX_CANDLES bars,
else a close line over a high-low band) with its overlays, then one panel per
``Panel`` in order. Each panel's legend is a header strip above it, so no
legend covers data. All panels share one x axis on which bar ``i`` sits at
``x = i`` (see ``timeaxis``); only the bottom panel shows time labels. A
window narrower than the plot spreads its bars over the whole width, each
centred in its slot, with bodies at most MAX_BODY_PT wide; a window with more
bars than the plot has pixel columns is drawn one column per bucket of bars
(see ``reduce``). Sizes (fonts, margins, line widths) are worked out in
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

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from idc_server.core.charts import encode, legend, timeaxis, values
from idc_server.core.charts.kinds import Draw, Overlay, Panel, PanelKind, Series
from idc_server.core.charts.legend import Entry, Key, line_key
from idc_server.core.charts.options import AUTO_LOG_RATIO, ColorScheme, ImageFormat, PriceScale, RenderOptions
from idc_server.core.charts.reduce import BoolArray, Buckets, FloatArray
from idc_server.core.charts.theme import PALETTES, Palette, overlay_colors

# Above this many bars candles are narrower than ~4 px at the default size and
# turn into noise, so the price panel switches to a close line over a
# high-low band (and histogram/volume bars to stepped areas).
MAX_CANDLES = 250
MAX_BODY_PT = 36.0  # the widest candle body or bar, for windows of a few bars
BODY_SHARE = 0.65  # of a bar's slot
BAR_SHARE = 0.7  # volume and histogram bars, of a slot

FONT_PT = 9.0  # base font size at the default size; shrunk for small images, grown a little for large ones
MAX_FONT_GROWTH = 2.5
PRICE_SHARE = 2.0  # price panel height relative to one sub-panel...
PRICE_FRACTION = 0.52  # ...but at least this share of the plotting height with many panels
PANEL_LINES = 6.0  # least sub-panel height, in lines of text
Y_LABEL_CHARS = 7.5  # room for y tick labels, in characters

Checkpoint = Callable[[], None]
DEFAULT_OPTIONS = RenderOptions()

_LOCK = threading.Lock()
_OHLC = ("open", "high", "low", "close")
_LINE_STYLES: list[Any] = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (5, 2, 1, 2))]


@dataclass(frozen=True, slots=True)
class _Style:
    """Colours and sizes (in points) for one render."""

    palette: Palette
    up: str
    down: str
    fs: float  # base font size
    lw: float  # line-width scale
    slot_pt: float  # width of one bar slot
    dense: bool  # more than MAX_CANDLES bars

    def width(self, share: float) -> float:
        """A body or bar width in bars: ``share`` of a slot, at most MAX_BODY_PT."""
        return min(share, MAX_BODY_PT / self.slot_pt)


@dataclass(frozen=True, slots=True)
class _Bars:
    """The window's timestamps, its columns as float64 copies (non-finite as NaN), and whether each bar closed up."""

    dates: pd.DatetimeIndex
    x: FloatArray
    columns: dict[str, FloatArray]
    up: BoolArray

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]


def render_chart(
    bars: pd.DataFrame,
    *,
    title: str,
    overlays: Sequence[Overlay] = (),
    panels: Sequence[Panel] = (),
    options: RenderOptions = DEFAULT_OPTIONS,
    checkpoint: Checkpoint | None = None,
) -> bytes:
    """Render a price panel with ``overlays`` over ``panels`` and return the encoded image.

    ``bars`` has a DatetimeIndex (one row per bar: daily or intraday) and
    float64 columns open, high, low, close and (for a volume panel) volume.
    Every overlay line and panel series has one value per bar, NaN where
    there is none (warm-up bars); nothing is drawn there, nor at non-finite
    values. Any finite values draw, however large or many. Nothing passed
    in is modified. Raster formats are exactly ``width_px`` x ``height_px``;
    SVG is ``width_px / dpi`` x ``height_px / dpi`` inches.

    ``checkpoint``, if given, is called between steps: before building the
    figure, after building each panel, while drawing each panel and before
    encoding. Whatever it raises propagates at once and abandons the render.

    Raises ValueError for non-positive sizes, empty bars, missing columns or
    series, or an array whose length differs from the number of bars.
    """
    check = checkpoint or _no_checkpoint
    fig = build_figure(bars, title=title, overlays=overlays, panels=panels, options=options, checkpoint=check)
    if options.format is ImageFormat.SVG:
        check()
        with _LOCK:
            return encode.svg(fig)
    canvas = FigureCanvasAgg(fig)
    with _LOCK:
        canvas.draw()  # type: ignore[no-untyped-call]
    check()
    # Encoding only reads this call's own pixel buffer, so it runs unlocked.
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    return encode.raster(rgba, options)


def build_figure(
    bars: pd.DataFrame,
    *,
    title: str,
    overlays: Sequence[Overlay] = (),
    panels: Sequence[Panel] = (),
    options: RenderOptions = DEFAULT_OPTIONS,
    checkpoint: Checkpoint | None = None,
) -> Figure:
    """The figure ``render_chart`` draws, built but not drawn (its axes are the price panel, then the panels)."""
    check = checkpoint or _no_checkpoint
    data = _bars(bars, panels)
    n = len(data.x)
    lines = [_overlay_lines(overlay, n) for overlay in overlays]
    series = [_panel_series(panel, data) for panel in panels]
    check()
    return _build(
        data, title, list(zip(overlays, lines, strict=True)), list(zip(panels, series, strict=True)), options, check
    )


# --- input checks -----------------------------------------------------------------------------


def _no_checkpoint() -> None:
    return None


def _column(values_: Any, what: str, n: int) -> FloatArray:
    """A float64 copy of ``values_``, non-finite values as NaN; ValueError naming ``what`` unless it has n values."""
    array = np.array(values_, dtype=np.float64, copy=True)
    if array.ndim != 1 or len(array) != n:
        raise ValueError(f"{what} has {array.size} values, expected one per bar ({n})")
    array[~np.isfinite(array)] = np.nan
    return array


def _bars(bars: pd.DataFrame, panels: Sequence[Panel]) -> _Bars:
    if bars.empty:
        raise ValueError("cannot render a chart of empty bars")
    needed = list(_OHLC)
    for panel in panels:
        if panel.kind.from_bars:
            needed += [key for key in panel.kind.keys if key not in needed]
    missing = [c for c in needed if c not in bars.columns]
    if missing:
        raise ValueError(f"bars are missing columns: {', '.join(missing)}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise ValueError("bars must have a DatetimeIndex")
    n = len(bars)
    cols = {c: _column(bars[c].to_numpy(), f"bars column {c!r}", n) for c in needed}
    return _Bars(pd.DatetimeIndex(bars.index), np.arange(n, dtype=np.float64), cols, cols["close"] >= cols["open"])


def _overlay_lines(overlay: Overlay, n: int) -> dict[str, FloatArray]:
    missing = [key for key in overlay.kind.lines if key not in overlay.lines]
    if missing:
        raise ValueError(f"{overlay.kind.name} overlay {overlay.label!r} is missing lines: {', '.join(missing)}")
    return {
        key: _column(overlay.lines[key], f"overlay {overlay.label!r} line {key!r}", n) for key in overlay.kind.lines
    }


def _panel_series(panel: Panel, data: _Bars) -> dict[str, FloatArray]:
    n = len(data.x)
    if panel.kind.from_bars:
        return {key: data[key] for key in panel.kind.keys}
    missing = [key for key in panel.kind.keys if key not in panel.series]
    if missing:
        raise ValueError(f"{panel.kind.name} panel {panel.label!r} is missing series: {', '.join(missing)}")
    return {
        key: _column(panel.series[key], f"{panel.kind.name} panel {panel.label!r} series {key!r}", n)
        for key in panel.kind.keys
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
    """Base font size in points: FONT_PT, smaller for small images, somewhat larger for large ones.

    Small enough that every sub-panel is at least PANEL_LINES lines of text
    high (three tick labels that do not touch) after the title, the legend
    headers and the date labels; and that about 42 characters fit across.
    """
    grow = min(MAX_FONT_GROWTH, max(1.0, math.sqrt(min(w_in / 12.0, h_in / 8.0))))
    share = max(PRICE_SHARE, panels * PRICE_FRACTION / (1.0 - PRICE_FRACTION))
    lines = 2.2 + 1.6 + (panels + 1) * legend.height_pt(1, 1.0) + 0.5 * panels + PANEL_LINES * (share + panels)
    fit = min((h_in * 72.0 - 8.0) / lines, w_in * 72.0 / 42.0)
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
    palette = PALETTES[options.theme]
    up, down = (palette.gain, palette.loss) if options.scheme is ColorScheme.WESTERN else (palette.loss, palette.gain)
    w_in, h_in = options.width_px / options.dpi, options.height_px / options.dpi
    w_pt, h_pt = w_in * 72.0, h_in * 72.0
    n = len(data.x)
    fs = _font_size(w_in, h_in, len(panels))
    lw = fs / FONT_PT
    left, right = (Y_LABEL_CHARS * 0.62 * fs + 8.0) / w_pt, 1.0 - (1.2 * fs + 4.0) / w_pt
    if right - left < 0.3:  # absurdly narrow image
        left, right = 0.1, 0.98
    plot_pt = (right - left) * w_pt
    pad = 0.1  # bars of air beyond the first and last bar's slot
    slot_pt = plot_pt / (n + 2.0 * pad)
    dense = n > MAX_CANDLES
    style = _Style(palette, up, down, fs, lw, slot_pt, dense)
    colors = [palette.overlays[i] for i in overlay_colors([o.label for o, _ in overlays], len(palette.overlays))]

    price_entries = _price_entries(style) + [
        _overlay_entry(overlay, color, style) for (overlay, _), color in zip(overlays, colors, strict=True)
    ]
    headers = [legend.rows(price_entries, fs, plot_pt)]
    headers += [legend.rows(_panel_entries(panel, style), fs, plot_pt) for panel, _ in panels]

    fig = Figure(figsize=(w_in, h_in), dpi=options.dpi, facecolor=palette.background)
    axes = _layout(fig, fs, w_pt, h_pt, left, right, [legend.height_pt(len(rows), fs) for rows in headers])
    price_ax, bottom_ax = axes[0], axes[-1]
    for ax in axes:
        ax.add_artist(_CheckpointArtist(check))
    price_ax.set_xlim(-0.5 - pad, n - 0.5 + pad)
    buckets = Buckets.for_columns(n, plot_pt / 72.0 * options.dpi)

    _style_axes(price_ax, style)
    _draw_price(price_ax, data, overlays, colors, buckets, style, options.price_scale, h_pt)
    legend.draw(price_ax, headers[0], fs, palette.text)
    check()

    for ax, (panel, series), rows in zip(axes[1:], panels, headers[1:], strict=True):
        _style_axes(ax, style)
        _draw_panel(ax, panel.kind, series, data, buckets, style, h_pt)
        legend.draw(ax, rows, fs, palette.text)
        check()

    x0, x1 = price_ax.get_xlim()
    plot_px = plot_pt / 72.0 * options.dpi
    geometry = timeaxis.AxisGeometry(
        first_px=left * options.width_px + (0.0 - x0) / (x1 - x0) * plot_px,
        slot_px=plot_px / (x1 - x0),
        image_px=float(options.width_px),
        font_px=fs * options.dpi / 72.0,
    )
    positions, labels = timeaxis.time_ticks(data.dates, geometry)
    bottom_ax.set_xticks(positions, labels=labels)
    for ax in axes[:-1]:
        ax.tick_params(axis="x", labelbottom=False)
    _title(fig, title, fs, palette, w_pt, h_pt)
    return fig


def _layout(
    fig: Figure, fs: float, w_pt: float, h_pt: float, left: float, right: float, headers_pt: Sequence[float]
) -> list[Axes]:
    """The price axes and one axes per panel, top to bottom, each below its legend header (heights in points)."""
    panels = len(headers_pt) - 1
    top = 1.0 - 2.2 * fs / h_pt  # title
    bottom = (1.6 * fs + 8.0) / h_pt  # x tick labels
    gap = 0.5 * fs / h_pt
    headers = [height / h_pt for height in headers_pt]
    share = max(PRICE_SHARE, panels * PRICE_FRACTION / (1.0 - PRICE_FRACTION))
    unit = (top - bottom - sum(headers) - panels * gap) / (share + panels)
    if unit * h_pt < 2.0 * fs:  # absurdly small image: drop the air, then fall back to fractions
        top, bottom, gap = 0.92, 0.08, 0.005
        headers = [min(height, 0.04) for height in headers]
        unit = max(0.01, (top - bottom - sum(headers) - panels * gap) / (share + panels))
    y = top - headers[0] - share * unit
    axes = [fig.add_axes((left, y, right - left, share * unit))]
    for header in headers[1:]:
        y -= gap + header + unit
        axes.append(fig.add_axes((left, y, right - left, unit), sharex=axes[0]))
    return axes


def _style_axes(ax: Axes, style: _Style) -> None:
    """Background, grid, spines and ticks with explicit arguments (no rcParams)."""
    p, fs = style.palette, style.fs
    ax.set_facecolor(p.background)
    ax.grid(True, color=p.grid, linewidth=0.6 * style.lw, zorder=0)
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_color(p.spine)
        spine.set_linewidth(0.8 * style.lw)
    ax.tick_params(labelsize=fs, labelcolor=p.text, color=p.spine, length=3.0 * style.lw, width=0.6 * style.lw, pad=2.0)


def _height_pt(ax: Axes, h_pt: float) -> float:
    return float(ax.get_position().height) * h_pt


# --- price panel and overlays -----------------------------------------------------------------


def _price_entries(style: _Style) -> list[Entry]:
    p = style.palette
    if style.dense:
        return [
            Entry(line_key(p.close, 1.1 * style.lw), "Close"),
            Entry(Key(swatches=(p.high_low,), swatch_alpha=p.high_low_alpha), "High-low"),
        ]
    return [Entry(Key(swatches=(style.up,)), "Up"), Entry(Key(swatches=(style.down,)), "Down")]


def _overlay_width(style: _Style) -> float:
    return style.lw * (1.0 if style.dense else 1.2)


def _overlay_entry(overlay: Overlay, color: str, style: _Style) -> Entry:
    lw = _overlay_width(style)
    if overlay.kind.markers:
        return Entry(Key(swatches=(color,)), overlay.label)
    if overlay.kind.band is not None:
        alpha = min(1.0, 2.5 * style.palette.band_alpha)
        return Entry(Key(swatches=(color,), swatch_alpha=alpha, line=color, line_width=lw), overlay.label)
    return Entry(line_key(color, lw), overlay.label)


def _draw_price(
    ax: Axes,
    data: _Bars,
    overlays: list[tuple[Overlay, dict[str, FloatArray]]],
    colors: list[str],
    buckets: Buckets,
    style: _Style,
    scale: PriceScale,
    h_pt: float,
) -> None:
    """Candlesticks for short windows, a close line over a high-low band otherwise, then the overlays."""
    low, high = data["low"], data["high"]
    bar_range = values.finite_range(low, high)
    log = bar_range is not None and scale is not PriceScale.LINEAR and bar_range[0] > 0.0
    if log and scale is PriceScale.AUTO:
        assert bar_range is not None
        log = values.wants_log(bar_range[0], bar_range[1], AUTO_LOG_RATIO)
    scaled = values.Scaled.of(low, high)

    def prices(array: FloatArray) -> FloatArray:
        drawn = scaled(array)
        return np.where(drawn > 0.0, drawn, np.nan) if log else drawn

    o, h, lo, cl = (prices(data[c]) for c in _OHLC)
    p, lw = style.palette, style.lw
    if style.dense:
        ax.fill_between(
            buckets.centres if buckets.reduced else data.x,
            buckets.lowest(lo) if buckets.reduced else lo,
            buckets.highest(h) if buckets.reduced else h,
            color=p.high_low,
            alpha=p.high_low_alpha,
            linewidth=0,
            zorder=1,
        )
        ax.plot(*buckets.line(data.x, cl), color=p.close, linewidth=1.1 * lw, zorder=2)
    else:
        ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(cl)
        colors_ = np.where(data.up, style.up, style.down)[ok].tolist()
        wick = lw * min(1.2, max(0.5, style.slot_pt * 0.12))
        ax.vlines(data.x[ok], lo[ok], h[ok], colors=colors_, linewidth=wick, zorder=2)
        body = PolyCollection(
            _boxes(data.x[ok], o[ok], cl[ok], style.width(BODY_SHARE)),
            facecolors=colors_,
            edgecolors=colors_,
            linewidths=lw * min(0.8, max(0.3, style.slot_pt * 0.05)),  # keeps dojis visible
            zorder=3,
        )
        ax.add_collection(body, autolim=False)

    drawn = [lo, h]
    for (overlay, lines), color in zip(overlays, colors, strict=True):
        if overlay.kind.markers:
            _draw_markers(ax, data.x, lines, lo, h, color, style)
            continue
        lines = {key: prices(line) for key, line in lines.items()}
        _draw_overlay(ax, data.x, overlay, lines, color, buckets, style)
        drawn.extend(lines.values())
    span = values.finite_range(*drawn, positive=log)
    if log and span is not None:
        values.fit_log(ax, span)
    else:
        values.fit_linear(ax, span)
    values.set_ticks(ax, scaled, _height_pt(ax, h_pt), style.fs)


def _draw_markers(
    ax: Axes,
    x: FloatArray,
    signals: dict[str, FloatArray],
    low: FloatArray,
    high: FloatArray,
    color: str,
    style: _Style,
) -> None:
    """A triangle on each bar where a signal fired: pointing up above the high when positive, down below the low."""
    size = (3.0 * style.lw + 2.0) ** 2
    for values_ in signals.values():
        for positive, marker, edge in ((True, "^", high), (False, "v", low)):
            fired = np.flatnonzero((values_ > 0) if positive else (values_ < 0))
            fired = fired[np.isfinite(edge[fired])]
            if len(fired):
                ax.scatter(x[fired], edge[fired], s=size, marker=marker, color=color, linewidths=0, zorder=5)


def _draw_overlay(
    ax: Axes,
    x: FloatArray,
    overlay: Overlay,
    lines: dict[str, FloatArray],
    color: str,
    buckets: Buckets,
    style: _Style,
) -> None:
    """One overlay on the price panel: a shaded band (under the lines) and lines.

    Band edges are thin and bands sit under plain lines (zorder 3.5 < 4), so
    an SMA over the same period as a band's middle line stays visible.
    """
    lw = _overlay_width(style)
    band = overlay.kind.band
    if band is not None:
        lower, upper = lines[band[0]], lines[band[1]]
        if buckets.reduced:
            ax.fill_between(
                buckets.centres,
                buckets.lowest(lower),
                buckets.highest(upper),
                color=color,
                alpha=style.palette.band_alpha,
                linewidth=0,
                zorder=1,
            )
        else:
            ax.fill_between(x, lower, upper, color=color, alpha=style.palette.band_alpha, linewidth=0, zorder=1)
        for key in band:
            ax.plot(
                *buckets.line(x, lines[key]),
                color=color,
                linewidth=0.6 * lw,
                alpha=0.65,
                zorder=3.5,
                label=overlay.label,
            )
    plain = [key for key in overlay.kind.lines if band is None or key not in band]
    for i, key in enumerate(plain):
        zorder = 3.5 if band is not None else 4.0
        linestyle = _LINE_STYLES[i % len(_LINE_STYLES)] if band is None else "-"
        ax.plot(
            *buckets.line(x, lines[key]),
            color=color,
            linewidth=lw,
            linestyle=linestyle,
            zorder=zorder,
            label=overlay.label,
        )


# --- panels -----------------------------------------------------------------------------------


def _series_key(series: Series, style: _Style, lw: float) -> Key:
    if series.draw is Draw.LINE:
        return line_key(style.palette.lines[series.color % len(style.palette.lines)], lw)
    return Key(swatches=(style.up, style.down))


def _panel_line_width(style: _Style) -> float:
    return style.lw * (1.0 if style.dense else 1.25)


def _panel_entries(panel: Panel, style: _Style) -> list[Entry]:
    """The panel's title in bold, then one entry per series (only the title for a one-series panel)."""
    kind = panel.kind
    lw = _panel_line_width(style)
    if len(kind.series) == 1:
        return [Entry(_series_key(kind.series[0], style, lw), panel.label, bold=True)]
    entries = [Entry(None, panel.label, bold=True)]
    entries += [Entry(_series_key(s, style, lw), s.legend(panel.convention)) for s in kind.series]
    return entries


def _draw_panel(
    ax: Axes,
    kind: PanelKind,
    series: dict[str, FloatArray],
    data: _Bars,
    buckets: Buckets,
    style: _Style,
    h_pt: float,
) -> None:
    """One panel from its declaration: bars, then lines (the first series on top), guides and the y axis."""
    p = style.palette
    if kind.y_range is not None:
        # Values far outside a fixed range are off the panel anyway; clipped, they cannot overflow its transforms.
        low, high = kind.y_range
        scaled = values.Scaled()
        drawn = {key: np.clip(array, 2.0 * low - high, 2.0 * high - low) for key, array in series.items()}
    else:
        scaled = values.Scaled.of(*series.values(), np.array(kind.guides))  # guides keep their place
        drawn = {key: scaled(array) for key, array in series.items()}
    guides = [float(scaled(np.array([level]))[0]) for level in kind.guides]
    lw = _panel_line_width(style)
    has_bars = False
    for rank, item in enumerate(kind.series):
        array = drawn[item.key]
        if item.draw is Draw.LINE:
            color = p.lines[item.color % len(p.lines)]
            zorder = 3.0 + (len(kind.series) - rank) * 0.1
            ax.plot(*buckets.line(data.x, array), color=color, linewidth=lw, zorder=zorder)
        else:
            has_bars = True
            if item.draw is Draw.DIRECTION_BARS:
                bucket_up = buckets.closed_up(data["open"], data["close"])
                _draw_bars(ax, data.x, array, data.up, buckets, style, bucket_up)
            else:
                _draw_bars(ax, data.x, array, array >= 0.0, buckets, style, None)
    if kind.y_range is not None and guides:
        ax.axhspan(min(guides), max(guides), color=p.guide, alpha=p.guide_band_alpha, linewidth=0, zorder=0)
    for level in guides:
        ax.axhline(level, color=p.guide, linewidth=0.7 * style.lw, linestyle=(0, (4, 3)), zorder=1)
    if kind.zero_line:
        ax.axhline(0.0, color=p.zero, linewidth=0.7 * style.lw, zorder=1)

    if kind.y_range is not None:
        ax.set_ylim(*kind.y_range)
    else:
        extra = [np.array(guides)] if guides else []
        if has_bars or kind.zero_line:
            extra.append(np.zeros(1))
        values.fit_linear(ax, values.finite_range(*drawn.values(), *extra), floor_zero=kind.from_bars)
    if kind.ticks:
        values.fixed_ticks(ax, kind.ticks, scaled)
    else:
        values.set_ticks(ax, scaled, _height_pt(ax, h_pt), style.fs, si=kind.si_labels)


def _draw_bars(
    ax: Axes,
    x: FloatArray,
    heights: FloatArray,
    up: BoolArray,
    buckets: Buckets,
    style: _Style,
    bucket_up: BoolArray | None,
) -> None:
    """Bars from 0 to ``heights``, in the up colour where ``up`` and the down colour elsewhere; NaN draws nothing.

    Reduced to buckets, a bar is coloured by its sign, or by ``bucket_up`` when given.
    """
    ok = np.isfinite(heights)
    if not style.dense:
        colors = np.where(up, style.up, style.down)[ok].tolist()
        bars = PolyCollection(
            _boxes(x[ok], np.zeros(int(ok.sum())), heights[ok], style.width(BAR_SHARE)),
            facecolors=colors,
            linewidths=0,
            zorder=2,
        )
        ax.add_collection(bars, autolim=False)
        return
    # Sub-pixel bars: one bar per bucket, from its most negative to its largest
    # value, as one stepped area per colour over the buckets' edges.
    edges = buckets.edges
    finite = np.where(ok, heights, 0.0)
    top = buckets.bars(finite, finite > 0.0)
    bottom = buckets.negative_bars(finite, finite < 0.0)
    if bucket_up is None:  # by sign: the up colour above 0, the down colour below
        parts = ((np.zeros_like(top), top, style.up), (bottom, np.zeros_like(bottom), style.down))
    else:  # by the bucket's direction, as one candle of its bars would close
        parts = (
            (np.where(bucket_up, bottom, 0.0), np.where(bucket_up, top, 0.0), style.up),
            (np.where(bucket_up, 0.0, bottom), np.where(bucket_up, 0.0, top), style.down),
        )
    for low, high, color in parts:
        if (high > low).any():
            ax.fill_between(edges, np.repeat(low, 2), np.repeat(high, 2), color=color, linewidth=0, zorder=2)


def _boxes(x: FloatArray, y0: FloatArray, y1: FloatArray, width: float) -> Sequence[FloatArray]:
    """Rectangles centred on x spanning y0..y1, as one (n, 4, 2) vertex array for a PolyCollection."""
    left, right = x - width / 2.0, x + width / 2.0
    corners = ((left, y0), (left, y1), (right, y1), (right, y0))
    verts = np.stack([np.column_stack(corner) for corner in corners], axis=1)
    # PolyCollection documents (n, 4, 2) arrays (its fast path); the stubs only say Sequence.
    return cast("Sequence[FloatArray]", verts)


def _title(fig: Figure, title: str, fs: float, palette: Palette, w_pt: float, h_pt: float) -> None:
    """The title, centred at the top, shrunk (within reason) to fit the width."""
    size = fs * 1.3
    estimate = len(title) * 0.62 * size
    room = w_pt * 0.96
    if estimate > room:
        size = max(fs * 0.8, size * room / estimate)
    fig.text(
        0.5,
        1.0 - 0.5 * fs / h_pt,
        title,
        ha="center",
        va="top",
        fontsize=size,
        fontweight="bold",
        color=palette.text,
        parse_math=False,
    )
