"""The core's entry points: what the API layer calls, with domain types only."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_server.core import charts
from idc_server.core.data import BarStore, SymbolSummary, check_window, window_positions
from idc_server.core.errors import field_prefix
from idc_server.core.indicators import INDICATORS, Convention, Indicator, MACDParameters
from idc_server.core.render_cache import RenderAbandonedError, RenderCache

INLINE_NAME = "inline bars"  # chart title for bars a client sent


@dataclass(frozen=True, slots=True)
class Selection:
    """A whole series of bars and the window of it to return.

    Indicators are computed over ``history`` and then cut to ``window``, so a
    value never depends on where the window starts.
    """

    symbol: str  # canonical store symbol; "" for inline bars
    history: pd.DataFrame
    window: slice  # positions into history
    version: str  # changes whenever the history's data does

    @property
    def bars(self) -> pd.DataFrame:
        """The bars in the window."""
        return self.history.iloc[self.window]

    @property
    def name(self) -> str:
        """What to call the series in a chart title."""
        return self.symbol or INLINE_NAME


@dataclass(frozen=True, slots=True)
class IndicatorRequest:
    """One indicator to compute, with its validated parameters and output label."""

    label: str
    indicator: Indicator
    parameters: Any

    def display_name(self) -> str:
        """The indicator and its numeric parameters, e.g. "MACD(12, 26, 9)" or "BOLL(20, 2)"."""
        values = [
            f"{value:g}"
            for value in (getattr(self.parameters, name) for name in self.indicator.parameter_names())
            if isinstance(value, int | float)
        ]
        return f"{self.indicator.name.upper()}({', '.join(values)})"


@dataclass(frozen=True, slots=True)
class ChartRequest:
    """What to draw: overlays on the price panel, panels below it (None is volume), and the output."""

    overlays: tuple[IndicatorRequest, ...]
    panels: tuple[IndicatorRequest | None, ...]
    options: charts.RenderOptions


DEFAULT_PANELS: tuple[IndicatorRequest | None, ...] = (
    None,
    IndicatorRequest("macd", INDICATORS["macd"], MACDParameters()),
)


def macd_chart_request(parameters: MACDParameters, options: charts.RenderOptions) -> ChartRequest:
    """The price-over-MACD chart of GetMACDGraph."""
    return ChartRequest((), (IndicatorRequest("macd", INDICATORS["macd"], parameters),), options)


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """One indicator output over a window: values from ``first_valid_index`` on."""

    name: str
    first_valid_index: int
    values: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IndicatorFrame:
    """Indicator outputs over a window of dates."""

    symbol: str
    convention: Convention
    dates: pd.DatetimeIndex
    series: list[SeriesResult]


@dataclass(frozen=True, slots=True)
class MACDResult:
    """Bars in a window with their MACD columns.

    ``frame`` has the bars-frame index and the columns ``open, high, low,
    close, volume, macd, signal, histogram``; MACD columns are NaN before
    ``first_valid_index`` (warm-up bars).
    """

    symbol: str
    parameters: MACDParameters
    convention: Convention
    frame: pd.DataFrame
    first_valid_index: int


@dataclass(frozen=True, slots=True)
class Image:
    """An encoded image and what a client needs to check it."""

    data: bytes
    media_type: str
    width_px: int
    height_px: int
    dpi: int

    @property
    def sha256(self) -> bytes:
        """The SHA-256 digest of ``data``."""
        return hashlib.sha256(self.data).digest()

    @property
    def size_bytes(self) -> int:
        """The encoded size, which is what the render cache counts."""
        return len(self.data)


def first_valid(values: npt.NDArray[np.float64]) -> int:
    """The index of the first non-NaN value; len(values) when there is none."""
    valid = np.flatnonzero(~np.isnan(values))
    return int(valid[0]) if len(valid) else len(values)


class Analytics:
    """Indicators and charts over a BarStore or a client's own bars."""

    def __init__(
        self,
        store: BarStore,
        default_symbol: str,
        default_convention: Convention,
        render_cache_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.default_symbol = store.canonical(default_symbol)
        self.default_convention = default_convention
        self.render_cache: RenderCache[Image] = RenderCache(render_cache_bytes)

    def select(
        self,
        symbol: str | None,
        start: date | None,
        end: date | None,
        inline: pd.DataFrame | None = None,
    ) -> Selection:
        """The bars to work on: ``inline`` bars if given, else a store symbol.

        An empty or None symbol means the default symbol. Raises NotFoundError
        for an unknown symbol or an empty window.
        """
        check_window(start, end)
        if inline is not None:
            name, history = "", inline
            digest = hashlib.sha256(pd.DatetimeIndex(inline.index).asi8.tobytes())
            digest.update(inline.to_numpy(dtype="float64").tobytes())
            version = f"inline:{digest.hexdigest()}"
        else:
            name = self.store.canonical(symbol) if symbol else self.default_symbol
            version, history = self.store.versioned(name)
        return Selection(name, history, window_positions(history, start, end), version)

    def convention(self, requested: Convention | None) -> Convention:
        """The convention to use: the requested one, or the server's default."""
        return requested or self.default_convention

    def indicator(self, selection: Selection, request: IndicatorRequest, convention: Convention) -> list[SeriesResult]:
        """One indicator's output series over the selection's history, cut to its window."""
        outputs = request.indicator.compute(selection.history, request.parameters, convention)
        results = []
        names = request.indicator.series_names(request.label)
        for name, column in zip(names, request.indicator.outputs, strict=True):
            values = outputs[column].to_numpy(dtype="float64")[selection.window]
            start = first_valid(values)
            results.append(SeriesResult(name, start, values[start:]))
        return results

    def frame(self, selection: Selection, convention: Convention, series: list[SeriesResult]) -> IndicatorFrame:
        """Series from ``indicator`` calls, gathered into one frame over the window's dates."""
        return IndicatorFrame(selection.symbol, convention, pd.DatetimeIndex(selection.bars.index), series)

    def macd(self, selection: Selection, parameters: MACDParameters, convention: Convention) -> MACDResult:
        """MACD over the selection's history, joined to the bars of its window."""
        indicator = INDICATORS["macd"].compute(selection.history, parameters, convention)
        window = indicator.iloc[selection.window]
        start = first_valid(window["macd"].to_numpy(dtype="float64"))
        frame = pd.concat([selection.bars, window], axis=1)
        return MACDResult(selection.symbol, parameters, convention, frame, start)

    def chart(
        self,
        selection: Selection,
        request: ChartRequest,
        convention: Convention,
        cancelled: threading.Event | None = None,
    ) -> Image:
        """A chart of the window, from the render cache when the same chart of the same data was drawn.

        ``cancelled`` is set when the caller goes away; the render stops once
        every caller waiting for it has. Raises RenderAbandonedError then.
        """
        key = (selection.version, selection.symbol, selection.window.start, selection.window.stop, convention, request)
        return self.render_cache.get_or_render(
            key,
            lambda abandoned: self._render(selection, request, convention, abandoned),
            cancelled or threading.Event(),
        )

    def _render(
        self, selection: Selection, request: ChartRequest, convention: Convention, abandoned: Callable[[], bool]
    ) -> Image:
        def checkpoint() -> None:
            if abandoned():
                raise RenderAbandonedError("every caller of this chart went away")

        checkpoint()
        overlays = []
        for index, overlay in enumerate(request.overlays):
            with field_prefix(f"overlays[{index}].{overlay.indicator.name}"):
                lines = self._outputs(selection, overlay, convention)
            overlays.append(charts.Overlay(overlay.display_name(), lines))
        panels = []
        for index, panel in enumerate(request.panels):
            if panel is None:
                panels.append(charts.Panel(charts.PanelKind.VOLUME, "Volume", {}))
                continue
            with field_prefix(f"panels[{index}].{panel.indicator.name}"):
                series = self._outputs(selection, panel, convention)
            panels.append(charts.Panel(charts.PanelKind[panel.indicator.name.upper()], panel.display_name(), series))
        bars = selection.bars
        names = " ".join(item.display_name() for item in (*request.overlays, *request.panels) if item is not None)
        title = f"{selection.name}  {bars.index[0].date()} – {bars.index[-1].date()}  {names}  {convention.name}"
        options = request.options
        data = charts.render_chart(
            bars, title=title, overlays=overlays, panels=panels, options=options, checkpoint=checkpoint
        )
        return Image(data, options.format.value, options.width_px, options.height_px, options.dpi)

    def _outputs(
        self, selection: Selection, request: IndicatorRequest, convention: Convention
    ) -> dict[str, npt.NDArray[np.float64]]:
        """An indicator's outputs over the window, full length, NaN on warm-up bars."""
        outputs = request.indicator.compute(selection.history, request.parameters, convention)
        return {name: outputs[name].to_numpy(dtype="float64")[selection.window] for name in request.indicator.outputs}

    def symbols(self) -> list[SymbolSummary]:
        """What the store holds, by symbol."""
        return self.store.summaries()
