"""Kinds built on the fly for catalogue entries: a panel of lines, price lines, and signal markers on the bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.offsetbox import AnchoredOffsetbox
from matplotlib.text import Text

from idc_server.core.charts import (
    Overlay,
    Panel,
    RenderOptions,
    build_figure,
    indicator_overlay,
    indicator_panel,
    signal_markers,
)

N = 40


def bars() -> pd.DataFrame:
    close = 50 + np.sin(np.arange(N) / 3) * 5
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(N, 1e6)},
        index=pd.date_range("2024-01-01", periods=N, freq="B"),
    )


def drawn(overlays: list[Overlay], panels: list[Panel]) -> Figure:
    fig = build_figure(bars(), title="t", overlays=overlays, panels=panels, options=RenderOptions(640, 480))
    FigureCanvasAgg(fig).draw()  # type: ignore[no-untyped-call]
    return fig


def marker_offsets(fig: Figure) -> list[list[tuple[float, float]]]:
    """The (bar, price) of every marker, one list per marker collection on the price panel."""
    return [
        [(float(x), float(y)) for x, y in np.asarray(collection.get_offsets())]
        for collection in fig.axes[0].collections
        if isinstance(collection, PathCollection)
    ]


def texts(fig: Figure, axes: int) -> list[str]:
    ax = fig.axes[axes]
    return [t.get_text() for box in ax.artists if isinstance(box, AnchoredOffsetbox) for t in box.findobj(Text)]


def test_signals_are_markers_above_the_bar_when_positive_and_below_when_negative() -> None:
    signal = np.zeros(N)
    signal[[5, 20]] = 100.0
    signal[30] = -80.0
    signal[:2] = np.nan  # warm-up bars draw nothing
    fig = drawn([Overlay(signal_markers("cdl", ["integer"]), "CDLENGULFING", {"integer": signal})], [])
    frame = bars()
    placed = marker_offsets(fig)
    assert len(placed) == 2
    up, down = placed
    assert up == [(5.0, frame["high"].iloc[5]), (20.0, frame["high"].iloc[20])]
    assert down == [(30.0, frame["low"].iloc[30])]
    assert "CDLENGULFING" in texts(fig, 0)


def test_no_signal_draws_no_marker() -> None:
    fig = drawn([Overlay(signal_markers("s", ["s"]), "S", {"s": np.zeros(N)})], [])
    assert marker_offsets(fig) == []


def test_an_entry_panel_draws_one_line_per_output_with_its_legend() -> None:
    first, second = np.linspace(0, 1, N), np.linspace(1, 0, N)
    kind = indicator_panel("aroon", ["aroondown", "aroonup"])
    fig = drawn([], [Panel(kind, "AROON(14)", {"aroondown": first, "aroonup": second})])
    panel = fig.axes[1]
    lines = [np.asarray(line.get_ydata(), dtype=float) for line in panel.get_lines()]
    assert any(np.array_equal(line, first) for line in lines)
    assert any(np.array_equal(line, second) for line in lines)
    assert {"AROON(14)", "aroondown", "aroonup"} <= set(texts(fig, 1))


def test_price_lines_of_an_entry_are_drawn_over_the_prices() -> None:
    upper: Any = bars()["high"].rolling(5).max().to_numpy()
    fig = drawn([Overlay(indicator_overlay("dc", ["upper"]), "DONCHIAN(5)", {"upper": upper})], [])
    drawn_lines = [np.asarray(line.get_ydata(), dtype=float) for line in fig.axes[0].get_lines()]
    assert any(len(line) == N and np.array_equal(line, upper, equal_nan=True) for line in drawn_lines)
