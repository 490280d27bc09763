"""Technical indicators on pandas series. Pure functions: inputs are never mutated."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from idc_server.core.errors import InvalidArgumentError

MAX_PERIOD = 1000


@dataclass(frozen=True, slots=True)
class MACDPeriods:
    """The three MACD spans, in bars. Construction validates them."""

    fast: int = 12
    slow: int = 26
    signal: int = 9

    def __post_init__(self) -> None:
        for field, value in (
            ("fast_period", self.fast),
            ("slow_period", self.slow),
            ("signal_period", self.signal),
        ):
            if not 1 <= value <= MAX_PERIOD:
                raise InvalidArgumentError(field, f"must be between 1 and {MAX_PERIOD}, got {value}")
        if self.fast >= self.slow:
            raise InvalidArgumentError(
                "fast_period",
                f"must be less than slow_period ({self.slow}), got {self.fast}",
            )


DEFAULT_PERIODS = MACDPeriods()


def ema(values: pd.Series, period: int) -> pd.Series:
    """Exponential moving average with alpha = 2/(period+1), seeded with the first value.

    This is pandas ``ewm(span=period, adjust=False)``, the 通达信 ``EMA`` convention.
    """
    return values.ewm(span=period, adjust=False).mean()


def macd(close: pd.Series, periods: MACDPeriods = DEFAULT_PERIODS) -> pd.DataFrame:
    """MACD of a close series.

    Returns a frame on the same index with float64 columns ``macd``
    (EMA fast - EMA slow), ``signal`` (EMA of macd) and ``histogram``
    (macd - signal). Every row has a value, starting from the first bar.
    """
    line = ema(close, periods.fast) - ema(close, periods.slow)
    signal = ema(line, periods.signal)
    return pd.DataFrame({"macd": line, "signal": signal, "histogram": line - signal})
