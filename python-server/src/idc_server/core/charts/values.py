"""The y axes: ranges fitted to the data, log or linear scales, tick counts and labels, for any finite values.

Values are drawn divided by a power of ten when they are huge or tiny
(``Scaled``), so that limits, margins and tick steps stay far from float
overflow even at 1.7e308; tick labels multiply the factor back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, Locator, LogLocator, MaxNLocator

FloatArray = npt.NDArray[np.float64]

MARGIN = 0.05  # of the data's span, above and below
MIN_TICKS = 3
_PLAIN_MAX = 1e7  # largest magnitude labelled without an exponent
_PLAIN_MIN = 1e-4  # smallest non-zero magnitude labelled without an exponent
_SCALE_ABOVE = 1e100  # magnitudes drawn divided by a power of ten: far from overflow, far from ordinary data
_SCALE_BELOW = 1e-100


@dataclass(frozen=True, slots=True)
class Scaled:
    """The factor values of one axes are divided by before drawing (1.0 for ordinary values)."""

    factor: float = 1.0

    @staticmethod
    def of(*arrays: FloatArray) -> Scaled:
        """The factor for these values: 1 unless their largest magnitude is above 1e100 or below 1e-100."""
        largest = 0.0
        for array in arrays:
            finite = np.abs(array[np.isfinite(array)])
            if finite.size:
                largest = max(largest, float(finite.max()))
        if largest == 0.0 or _SCALE_BELOW <= largest < _SCALE_ABOVE:
            return Scaled()
        return Scaled(10.0 ** max(-307, math.floor(math.log10(largest))))  # 1e-308 and below are subnormal

    def __call__(self, values: FloatArray) -> FloatArray:
        """``values`` in drawing units (a new array unless the factor is 1)."""
        return values if self.factor == 1.0 else values / self.factor


def finite_range(*arrays: FloatArray, positive: bool = False) -> tuple[float, float] | None:
    """The least and greatest finite (and, if asked, positive) value; None when there is none."""
    lows, highs = [], []
    for array in arrays:
        keep = np.isfinite(array) & (array > 0.0) if positive else np.isfinite(array)
        if keep.any():
            lows.append(float(array[keep].min()))
            highs.append(float(array[keep].max()))
    return (min(lows), max(highs)) if lows else None


def wants_log(low: float, high: float, ratio: float) -> bool:
    """Whether a positive range spans at least ``ratio`` (the automatic log rule)."""
    return low > 0.0 and high >= ratio * low


def fit_linear(ax: Axes, span: tuple[float, float] | None, floor_zero: bool = False) -> None:
    """Limits ``MARGIN`` beyond the data (from 0 when ``floor_zero``); a flat series gets a band around it."""
    if span is None:
        span = (0.0, 1.0)
    low, high = span
    if floor_zero:
        low = min(low, 0.0)
    width = high - low
    if not width > 0.0:
        width = abs(high) * 0.02 or 1.0
        low, high = low - width / 2.0, high + width / 2.0
    bottom = low if floor_zero and low == 0.0 else low - MARGIN * width
    ax.set_ylim(bottom, high + MARGIN * width)


def fit_log(ax: Axes, span: tuple[float, float]) -> None:
    """Log limits ``MARGIN`` of the data's decades beyond it."""
    low, high = math.log10(span[0]), math.log10(span[1])
    width = high - low or 0.02
    ax.set_yscale("log")
    ax.set_ylim(10.0 ** (low - MARGIN * width), 10.0 ** (high + MARGIN * width))


def tick_count(height_pt: float, font_pt: float) -> int:
    """How many y ticks fit: about one per 2.5 lines of text, at least ``MIN_TICKS``, at most 8."""
    return max(MIN_TICKS, min(8, int(height_pt / (2.5 * font_pt))))


def set_ticks(ax: Axes, scaled: Scaled, height_pt: float, font_pt: float, si: bool = False) -> None:
    """Ticks from the data (at least ``MIN_TICKS``, on round values) and labels in the data's units."""
    count = tick_count(height_pt, font_pt)
    low, high = ax.get_ylim()
    if ax.get_yscale() == "log":
        decades = math.log10(high / low)
        locator: Locator | None = None
        for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0, 7.0)):
            candidate = LogLocator(base=10.0, subs=subs, numticks=count + 2)
            inside = [t for t in candidate.tick_values(low, high) if low <= t <= high]
            if MIN_TICKS <= len(inside) <= count + 1:
                locator = candidate
                break
        if locator is None or decades < 0.5:
            locator = MaxNLocator(nbins=count, min_n_ticks=MIN_TICKS)
        ax.yaxis.set_major_locator(locator)
        ax.yaxis.set_minor_locator(FixedLocator([]))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=count, min_n_ticks=MIN_TICKS))
    ax.yaxis.set_major_formatter(FuncFormatter(_formatter(scaled.factor, si, ax)))


def fixed_ticks(ax: Axes, ticks: tuple[float, ...], scaled: Scaled) -> None:
    """Ticks at fixed values (e.g. RSI's 30, 50, 70), placed in drawing units."""
    ax.yaxis.set_major_locator(FixedLocator([tick / scaled.factor for tick in ticks]))
    labels = {tick / scaled.factor: f"{tick:g}" for tick in ticks}
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: labels.get(value, f"{value * scaled.factor:g}")))


def _formatter(factor: float, si: bool, ax: Axes) -> FuncFormatter:
    def label(value: float, _position: float | None) -> str:
        real = float(value) * factor  # Python floats: a tick beyond the largest double is inf, not a warning
        if not math.isfinite(real):
            return ""
        if si:
            return si_label(real)
        step = _tick_step(ax) * factor
        return number_label(real, step)

    return label  # type: ignore[return-value]


def _tick_step(ax: Axes) -> float:
    ticks = [t for t in ax.yaxis.get_majorticklocs() if np.isfinite(t)]
    steps = np.diff(sorted(ticks))
    return float(steps[steps > 0].min()) if (steps > 0).any() else 0.0


def number_label(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick step needs; scientific beyond 1e7 or below 1e-4."""
    if value == 0.0:
        return "0"
    if not _PLAIN_MIN <= abs(value) < _PLAIN_MAX:
        return scientific(value)
    decimals = 0 if step <= 0.0 or step >= 1.0 else min(8, math.ceil(-math.log10(step) - 1e-9))
    if step > 0.0 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1  # steps such as 0.25
    return f"{value:.{decimals}f}"


def scientific(value: float) -> str:
    """A short scientific label that fits the y label margin: 1.25e308, -2.5e-7 (up to three significant digits)."""
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def si_label(value: float) -> str:
    """A volume tick label: 1500000 -> "1.5M"; scientific from 1e15."""
    if abs(value) >= 1e15:
        return scientific(value)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"
