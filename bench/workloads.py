"""The requests every transport is measured on: the same bars, the same MACD.

Store workloads name a bundled symbol and a date window; the inline workload
carries its own synthetic bars, as a client sending its data would.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class InlineBars:
    """Bars as columns: ``days`` since 1970-01-01 (int32, strictly increasing) and float64 prices and volume."""

    days: npt.NDArray[np.int32]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def columns(self) -> dict[str, npt.NDArray[np.float64]]:
        """The float64 columns by name, ``open`` to ``volume``."""
        return {name: getattr(self, name) for name in BAR_COLUMNS}

    def __len__(self) -> int:
        return len(self.days)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds arrays
class Workload:
    """One GetMACD-shaped request: a store symbol and window, or inline bars."""

    name: str  # "250", "2500" or "100k"
    symbol: str = ""
    start_date: str = ""  # YYYY-MM-DD; "" means no bound
    end_date: str = ""
    bars: InlineBars | None = None
    rows: int = 0  # bars in the answer, so every transport's reply can be checked


def synthetic_bars(count: int, seed: int = 20261127) -> InlineBars:
    """A seeded random walk of daily bars, consecutive days from 1997-05-19 (day 10000) on."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, count)))
    open_ = close * np.exp(rng.normal(0.0, 0.005, count))
    spread = np.abs(rng.normal(0.0, 0.004, count))
    high = np.maximum(open_, close) * (1.0 + spread)
    low = np.minimum(open_, close) * (1.0 - spread)
    volume = rng.integers(1_000_000, 50_000_000, count).astype("float64")
    days = np.arange(10_000, 10_000 + count, dtype=np.int32)
    return InlineBars(days, open_, high, low, close, volume)


YEAR = Workload("250", "SPY", "2024-01-01", "2024-12-31", rows=252)
DECADE = Workload("2500", "SPY", "2015-01-01", "2024-12-31", rows=2516)


def inline_workload(count: int = 100_000) -> Workload:
    """``count`` synthetic bars sent inline (named "100k" for the default)."""
    name = f"{count // 1000}k" if count % 1000 == 0 else str(count)
    return Workload(name, bars=synthetic_bars(count), rows=count)


def workloads() -> list[Workload]:
    """The three GetMACD sizes: a year and a decade of SPY, and 100,000 inline bars."""
    return [YEAR, DECADE, inline_workload()]


@functools.cache
def by_name(name: str) -> Workload:
    """The workload called ``name``: "250", "2500", or inline sizes such as "100k" and "5k"."""
    if name == YEAR.name:
        return YEAR
    if name == DECADE.name:
        return DECADE
    if name.endswith("k") and name[:-1].isdigit():
        return inline_workload(int(name[:-1]) * 1000)
    raise ValueError(f"unknown workload {name!r}; expected 250, 2500 or an inline size such as 100k")
