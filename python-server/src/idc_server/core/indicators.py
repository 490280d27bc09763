"""Technical indicators on bars frames, under TA-Lib or 通达信 (TDX) conventions.

Every indicator is one registered function: ``@indicator(name, Parameters,
outputs, ...)`` over a compute function ``(bars, parameters, convention) ->
DataFrame``, declaring the bar columns it reads, its outputs' kinds and its
lookback. Each parameter field declares its range (``period_field``), checked
by ``check_fields``. The registry is what the API layer serves and what the
catalogue lists as ``idc.*`` entries, so adding an indicator means one
parameters dataclass, one function here, and one proto ``oneof`` member with
the same name and field names.

Compute functions are pure: they never mutate their inputs. They take a
whole bars frame (see ``idc_server.core.data``) and return a frame on the same
index with one float64 column per output, NaN on warm-up bars that have no
value yet.

Conventions:

- ``Convention.TALIB`` matches TA-Lib (``talib``) at every bar, including
  where its values start (NaN exactly where talib has NaN): within 1e-9 for
  percent outputs, and within 1e-9 of the price level for price outputs.
  What remains is float rounding: talib's running sums and EMA recursion
  round differently from pandas (about 1e-9 apart at a price of 1e5; talib's
  BBANDS variance drifts further, 2e-8 from the exact value at 1.5e4 after
  600 bars). Exponential averages are seeded with the simple average of
  their first window, so a series starts after warm-up bars: SMA, EMA and
  Bollinger at bar ``period - 1``, MACD at ``(slow - 1) + (signal - 1)``
  (33 for 12/26/9), RSI at ``period``, KDJ at ``period - 1``.
- ``Convention.TDX`` follows 通达信 and 同花顺: exponential averages are seeded
  with the first value and HHV/LLV use the bars available so far, so values
  start at bar 0 (RSI at bar 1: it needs a previous close). SMA and
  Bollinger are windowed in both conventions and start at ``period - 1``.

Units: price units for SMA, EMA, MACD and Bollinger; percent (0-100 for RSI,
K and D; J may leave that range) for RSI and KDJ.

All periods must be at most the number of bars (RSI: less than it); a longer
period gets an InvalidArgumentError naming the parameter field. Bars must
not contain NaN (the data loader guarantees it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from idc_server.core.errors import InvalidArgumentError

MAX_PERIOD = 1000


class Convention(enum.Enum):
    """Whose formulas to follow."""

    TALIB = "talib"  # TA-Lib: EMAs seeded with a simple average; warm-up bars have no value
    TDX = "tdx"  # 通达信/同花顺: EMAs seeded with the first value; values from bar 0


class StdDev(enum.Enum):
    """Population (ddof 0) or sample (ddof 1) standard deviation."""

    POPULATION = 0
    SAMPLE = 1


class KDJSeed(enum.Enum):
    """The value K and D start from."""

    FIFTY = "fifty"
    FIRST_RSV = "first_rsv"


def check_period(field: str, value: int, low: int = 1) -> None:
    """InvalidArgumentError unless ``low <= value <= MAX_PERIOD``."""
    if not low <= value <= MAX_PERIOD:
        raise InvalidArgumentError(field, f"must be between {low} and {MAX_PERIOD}, got {value}")


def period_field(default: int, doc: str, low: int = 1) -> Any:
    """A period parameter of ``low`` to ``MAX_PERIOD`` bars (its range is in the field's metadata)."""
    return field(default=default, metadata={"doc": doc, "minimum": low, "maximum": MAX_PERIOD})


def check_fields(parameters: Any) -> None:
    """Check each field against the range in its metadata; InvalidArgumentError naming the field.

    Periods must lie in ``[minimum, maximum]``; a field whose metadata says
    ``above`` must lie in ``(above, maximum]`` and be finite.
    """
    for item in fields(parameters):
        value = getattr(parameters, item.name)
        if "minimum" in item.metadata:
            check_period(item.name, value, item.metadata["minimum"])
        elif "above" in item.metadata:
            low, high = item.metadata["above"], item.metadata["maximum"]
            if not (low < value <= high and np.isfinite(value)):
                raise InvalidArgumentError(item.name, f"must be above {low:g} and at most {high:g}, got {value}")


@dataclass(frozen=True, slots=True)
class SMAParameters:
    """Simple moving average of the close over ``period`` bars."""

    period: int = period_field(20, "bars in the window")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class EMAParameters:
    """Exponential moving average of the close, alpha = 2 / (period + 1)."""

    period: int = period_field(20, "span in bars: alpha = 2 / (period + 1)")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class MACDParameters:
    """The three MACD spans, in bars."""

    fast_period: int = period_field(12, "span of the fast EMA, in bars; less than slow_period")
    slow_period: int = period_field(26, "span of the slow EMA, in bars")
    signal_period: int = period_field(9, "span of the signal EMA of the MACD line, in bars")

    def __post_init__(self) -> None:
        check_fields(self)
        if self.fast_period >= self.slow_period:
            raise InvalidArgumentError(
                "fast_period", f"must be less than slow_period ({self.slow_period}), got {self.fast_period}"
            )


@dataclass(frozen=True, slots=True)
class RSIParameters:
    """Relative strength index of the close, Wilder smoothing, in percent."""

    period: int = period_field(14, "Wilder smoothing period, in bars")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class BollingerParameters:
    """Bollinger Bands: SMA(period) +/- k standard deviations.

    ``std_dev`` None means the convention's own: population for TALIB,
    sample for TDX.
    """

    period: int = period_field(20, "bars in the window", low=2)
    k: float = field(default=2.0, metadata={"doc": "band width in standard deviations", "above": 0.0, "maximum": 10.0})
    std_dev: StdDev | None = field(default=None, metadata={"doc": "population or sample; unset: the convention's"})

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, slots=True)
class KDJParameters:
    """KDJ stochastic oscillator: RSV over ``period``, K and D smoothed, J = 3K - 2D."""

    period: int = period_field(9, "bars of the RSV's highest high and lowest low")
    k_period: int = period_field(3, "smoothing of K: K = ((k_period - 1) * K' + RSV) / k_period")
    d_period: int = period_field(3, "smoothing of D: D = ((d_period - 1) * D' + K) / d_period")
    seed: KDJSeed = field(default=KDJSeed.FIFTY, metadata={"doc": "what K and D start from"})

    def __post_init__(self) -> None:
        check_fields(self)


P = TypeVar("P")
Compute = Callable[[pd.DataFrame, Any, Convention], pd.DataFrame]
Lookback = Callable[[Any, Convention], int]


@dataclass(frozen=True, slots=True)
class Indicator:
    """A registered indicator: its parameters type, output names and function.

    ``inputs`` are the bar columns it reads; ``kinds`` say what each output
    is (``OutputKind`` values of the catalogue: "price" for a price level,
    "percent", "unitless"); ``lookback(parameters, convention)`` is how
    many leading bars have no value. A one-output indicator's series is named
    by its label alone; others are ``label.output``.
    """

    name: str
    parameters: type
    outputs: tuple[str, ...]
    compute: Compute
    inputs: tuple[str, ...]
    kinds: tuple[str, ...]
    lookback: Lookback

    def parameter_names(self) -> tuple[str, ...]:
        """The parameters dataclass's field names (the proto message's field names)."""
        return tuple(field.name for field in fields(self.parameters))

    def series_names(self, label: str) -> list[str]:
        """The names of this indicator's output series under ``label``."""
        if len(self.outputs) == 1:
            return [label]
        return [f"{label}.{output}" for output in self.outputs]

    def __reduce__(self) -> tuple[Callable[[str], Indicator], tuple[str]]:
        # Pickled by name, as render workers receive it: its functions are the registry's.
        return (registered, (self.name,))


INDICATORS: dict[str, Indicator] = {}


def registered(name: str) -> Indicator:
    """The registered indicator called ``name`` (how a pickled Indicator is found again)."""
    return INDICATORS[name]


def indicator(
    name: str,
    parameters: type[P],
    outputs: tuple[str, ...],
    *,
    kinds: tuple[str, ...],
    lookback: Lookback,
    inputs: tuple[str, ...] = ("close",),
) -> Callable[[Compute], Compute]:
    """Register a compute function under ``name`` (the proto oneof member's name)."""

    def register(compute: Compute) -> Compute:
        INDICATORS[name] = Indicator(name, parameters, outputs, compute, inputs, kinds, lookback)
        return compute

    return register


def require_bars(bars: pd.DataFrame, field: str, needed: int) -> None:
    """InvalidArgumentError when the series has fewer than ``needed`` bars."""
    if len(bars) < needed:
        raise InvalidArgumentError(field, f"needs at least {needed} bars, but the series has {len(bars)}")


# --- shared building blocks ---------------------------------------------------

# Rows x period float64 cells handled at once by the windowed standard deviation.
_WINDOW_CELLS = 1 << 18


def _recursive_average(values: np.ndarray, alpha: float, start: int, first: float) -> np.ndarray:
    """``y[start] = first``, ``y[i] = y[i-1] + alpha * (x[i] - y[i-1])`` after it; NaN before.

    The recursion of every exponential average here (EMA, Wilder smoothing,
    通达信 SMA(X, N, M) with alpha = M / N), vectorised by pandas.
    """
    out = np.full(len(values), np.nan)
    if start < len(values):
        tail = np.array(values[start:], dtype="float64")  # a copy: the caller's array is never written
        tail[0] = first
        out[start:] = pd.Series(tail).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def _seeded_average(values: np.ndarray, alpha: float, seed_end: int, seed_length: int) -> np.ndarray:
    """The recursion seeded at ``seed_end`` with the mean of the ``seed_length`` values ending there.

    TA-Lib's seed; with ``seed_length`` 1 it is 通达信's (the value itself).
    """
    if seed_end >= len(values):
        return np.full(len(values), np.nan)
    seed = float(np.mean(values[seed_end - seed_length + 1 : seed_end + 1]))
    return _recursive_average(values, alpha, seed_end, seed)


def _ema(values: np.ndarray, period: int, convention: Convention, start: int = 0) -> np.ndarray:
    """EMA with alpha 2 / (period + 1) of ``values[start:]`` (NaN before ``start``).

    TALIB: seeded with the mean of the first ``period`` values, first value at
    ``start + period - 1``. TDX: seeded with ``values[start]``, first value there.
    """
    alpha = 2.0 / (period + 1)
    if convention is Convention.TALIB:
        return _seeded_average(values, alpha, start + period - 1, period)
    return _seeded_average(values, alpha, start, 1)


def ema(values: pd.Series, period: int, convention: Convention) -> pd.Series:
    """Exponential moving average of ``values`` with alpha = 2 / (period + 1), same index.

    - TALIB (talib.EMA): the first value, at position ``period - 1``, is the
      mean of the first ``period`` values; earlier positions are NaN.
    - TDX (通达信 EMA, pandas ``ewm(span=period, adjust=False)``): seeded with
      the first value, values from position 0.
    """
    check_period("period", period)
    result = _ema(values.to_numpy(dtype="float64"), period, convention)
    return pd.Series(result, index=values.index, name=values.name, dtype="float64")


def _rolling_mean(values: pd.Series, period: int) -> np.ndarray:
    """Mean of each full window of ``period`` values; NaN for the first ``period - 1``."""
    return values.rolling(period).mean().to_numpy(dtype="float64")


def _rolling_std(values: np.ndarray, period: int, ddof: int) -> np.ndarray:
    """Standard deviation of each full window (two-pass, per window); NaN for the first ``period - 1``.

    A running-sum variance (pandas ``rolling().std()``, TA-Lib) drifts over a
    long series: at price 1e5 after 20,000 bars pandas is off by 2e-7. Each
    window here is reduced on its own, in chunks to bound memory, so the error
    stays at a few ulps. A window whose values are all equal has exactly 0.
    """
    out = np.full(len(values), np.nan)
    if len(values) < period:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, period)
    rows = max(1, _WINDOW_CELLS // period)
    for first in range(0, len(windows), rows):
        out[period - 1 + first : period - 1 + first + rows] = windows[first : first + rows].std(axis=1, ddof=ddof)
    rolling = pd.Series(values).rolling(period)
    out[(rolling.max() == rolling.min()).to_numpy()] = 0.0  # not a few ulps from the rounded mean
    return out


def _frame(bars: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The output frame: ``columns`` in order, on the bars' index, float64."""
    return pd.DataFrame(columns, index=bars.index, dtype="float64")


def _close(bars: pd.DataFrame) -> np.ndarray:
    """The close as a float64 array (read only by convention: never written)."""
    return bars["close"].to_numpy(dtype="float64")


# --- indicators ---------------------------------------------------------------


def _talib_or_tdx(talib: int, tdx: int, convention: Convention) -> int:
    return talib if convention is Convention.TALIB else tdx


@indicator("sma", SMAParameters, ("sma",), kinds=("price",), lookback=lambda p, c: p.period - 1)
def compute_sma(bars: pd.DataFrame, parameters: SMAParameters, convention: Convention) -> pd.DataFrame:
    """Simple moving average of the close (talib.SMA, 通达信 MA), price units.

    ``sma[t] = mean(close[t - period + 1 .. t])``; the same under both
    conventions, first value at bar ``period - 1``. Needs ``period`` bars.
    """
    require_bars(bars, "period", parameters.period)
    return _frame(bars, {"sma": _rolling_mean(bars["close"], parameters.period)})


@indicator("ema", EMAParameters, ("ema",), kinds=("price",), lookback=lambda p, c: _talib_or_tdx(p.period - 1, 0, c))
def compute_ema(bars: pd.DataFrame, parameters: EMAParameters, convention: Convention) -> pd.DataFrame:
    """Exponential moving average of the close, alpha = 2 / (period + 1), price units.

    ``ema[t] = ema[t-1] + alpha * (close[t] - ema[t-1])``, seeded:

    - TALIB (talib.EMA): ``ema[period-1] = mean(close[0 .. period-1])``; first
      value at bar ``period - 1``.
    - TDX (通达信 EMA): ``ema[0] = close[0]``; values from bar 0.

    Needs ``period`` bars under both conventions.
    """
    require_bars(bars, "period", parameters.period)
    return _frame(bars, {"ema": _ema(_close(bars), parameters.period, convention)})


@indicator(
    "macd",
    MACDParameters,
    ("macd", "signal", "histogram"),
    kinds=("unitless",) * 3,  # price differences, drawn in a panel of their own
    lookback=lambda p, c: _talib_or_tdx(p.slow_period - 1 + p.signal_period - 1, 0, c),
)
def compute_macd(bars: pd.DataFrame, parameters: MACDParameters, convention: Convention) -> pd.DataFrame:
    """MACD of the close (talib.MACD; 通达信 DIF, DEA, MACD), price units.

    macd = EMA(fast) - EMA(slow); signal = EMA(signal) of macd.

    - TALIB (talib.MACD): both EMAs are seeded at bar ``slow - 1`` with the
      mean of the closes in their window ending there (12/26/9: the fast seed
      is the mean of closes 14..25, the slow one of closes 0..25). The signal
      EMA is seeded with the mean of the first ``signal`` macd values. All
      three outputs start at bar ``(slow - 1) + (signal - 1)`` (33 for
      12/26/9); histogram = macd - signal.
    - TDX (通达信 MACD): DIF = EMA(C, fast) - EMA(C, slow) and DEA =
      EMA(DIF, signal), all seeded with their first value, so values start at
      bar 0 (DIF = DEA = 0 there); histogram is the MACD bar = 2 * (DIF - DEA).

    Needs ``slow_period`` bars under both conventions.
    """
    fast, slow, signal_period = parameters.fast_period, parameters.slow_period, parameters.signal_period
    require_bars(bars, "slow_period", slow)
    close = _close(bars)
    if convention is Convention.TALIB:
        start = slow - 1  # both EMAs are seeded here, the fast one with its last `fast` closes
        line = _seeded_average(close, 2.0 / (fast + 1), start, fast) - _seeded_average(
            close, 2.0 / (slow + 1), start, slow
        )
        signal = _ema(line, signal_period, convention, start=start)
        line[: start + signal_period - 1] = np.nan
        histogram = line - signal
    else:
        line = _ema(close, fast, convention) - _ema(close, slow, convention)
        signal = _ema(line, signal_period, convention)
        histogram = 2.0 * (line - signal)
    return _frame(bars, {"macd": line, "signal": signal, "histogram": histogram})


@indicator("rsi", RSIParameters, ("rsi",), kinds=("percent",), lookback=lambda p, c: _talib_or_tdx(p.period, 1, c))
def compute_rsi(bars: pd.DataFrame, parameters: RSIParameters, convention: Convention) -> pd.DataFrame:
    """Relative strength index of the close with Wilder smoothing, in percent (0-100).

    With change = C - LC (LC the previous close), gain = max(change, 0) and
    loss = max(-change, 0), both averaged by ``avg = avg' + (x - avg') / period``:

    - TALIB (talib.RSI): the averages are seeded with the means of the first
      ``period`` gains and losses (bars 1..period), so the first value is at
      bar ``period``. RSI = 100 * avg_gain / (avg_gain + avg_loss), and 0
      where both averages are exactly 0, as TA-Lib does: while no close has
      changed yet. After a change the averages decay but stay positive (no
      threshold), so a later flat stretch keeps the last ratio, as in talib.
    - TDX (通达信 RSI): SMA(MAX(C-LC,0),N,1) / SMA(ABS(C-LC),N,1) * 100, where
      SMA(X,N,1) is seeded with the first X (bar 1): values from bar 1, and 0
      while the denominator is 0 (no change so far).

    Needs ``period + 1`` bars.
    """
    period = parameters.period
    require_bars(bars, "period", period + 1)
    close = _close(bars)
    change = np.empty(len(close))
    change[0] = np.nan
    np.subtract(close[1:], close[:-1], out=change[1:])
    gain = np.maximum(change, 0.0)
    if convention is Convention.TALIB:
        loss = np.maximum(-change, 0.0)
        # Bars 1..period seed the averages at bar period.
        average_gain = _seeded_average(gain, 1.0 / period, period, period)
        total = average_gain + _seeded_average(loss, 1.0 / period, period, period)
    else:
        average_gain = _recursive_average(gain, 1.0 / period, 1, gain[1])
        total = _recursive_average(np.abs(change), 1.0 / period, 1, abs(change[1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = np.where(total == 0.0, 0.0, 100.0 * average_gain / total)
    return _frame(bars, {"rsi": rsi})


@indicator(
    "boll", BollingerParameters, ("upper", "middle", "lower"), kinds=("price",) * 3, lookback=lambda p, c: p.period - 1
)
def compute_boll(bars: pd.DataFrame, parameters: BollingerParameters, convention: Convention) -> pd.DataFrame:
    """Bollinger Bands of the close (talib.BBANDS with matype 0; 通达信 BOLL), price units.

    middle = SMA(C, period); upper/lower = middle +/- k * STD(C, period) over
    the same window. ``std_dev`` None means the convention's own: population
    (ddof 0, as TA-Lib) under TALIB, sample (ddof 1, as 通达信 STD) under TDX.
    First value at bar ``period - 1`` under both conventions; a window of equal
    closes has a standard deviation of exactly 0. Needs ``period`` bars.
    """
    period = parameters.period
    require_bars(bars, "period", period)
    std_dev = parameters.std_dev
    if std_dev is None:
        std_dev = StdDev.POPULATION if convention is Convention.TALIB else StdDev.SAMPLE
    middle = _rolling_mean(bars["close"], period)
    width = parameters.k * _rolling_std(_close(bars), period, std_dev.value)
    return _frame(bars, {"upper": middle + width, "middle": middle, "lower": middle - width})


@indicator(
    "kdj",
    KDJParameters,
    ("k", "d", "j"),
    kinds=("percent",) * 3,
    lookback=lambda p, c: _talib_or_tdx(p.period - 1, 0, c),
    inputs=("high", "low", "close"),
)
def compute_kdj(bars: pd.DataFrame, parameters: KDJParameters, convention: Convention) -> pd.DataFrame:
    """KDJ stochastic oscillator (通达信 KDJ), in percent.

    RSV = (C - LLV(L, period)) / (HHV(H, period) - LLV(L, period)) * 100, and
    50 where HHV = LLV; K = ((k_period - 1) * K' + RSV) / k_period;
    D = ((d_period - 1) * D' + K) / d_period; J = 3K - 2D. K and D lie in
    [0, 100] when closes lie within their bars' range; J may leave it.

    The seed is the K' and D' before the first value: 50 for KDJSeed.FIFTY,
    or the first RSV for KDJSeed.FIRST_RSV (so that K = D = J = RSV on the
    first bar).

    - TALIB (TA-Lib has no KDJ): HHV and LLV only over full windows, so the
      first value is at bar ``period - 1``.
    - TDX (通达信 KDJ): HHV and LLV over the bars available so far, values from
      bar 0.

    Needs ``period`` bars.
    """
    period = parameters.period
    require_bars(bars, "period", period)
    # Over the bars so far until a window is full; TALIB starts at the first full one.
    highest = bars["high"].rolling(period, min_periods=1).max().to_numpy(dtype="float64")
    lowest = bars["low"].rolling(period, min_periods=1).min().to_numpy(dtype="float64")
    spread = highest - lowest
    with np.errstate(divide="ignore", invalid="ignore"):
        rsv = np.where(spread == 0.0, 50.0, (_close(bars) - lowest) / spread * 100.0)
    start = period - 1 if convention is Convention.TALIB else 0
    k_period, d_period = parameters.k_period, parameters.d_period
    first_k = first_d = float(rsv[start])  # FIRST_RSV: K' = D' = RSV, so K = D = RSV on the first bar
    if parameters.seed is KDJSeed.FIFTY:
        first_k = ((k_period - 1) * 50.0 + first_k) / k_period
        first_d = ((d_period - 1) * 50.0 + first_k) / d_period
    k = _recursive_average(rsv, 1.0 / k_period, start, first_k)
    d = _recursive_average(k, 1.0 / d_period, start, first_d)
    return _frame(bars, {"k": k, "d": d, "j": 3.0 * k - 2.0 * d})
