"""Legends: a header strip above each panel, outside the plot, so a legend never covers the data.

Entries run left to right and wrap to a new row when the estimated width
is used up; the layout reserves the rows before anything is drawn. Built
from offsetbox parts rather than Axes.legend so a panel's title can lead
the row as plain bold text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Rectangle

# Legend geometry, in multiples of its font size.
SIZE = 0.85  # legend font size, of the base font size
KEY_WIDTH = 1.6
KEY_HEIGHT = 0.75
KEY_PAD = 0.45
ENTRY_GAP = 1.1
ROW_HEIGHT = 1.25
ROW_GAP = 0.3
BELOW = 0.3  # between the last row and the plot


@dataclass(frozen=True, slots=True)
class Key:
    """What a legend entry shows before its text: colour swatches (side by side), a line over them, or both."""

    swatches: tuple[str, ...] = ()
    swatch_alpha: float = 1.0
    line: str | None = None
    line_width: float = 1.0
    line_style: Any = "-"


@dataclass(frozen=True, slots=True)
class Entry:
    """One legend entry: its key (None: text only) and text, bold for panel titles."""

    key: Key | None
    text: str
    bold: bool = False


def line_key(color: str, width: float, line_style: Any = "-") -> Key:
    """The key of a line."""
    return Key(line=color, line_width=width, line_style=line_style)


def _entry_width(entry: Entry, fs: float) -> float:
    width = (0.68 if entry.bold else 0.6) * fs * len(entry.text)
    if entry.key is not None:
        width += (KEY_WIDTH + KEY_PAD) * fs
    return width


def rows(entries: list[Entry], font_pt: float, room_pt: float) -> list[list[Entry]]:
    """The entries wrapped into rows no wider than ``room_pt``."""
    fs = font_pt * SIZE
    wrapped: list[list[Entry]] = [[]]
    used = 0.0
    for entry in entries:
        width = _entry_width(entry, fs)
        if wrapped[-1] and used + ENTRY_GAP * fs + width > room_pt:
            wrapped.append([])
            used = 0.0
        used += width + (ENTRY_GAP * fs if wrapped[-1] else 0.0)
        wrapped[-1].append(entry)
    return wrapped


def height_pt(row_count: int, font_pt: float) -> float:
    """The height of a header of ``row_count`` rows, with the air below it."""
    fs = font_pt * SIZE
    return (row_count * ROW_HEIGHT + max(0, row_count - 1) * ROW_GAP + BELOW) * fs


def draw(ax: Axes, wrapped: list[list[Entry]], font_pt: float, text_color: str) -> AnchoredOffsetbox:
    """The header above ``ax``'s top-left corner."""
    fs = font_pt * SIZE
    lines: list[Artist] = []
    for row in wrapped:
        items: list[Artist] = []
        for entry in row:
            weight = "bold" if entry.bold else "normal"
            label = TextArea(
                entry.text, textprops={"color": text_color, "fontsize": fs, "fontweight": weight, "parse_math": False}
            )
            items.append(
                label
                if entry.key is None
                else HPacker(children=[_key_area(entry.key, fs), label], align="center", pad=0.0, sep=KEY_PAD * fs)
            )
        lines.append(HPacker(children=items, align="center", pad=0.0, sep=ENTRY_GAP * fs))
    box = VPacker(children=lines, align="left", pad=0.0, sep=ROW_GAP * fs)
    header = AnchoredOffsetbox(
        loc="lower left",
        child=box,
        pad=0.0,
        borderpad=BELOW,  # in font sizes: lifts the header off the plot (and indents it as much)
        frameon=False,
        bbox_to_anchor=(0.0, 1.0),
        bbox_transform=ax.transAxes,
        prop=FontProperties(size=fs),
    )
    ax.add_artist(header)
    header.set_clip_on(False)
    return header


def _key_area(key: Key, fs: float) -> DrawingArea:
    """The picture in front of a legend text, in points."""
    width, height = KEY_WIDTH * fs, KEY_HEIGHT * fs
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
