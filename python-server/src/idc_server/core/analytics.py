"""The core's entry points: what the API layer calls, with domain types only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import pandas as pd

from idc_server.core import charts
from idc_server.core.data import BarStore, select_window
from idc_server.core.indicators import DEFAULT_PERIODS, MACDPeriods, macd


@dataclass(frozen=True, slots=True)
class MACDResult:
    """Bars in a window with their MACD columns.

    ``frame`` has the bars-frame index and the columns ``open, high, low,
    close, volume, macd, signal, histogram``.
    """

    symbol: str
    periods: MACDPeriods
    frame: pd.DataFrame


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


class Analytics:
    """MACD tables and charts over a BarStore."""

    def __init__(self, store: BarStore, default_symbol: str) -> None:
        self.store = store
        self.default_symbol = store.canonical(default_symbol)

    def macd(
        self,
        symbol: str | None,
        start: date | None,
        end: date | None,
        periods: MACDPeriods = DEFAULT_PERIODS,
    ) -> MACDResult:
        """MACD over the symbol's whole history, cut to [start, end].

        Computing before cutting means a value never depends on where the
        window starts. An empty or None symbol means the default symbol.
        """
        name = self.store.canonical(symbol) if symbol else self.default_symbol
        history = self.store.bars(name)
        window = select_window(history, start, end)
        indicator = macd(history["close"], periods).loc[window.index]
        return MACDResult(name, periods, pd.concat([window, indicator], axis=1))

    def macd_chart(
        self,
        symbol: str | None,
        start: date | None,
        end: date | None,
        periods: MACDPeriods = DEFAULT_PERIODS,
        *,
        width_px: int = charts.WIDTH_PX,
        height_px: int = charts.HEIGHT_PX,
    ) -> Image:
        """A PNG chart of the window: price over MACD."""
        result = self.macd(symbol, start, end, periods)
        frame = result.frame
        first, last = frame.index[0].date(), frame.index[-1].date()
        title = f"{result.symbol}  {first} – {last}  MACD({periods.fast}, {periods.slow}, {periods.signal})"
        png = charts.render_macd_chart(frame, title=title, width_px=width_px, height_px=height_px)
        return Image(png, "image/png", width_px, height_px)
