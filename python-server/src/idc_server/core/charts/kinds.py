"""The kinds of panel and overlay a chart can draw: one declaration each.

A panel kind says which series it draws and how (lines, sign-coloured bars,
bars coloured by the bar's direction), what each is called in the legend
under each convention, and how its y axis is fixed (guide lines, fixed
ticks, a fixed range). An overlay kind names its lines and which pair of
them is a shaded band. The renderer has no code for any one kind, the API
layer lists the choices from ``PANELS`` and ``OVERLAYS``, and the analytics
look kinds up by indicator name, so adding a kind is one declaration here
(plus its indicator and proto field). A catalogue indicator without a
declaration of its own is drawn with a kind built on the fly from its
output names: ``indicator_panel`` (a line per output), ``indicator_overlay``
(price lines) and ``signal_markers`` (a marker on each bar where a signal
fired: above the bar when positive, below when negative).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from idc_server.core.indicators import Convention

__all__ = [
    "BOLL",
    "EMA",
    "KDJ",
    "MACD",
    "OVERLAYS",
    "PANELS",
    "RSI",
    "SMA",
    "VOLUME",
    "Draw",
    "Overlay",
    "OverlayKind",
    "Panel",
    "PanelKind",
    "Series",
    "indicator_overlay",
    "indicator_panel",
    "signal_markers",
]

FloatArray = npt.NDArray[np.float64]


class Draw(enum.Enum):
    """How a panel draws one series."""

    LINE = "line"
    SIGNED_BARS = "signed_bars"  # bars from 0: the up colour at or above 0, the down colour below
    DIRECTION_BARS = "direction_bars"  # bars from 0: the up colour where the bar closed at or above its open


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a panel: its key in the panel's values, legend text and look.

    ``color`` picks one of the theme's line colours (0 blue, 1 orange, 2
    purple, 3 magenta); bars use the up and down colours instead.
    """

    key: str
    label: str
    tdx_label: str = ""  # the 通达信 name, where it differs
    draw: Draw = Draw.LINE
    color: int = 0

    def legend(self, convention: Convention) -> str:
        """The legend text under ``convention``."""
        return self.tdx_label if convention is Convention.TDX and self.tdx_label else self.label


@dataclass(frozen=True, slots=True)
class PanelKind:
    """A kind of panel below the price panel.

    The first series is drawn on top. ``y_range`` fixes the axis (else it
    fits the values and ``guides``); ``ticks`` fixes the y ticks (else about
    one per 2.5 lines of text, at least three). ``from_bars`` panels draw
    the bars' own columns named by their series keys, not indicator outputs.
    """

    name: str  # the indicator and proto field name
    series: tuple[Series, ...]
    guides: tuple[float, ...] = ()
    ticks: tuple[float, ...] = ()
    y_range: tuple[float, float] | None = None
    zero_line: bool = False
    from_bars: bool = False
    si_labels: bool = False  # 1.5M rather than 1500000

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the values this panel needs."""
        return tuple(series.key for series in self.series)


@dataclass(frozen=True, slots=True)
class OverlayKind:
    """A kind of overlay on the price panel: lines in price units, perhaps a shaded band between two of them."""

    name: str  # the indicator and proto field name
    lines: tuple[str, ...]
    band: tuple[str, str] | None = None  # (lower, upper): shaded between, drawn thin
    markers: bool = False  # the lines are signals: a marker per bar where one is non-zero, not a line


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel to draw: its kind, legend title (e.g. "MACD(12, 26, 9)") and values by series key.

    ``convention`` only chooses the legend names (DIF/DEA/MACD under TDX).
    """

    kind: PanelKind
    label: str
    series: Mapping[str, FloatArray]
    convention: Convention = Convention.TALIB


@dataclass(frozen=True, slots=True)
class Overlay:
    """One overlay to draw: its kind, legend text (e.g. "SMA(20)") and lines by key.

    Its colour follows from ``label``, so the same overlay keeps its colour
    whatever else is drawn and in whatever order.
    """

    kind: OverlayKind
    label: str
    lines: Mapping[str, FloatArray]


VOLUME = PanelKind(
    "volume",
    (Series("volume", "Volume", draw=Draw.DIRECTION_BARS),),
    from_bars=True,
    si_labels=True,
)
MACD = PanelKind(
    "macd",
    (
        Series("macd", "MACD", tdx_label="DIF", color=0),
        Series("signal", "Signal", tdx_label="DEA", color=1),
        Series("histogram", "Histogram", tdx_label="MACD", draw=Draw.SIGNED_BARS),
    ),
    zero_line=True,
)
RSI = PanelKind(
    "rsi",
    (Series("rsi", "RSI", color=2),),
    guides=(30.0, 70.0),
    ticks=(30.0, 50.0, 70.0),
    y_range=(0.0, 100.0),
)
KDJ = PanelKind(
    "kdj",
    (Series("k", "K", color=0), Series("d", "D", color=1), Series("j", "J", color=3)),
    guides=(20.0, 80.0),
    ticks=(20.0, 50.0, 80.0),
)

SMA = OverlayKind("sma", ("sma",))
EMA = OverlayKind("ema", ("ema",))
BOLL = OverlayKind("boll", ("upper", "middle", "lower"), band=("lower", "upper"))

PANELS: Mapping[str, PanelKind] = {kind.name: kind for kind in (VOLUME, MACD, RSI, KDJ)}
OVERLAYS: Mapping[str, OverlayKind] = {kind.name: kind for kind in (SMA, EMA, BOLL)}


def indicator_panel(name: str, keys: Sequence[str]) -> PanelKind:
    """A panel of one line per output of a catalogue entry, in the theme's line colours in turn."""
    return PanelKind(name, tuple(Series(key, key, color=index % 4) for index, key in enumerate(keys)))


def indicator_overlay(name: str, keys: Sequence[str]) -> OverlayKind:
    """Price lines of a catalogue entry over the price panel."""
    return OverlayKind(name, tuple(keys))


def signal_markers(name: str, keys: Sequence[str]) -> OverlayKind:
    """Signal outputs as markers on the price panel: above the bar where positive, below where negative."""
    return OverlayKind(name, tuple(keys), markers=True)
