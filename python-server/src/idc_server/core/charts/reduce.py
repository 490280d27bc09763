"""Many bars per pixel column: what is drawn is reduced to one bucket per column.

When a window has more bars than the plot has pixel columns, consecutive
bars are grouped into buckets of ``k = ceil(bars / columns)``; each bucket
is drawn as one column: lines as their lowest and highest value in the
bucket (in the order they occur, so the line still passes through both),
the high-low band as the bucket's lowest low and highest high, and bars as
the bucket's largest value of each colour. On screen this is what drawing
every bar would show, since a column cannot show more than one value range,
but the paths stay at a few points per column: matplotlib's Agg renderer
refuses paths of millions of vertices ("Exceeded cell block limit") and
draws slowly long before that. Below one bar per column nothing is reduced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Buckets:
    """Bars ``0..n-1`` grouped ``size`` at a time; bucket ``b`` is drawn at the centre of its bars."""

    n: int
    size: int

    @staticmethod
    def for_columns(n: int, columns: float) -> Buckets:
        """One bar per bucket up to one bar per column, else as few bars per bucket as fit the columns."""
        size = 1 if n <= columns else math.ceil(n / max(columns, 1.0))
        return Buckets(n, size)

    @property
    def reduced(self) -> bool:
        """Whether buckets hold more than one bar."""
        return self.size > 1

    @property
    def centres(self) -> FloatArray:
        """Each bucket's x: the middle of its first and last bar."""
        first = np.arange(0, self.n, self.size, dtype=np.float64)
        last = np.minimum(first + self.size - 1, self.n - 1)
        return (first + last) / 2.0

    @property
    def edges(self) -> FloatArray:
        """Each bucket's left and right edge, interleaved: left0, right0, left1, right1, ..."""
        first = np.arange(0, self.n, self.size, dtype=np.float64)
        last = np.minimum(first + self.size - 1, self.n - 1)
        return np.column_stack((first - 0.5, last + 0.5)).ravel()

    def _grid(self, values: FloatArray, fill: float) -> FloatArray:
        """``values`` padded with ``fill`` and shaped (buckets, size)."""
        buckets = -(-self.n // self.size)
        padded = np.full(buckets * self.size, fill)
        padded[: self.n] = values
        return padded.reshape(buckets, self.size)

    def lowest(self, values: FloatArray) -> FloatArray:
        """Each bucket's least finite value (NaN for a bucket without one)."""
        grid = self._grid(np.where(np.isfinite(values), values, np.inf), np.inf)
        low = grid.min(axis=1)
        return np.where(np.isfinite(low), low, np.nan)

    def highest(self, values: FloatArray) -> FloatArray:
        """Each bucket's greatest finite value (NaN for a bucket without one)."""
        grid = self._grid(np.where(np.isfinite(values), values, -np.inf), -np.inf)
        high = grid.max(axis=1)
        return np.where(np.isfinite(high), high, np.nan)

    def line(self, x: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """A line's points: every bar, or each bucket's low and high in the order they occur."""
        if not self.reduced:
            return x, values
        low_grid = self._grid(np.where(np.isfinite(values), values, np.inf), np.inf)
        high_grid = self._grid(np.where(np.isfinite(values), values, -np.inf), -np.inf)
        low_at, high_at = low_grid.argmin(axis=1), high_grid.argmax(axis=1)
        low, high = self.lowest(values), self.highest(values)
        first = np.where(low_at <= high_at, low, high)
        second = np.where(low_at <= high_at, high, low)
        centres = self.centres
        return np.repeat(centres, 2), np.column_stack((first, second)).ravel()

    def closed_up(self, open_: FloatArray, close: FloatArray) -> BoolArray:
        """Whether each bucket, as one bar, closed at or above its open (last finite close against first open)."""
        return np.asarray(~(self._pick(close, last=True) < self._pick(open_, last=False)), dtype=bool)

    def _pick(self, values: FloatArray, last: bool) -> FloatArray:
        """Each bucket's first or last finite value; NaN where it has none."""
        grid = self._grid(values, np.nan)
        finite = np.isfinite(grid)
        index = grid.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1) if last else np.argmax(finite, axis=1)
        return np.where(finite.any(axis=1), grid[np.arange(len(grid)), index], np.nan)

    def bars(self, values: FloatArray, mask: BoolArray) -> FloatArray:
        """Each bucket's largest value among the bars where ``mask`` holds (0 where none does)."""
        chosen = np.where(mask & np.isfinite(values), values, 0.0)
        if not self.reduced:
            return chosen
        return np.asarray(self._grid(chosen, 0.0).max(axis=1), dtype=np.float64)

    def negative_bars(self, values: FloatArray, mask: BoolArray) -> FloatArray:
        """Each bucket's most negative value among the bars where ``mask`` holds (0 where none does)."""
        chosen = np.where(mask & np.isfinite(values), values, 0.0)
        if not self.reduced:
            return chosen
        return np.asarray(self._grid(chosen, 0.0).min(axis=1), dtype=np.float64)
