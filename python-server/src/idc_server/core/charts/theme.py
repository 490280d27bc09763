"""Every colour a chart uses, per theme, and how an overlay gets its colour."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from idc_server.core.charts.options import Theme


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one theme."""

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
    lines: tuple[str, ...]  # panel series colours: blue, orange, purple, magenta (Series.color)
    overlays: tuple[str, ...]


PALETTES: Mapping[Theme, Palette] = {
    Theme.LIGHT: Palette(
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
        lines=("#1f4e9c", "#f28e1c", "#6a3d9a", "#b8409b"),
        overlays=("#e08214", "#6a3d9a", "#1f78b4", "#a6761d", "#e7298a", "#17a2b8", "#666666", "#9aa01c"),
    ),
    Theme.DARK: Palette(
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
        lines=("#58a6ff", "#ffa657", "#d2a8ff", "#f778ba"),
        overlays=("#ffa657", "#d2a8ff", "#58a6ff", "#e3b341", "#f778ba", "#56d4dd", "#b1bac4", "#c9d05c"),
    ),
}


def overlay_colors(labels: Sequence[str], count: int) -> list[int]:
    """Indexes into a palette of ``count`` overlay colours, one per label.

    Each label has its own preferred colour, from a hash of the text, so
    "SMA(20)" is drawn in the same colour alone, first or last. Only when
    two overlays of one chart prefer the same colour does the later one take
    the next free colour (and any colour once all are taken).
    """
    taken: set[int] = set()
    chosen = []
    for label in labels:
        preferred = int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:4], "big") % count
        index = next((i % count for i in range(preferred, preferred + count) if i % count not in taken), preferred)
        taken.add(index)
        chosen.append(index)
    return chosen
