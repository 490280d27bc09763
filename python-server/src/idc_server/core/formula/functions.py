"""The formula functions: one declaration each, with its NumPy implementation and semantics.

``@function(name, *arguments, boolean=..., warm_up=..., windowed=...)`` over
an implementation registers it in ``FUNCTIONS``; the compiler checks calls
against the declaration (arity, which arguments must be constant periods and
their lowest value) and the evaluator calls the implementation with one
float64 array per series argument and an ``int`` per period argument. Every
implementation is pure, returns a new float64 array of the input length,
and leaves NaN ("no value") where 通达信 shows nothing. Each docstring is the
function's documented semantics (docs/formula-language.md repeats them with
where ports disagree).

Conventions shared by all functions:

- Truth: a value is true when it is neither 0 nor NaN; boolean results are
  1.0 or 0.0.
- Full windows: MA, SUM, STD, STDP, AVEDEV, WMA, SLOPE, FORCAST, COUNT,
  EVERY and EXIST need ``N`` bars with values; earlier bars are NaN.
  HHV, LLV, HHVBARS and LLVBARS use the bars available so far (通达信),
  so they have values from the first bar.
- Recursive averages (EMA, SMA, DMA) start at the first value of X (seeded
  with it); a later bar where X is NaN has no value, and the average
  carries over it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
Kind = Literal["series", "period", "constant"]
WarmUp = Callable[[Sequence[int | None], Sequence[float]], int | None]
Check = Callable[[Sequence[float]], str | None]

# Rows x window float64 cells reduced at once by the windowed functions (bounds memory).
_WINDOW_CELLS: Final = 1 << 18


@dataclass(frozen=True, slots=True)
class Argument:
    """One argument of a function.

    ``series``: any expression. ``period``: a constant whole number of bars,
    at least ``minimum`` (0 means "from the first bar" where allowed).
    ``constant``: a constant number (SMA's weight M).
    """

    name: str
    kind: Kind = "series"
    minimum: int = 1


@dataclass(frozen=True, slots=True)
class Function:
    """A declared formula function."""

    name: str
    arguments: tuple[Argument, ...]
    implementation: Callable[..., Array]
    boolean: bool  # its result is a signal (0/1)
    warm_up: WarmUp  # first bar with a value, from the arguments' own warm-ups and constant values
    windowed: bool  # its work grows with its period (bars x period cells)
    doc: str
    check: Check | None = None  # a rule on its constant arguments' values beyond their minimum

    @property
    def signature(self) -> str:
        """``MA(X, N)``."""
        return f"{self.name}({', '.join(argument.name for argument in self.arguments)})"


FUNCTIONS: dict[str, Function] = {}


def period(name: str, minimum: int = 1) -> Argument:
    """A constant period argument of at least ``minimum`` bars."""
    return Argument(name, "period", minimum)


def function(
    name: str,
    *arguments: str | Argument,
    warm_up: WarmUp,
    boolean: bool = False,
    windowed: bool = False,
    check: Check | None = None,
) -> Callable[[Callable[..., Array]], Callable[..., Array]]:
    """Register ``implementation`` as the formula function ``name``."""
    declared = tuple(Argument(argument) if isinstance(argument, str) else argument for argument in arguments)

    def register(implementation: Callable[..., Array]) -> Callable[..., Array]:
        doc = " ".join((implementation.__doc__ or "").split())
        FUNCTIONS[name] = Function(name, declared, implementation, boolean, warm_up, windowed, doc, check)
        return implementation

    return register


# --- warm-up rules ----------------------------------------------------------------


def _latest(warm_ups: Sequence[int | None]) -> int | None:
    return None if any(w is None for w in warm_ups) else max((w for w in warm_ups if w is not None), default=0)


def same(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """Values from where all series arguments have them."""
    return _latest(warm_ups)


def first_bar(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """A value at every bar (booleans and counters that treat no value as false)."""
    return 0


def unknown(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """Depends on the data (BARSLAST, VALUEWHEN): not derivable."""
    return None


def window(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """A full window of ``N`` values after the argument's first one (N = 0: from it)."""
    first = _latest(warm_ups)
    return None if first is None else first + max(int(constants[0]) - 1, 0)


def window_of_bars(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """A full window of ``N`` bars (its argument is valid from bar 0 by construction)."""
    return max(int(constants[0]) - 1, 0)


def shifted(warm_ups: Sequence[int | None], constants: Sequence[float]) -> int | None:
    """``N`` bars after the argument's first value."""
    first = _latest(warm_ups)
    return None if first is None else first + int(constants[0])


# --- shared helpers -----------------------------------------------------------------


def truth(values: Array) -> Array:
    """1.0 where ``values`` is neither 0 nor NaN, else 0.0."""
    flags: Array = ((values != 0.0) & ~np.isnan(values)).astype(np.float64)
    return flags


def _series(values: Any) -> pd.Series:
    return pd.Series(values, dtype="float64", copy=False)


def _out(values: Any) -> Array:
    """A float64 array with every non-finite value (inf, -inf) turned into NaN."""
    result = np.array(values, dtype=np.float64)
    result[~np.isfinite(result)] = np.nan
    return result


def _windows(values: Array, n: int, reduce: Callable[[Array], Array]) -> Array:
    """``reduce`` over each full window of ``n`` values (rows of a 2-D view), in chunks; NaN before."""
    out = np.full(len(values), np.nan)
    if n > len(values):
        return out
    view = np.lib.stride_tricks.sliding_window_view(values, n)
    rows = max(1, _WINDOW_CELLS // n)
    for first in range(0, len(view), rows):
        out[n - 1 + first : n - 1 + first + rows] = reduce(view[first : first + rows])
    return out


def _smoothed(values: Array, alpha: float) -> Array:
    """``y = alpha * x + (1 - alpha) * y'`` seeded with the first value of ``x``, for 0 < alpha <= 1.

    pandas' ``ewm(alpha, adjust=False, ignore_na=True)``: a bar where ``x`` is
    NaN has no value and leaves ``y'`` as it was.
    """
    missing = np.isnan(values)
    out = np.full(len(values), np.nan)
    if missing.all():
        return out
    start = int(np.argmin(missing))
    out[start:] = _series(values[start:]).ewm(alpha=alpha, adjust=False, ignore_na=True).mean()
    if missing[start:].any():
        out[missing] = np.nan
    return out


def _recursive(values: Array, alpha: Array) -> Array:
    """``y = alpha * x + (1 - alpha) * y'`` with a factor per bar, seeded with the first value of ``x``.

    A bar where ``x`` is NaN, or ``alpha`` is NaN or outside (0, 1], has no
    value and leaves ``y'`` as it was. One usable factor for every bar is
    ``_smoothed``; otherwise a tight loop.
    """
    usable = ~np.isnan(values) & (alpha > 0.0) & (alpha <= 1.0)
    if len(values) and np.all(alpha == alpha[0]) and usable[~np.isnan(values)].all():
        return _smoothed(values, float(alpha[0]))
    result = [np.nan] * len(values)
    previous = np.nan
    for index, (x, a, ok) in enumerate(zip(values.tolist(), alpha.tolist(), usable.tolist(), strict=True)):
        if ok:
            previous = x if previous != previous else a * x + (1.0 - a) * previous  # NaN != NaN: the seed
            result[index] = previous
    return np.array(result, dtype=np.float64)


def _extreme_bars(values: Array, n: int, highest: bool) -> Array:
    """Bars since the highest (lowest) value over the last ``n`` bars so far; the latest on ties."""
    signed = values if highest else -values
    filled = np.where(np.isnan(signed), -np.inf, signed)
    if n == 0:
        running = np.maximum.accumulate(filled)
        positions = np.arange(len(values))
        latest = np.maximum.accumulate(np.where(filled == running, positions, -1))
        out = (positions - latest).astype(np.float64)
    else:
        padded = np.concatenate([np.full(n - 1, -np.inf), filled])
        out = _windows(padded, n, lambda rows: np.argmax(rows[:, ::-1], axis=1).astype(np.float64))[n - 1 :]
        running = _series(filled).rolling(n, min_periods=1).max().to_numpy()
    out[running == -np.inf] = np.nan  # no value so far in the window
    return out


def _count(values: Array, n: int) -> Array:
    flags = _series(truth(values))
    return (flags.cumsum() if n == 0 else flags.rolling(n).sum()).to_numpy(dtype=np.float64)


# --- averages -------------------------------------------------------------------------


@function("MA", "X", period("N"), warm_up=window)
def ma(x: Array, n: int) -> Array:
    """Simple moving average: the mean of the last N values; NaN until N values exist."""
    return _out(_series(x).rolling(n).mean())


@function("EMA", "X", period("N"), warm_up=same)
def ema(x: Array, n: int) -> Array:
    """Exponential average Y = (2*X + (N-1)*Y') / (N+1), seeded with the first value of X (通达信)."""
    return _smoothed(x, 2.0 / (n + 1))


def _weight_within_period(constants: Sequence[float]) -> str | None:
    n, m = constants
    return None if 0.0 < m <= n else f"M must be above 0 and at most N ({n:g}), got {m:g}"


@function("SMA", "X", period("N"), Argument("M", "constant"), warm_up=same, check=_weight_within_period)
def sma(x: Array, n: int, m: float) -> Array:
    """通达信 SMA: Y = (M*X + (N-M)*Y') / N, seeded with the first value of X; needs 0 < M <= N."""
    return _smoothed(x, m / n)


@function("DMA", "X", "A", warm_up=same)
def dma(x: Array, a: Array) -> Array:
    """Dynamic average Y = A*X + (1-A)*Y', seeded with the first value of X; A may vary by bar.

    A bar where A is outside (0, 1] has no value (NaN) and the average carries over it.
    """
    return _recursive(x, a)


@function("WMA", "X", period("N"), warm_up=window, windowed=True)
def wma(x: Array, n: int) -> Array:
    """Weighted average (1*X[t-N+1] + ... + N*X[t]) / (1+...+N); NaN until N values exist."""
    out = np.full(len(x), np.nan)
    if n <= len(x):
        out[n - 1 :] = np.convolve(x, np.arange(n, 0, -1, dtype=np.float64), "valid") / (n * (n + 1) / 2)
    return _out(out)


# --- references and extremes -------------------------------------------------------


@function("REF", "X", period("N", 0), warm_up=shifted)
def ref(x: Array, n: int) -> Array:
    """X N bars ago; NaN on the first N bars. REF(X, 0) is X."""
    out = np.full(len(x), np.nan)
    if n < len(x):
        out[n:] = x[: len(x) - n]
    return out


@function("HHV", "X", period("N", 0), warm_up=same)
def hhv(x: Array, n: int) -> Array:
    """Highest X over the last N bars, over the bars so far while fewer exist; N = 0: since the first bar."""
    series = _series(x)
    return _out((series.expanding() if n == 0 else series.rolling(n, min_periods=1)).max())


@function("LLV", "X", period("N", 0), warm_up=same)
def llv(x: Array, n: int) -> Array:
    """Lowest X over the last N bars, over the bars so far while fewer exist; N = 0: since the first bar."""
    series = _series(x)
    return _out((series.expanding() if n == 0 else series.rolling(n, min_periods=1)).min())


@function("HHVBARS", "X", period("N", 0), warm_up=same, windowed=True)
def hhvbars(x: Array, n: int) -> Array:
    """Bars since the highest X of the last N bars (0 on that bar; the latest one on ties); windows as HHV."""
    return _extreme_bars(x, n, highest=True)


@function("LLVBARS", "X", period("N", 0), warm_up=same, windowed=True)
def llvbars(x: Array, n: int) -> Array:
    """Bars since the lowest X of the last N bars (0 on that bar; the latest one on ties); windows as LLV."""
    return _extreme_bars(x, n, highest=False)


# --- statistics ---------------------------------------------------------------------


def _deviation(x: Array, n: int, ddof: int) -> Array:
    out = _windows(x, n, lambda rows: rows.std(axis=1, ddof=ddof))
    if n <= len(x):
        rolling = _series(x).rolling(n)
        out[(rolling.max() == rolling.min()).to_numpy()] = 0.0  # equal values: exactly 0, not a few ulps
    return _out(out)


@function("STD", "X", period("N", 2), warm_up=window, windowed=True)
def std(x: Array, n: int) -> Array:
    """Sample standard deviation (divides by N-1) of the last N values (通达信 估算标准差)."""
    return _deviation(x, n, 1)


@function("STDP", "X", period("N"), warm_up=window, windowed=True)
def stdp(x: Array, n: int) -> Array:
    """Population standard deviation (divides by N) of the last N values (通达信 总体标准差)."""
    return _deviation(x, n, 0)


@function("AVEDEV", "X", period("N"), warm_up=window, windowed=True)
def avedev(x: Array, n: int) -> Array:
    """Mean absolute deviation of the last N values from their mean."""
    return _out(_windows(x, n, lambda rows: np.abs(rows - rows.mean(axis=1, keepdims=True)).mean(axis=1)))


def _slope_rows(rows: Array) -> Array:
    n = rows.shape[1]
    centred = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    result: Array = rows @ centred / float(centred @ centred)
    return result


@function("SLOPE", "X", period("N", 2), warm_up=window, windowed=True)
def slope(x: Array, n: int) -> Array:
    """Least-squares slope of the last N values against their bar number, per bar."""
    return _out(_windows(x, n, _slope_rows))


@function("FORCAST", "X", period("N", 2), warm_up=window, windowed=True)
def forcast(x: Array, n: int) -> Array:
    """The least-squares line of the last N values, at the current bar (its mean + slope * (N-1)/2)."""
    return _out(_windows(x, n, lambda rows: rows.mean(axis=1) + _slope_rows(rows) * (n - 1) / 2.0))


@function("SUM", "X", period("N", 0), warm_up=window)
def total(x: Array, n: int) -> Array:
    """Sum of the last N values; N = 0: the running sum from the first value (NaN bars stay NaN)."""
    series = _series(x)
    return _out(series.cumsum() if n == 0 else series.rolling(n).sum())


# --- conditions ---------------------------------------------------------------------


@function("COUNT", "X", period("N", 0), warm_up=window_of_bars)
def count(x: Array, n: int) -> Array:
    """How many of the last N bars have X true; N = 0: since the first bar. NaN until N bars exist."""
    return _count(x, n)


@function("EVERY", "X", period("N"), warm_up=window_of_bars, boolean=True)
def every(x: Array, n: int) -> Array:
    """1 when X is true on each of the last N bars, else 0; NaN until N bars exist."""
    counted = _count(x, n)
    return np.where(np.isnan(counted), np.nan, (counted == n).astype(np.float64))


@function("EXIST", "X", period("N"), warm_up=window_of_bars, boolean=True)
def exist(x: Array, n: int) -> Array:
    """1 when X is true on at least one of the last N bars, else 0; NaN until N bars exist."""
    counted = _count(x, n)
    return np.where(np.isnan(counted), np.nan, (counted > 0).astype(np.float64))


@function("IF", "COND", "A", "B", warm_up=lambda w, c: _latest(w[1:]))
def if_(condition: Array, a: Array, b: Array) -> Array:
    """A where COND is true, else B (B also where COND has no value)."""
    return np.where(truth(condition) == 1.0, a, b)


@function("CROSS", "A", "B", warm_up=first_bar, boolean=True)
def cross(a: Array, b: Array) -> Array:
    """1 when A goes above B: A > B now, and A <= B on the bar before (touching counts as below).

    0 on the first bar and where the bar before has no value of A or B.
    """
    out = np.zeros(len(a))
    if len(a) > 1:
        before = (a[:-1] <= b[:-1]) & ~np.isnan(a[:-1]) & ~np.isnan(b[:-1])
        out[1:] = (before & (a[1:] > b[1:])).astype(np.float64)
    return out


@function("BARSLAST", "X", warm_up=unknown)
def barslast(x: Array) -> Array:
    """Bars since X was last true (0 on such a bar); NaN before X is first true."""
    positions = np.arange(len(x))
    latest = np.maximum.accumulate(np.where(truth(x) == 1.0, positions, -1)) if len(x) else positions
    return np.where(latest < 0, np.nan, positions - latest).astype(np.float64)


@function("BARSLASTCOUNT", "X", warm_up=first_bar)
def barslastcount(x: Array) -> Array:
    """How many bars in a row, ending at this one, have X true (0 where X is not true)."""
    flags = truth(x)
    running = np.cumsum(flags)
    return running - np.maximum.accumulate(np.where(flags == 0.0, running, 0.0))


@function("VALUEWHEN", "COND", "X", warm_up=unknown)
def valuewhen(condition: Array, x: Array) -> Array:
    """X on the last bar where COND was true (that bar included); NaN before COND is first true."""
    positions = np.arange(len(x))
    latest = np.maximum.accumulate(np.where(truth(condition) == 1.0, positions, -1)) if len(x) else positions
    return np.where(latest < 0, np.nan, x[np.maximum(latest, 0)])


# --- arithmetic ---------------------------------------------------------------------


@function("ABS", "X", warm_up=same)
def absolute(x: Array) -> Array:
    """|X|."""
    return np.abs(x)


@function("MAX", "A", "B", warm_up=same)
def maximum(a: Array, b: Array) -> Array:
    """The larger of A and B (NaN if either has no value)."""
    return np.maximum(a, b)


@function("MIN", "A", "B", warm_up=same)
def minimum(a: Array, b: Array) -> Array:
    """The smaller of A and B (NaN if either has no value)."""
    return np.minimum(a, b)


@function("POW", "A", "B", warm_up=same)
def power(a: Array, b: Array) -> Array:
    """A to the power B; NaN where undefined (a negative A to a fractional B) or too large."""
    with np.errstate(all="ignore"):
        return _out(np.power(a, b))


@function("SQRT", "X", warm_up=same)
def square_root(x: Array) -> Array:
    """Square root; NaN for a negative X."""
    with np.errstate(all="ignore"):
        return _out(np.sqrt(x))


@function("LN", "X", warm_up=same)
def natural_log(x: Array) -> Array:
    """Natural logarithm; NaN for X <= 0."""
    with np.errstate(all="ignore"):
        return _out(np.log(x))


@function("LOG", "X", warm_up=same)
def log10(x: Array) -> Array:
    """Base-10 logarithm; NaN for X <= 0."""
    with np.errstate(all="ignore"):
        return _out(np.log10(x))


@function("EXP", "X", warm_up=same)
def exponential(x: Array) -> Array:
    """e to the power X; NaN where it overflows."""
    with np.errstate(all="ignore"):
        return _out(np.exp(x))


@function("ROUND", "X", warm_up=same)
def round_half_away(x: Array) -> Array:
    """X rounded to a whole number, halves away from zero (2.5 -> 3, -2.5 -> -3)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


@function("SIGN", "X", warm_up=same)
def sign(x: Array) -> Array:
    """1 for X > 0, -1 for X < 0, 0 for 0."""
    return np.sign(x)
