"""The core's entry points: what the API layer calls, with domain types only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc_server.core import charts
from idc_server.core.data import BarStore, SymbolSummary, check_window, window_positions
from idc_server.core.indicators import INDICATORS, Convention, Indicator, MACDParameters

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

    @property
    def sha256(self) -> bytes:
        """The SHA-256 digest of ``data``."""
        return hashlib.sha256(self.data).digest()


def first_valid(values: npt.NDArray[np.float64]) -> int:
    """The index of the first non-NaN value; len(values) when there is none."""
    valid = np.flatnonzero(~np.isnan(values))
    return int(valid[0]) if len(valid) else len(values)


class Analytics:
    """Indicators and charts over a BarStore or a client's own bars."""

    def __init__(self, store: BarStore, default_symbol: str, default_convention: Convention) -> None:
        self.store = store
        self.default_symbol = store.canonical(default_symbol)
        self.default_convention = default_convention

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
        else:
            name = self.store.canonical(symbol) if symbol else self.default_symbol
            history = self.store.bars(name)
        return Selection(name, history, window_positions(history, start, end))

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

    def macd_chart(
        self,
        selection: Selection,
        parameters: MACDParameters,
        convention: Convention,
        *,
        width_px: int = charts.WIDTH_PX,
        height_px: int = charts.HEIGHT_PX,
    ) -> Image:
        """A PNG chart of the window: price over MACD."""
        frame = self.macd(selection, parameters, convention).frame
        first, last = frame.index[0].date(), frame.index[-1].date()
        title = (
            f"{selection.name}  {first} – {last}  "
            f"MACD({parameters.fast_period}, {parameters.slow_period}, {parameters.signal_period})"
            f"  {convention.name}"
        )
        png = charts.render_macd_chart(frame, title=title, width_px=width_px, height_px=height_px)
        return Image(png, "image/png", width_px, height_px)

    def symbols(self) -> list[SymbolSummary]:
        """What the store holds, by symbol."""
        return self.store.summaries()
