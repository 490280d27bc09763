"""An analyst's indicators for idc, in one file: each a typed function over NumPy arrays plus its declaration.

Installed (``pip install ./examples/plugin``), the server lists them in
ListIndicators as ``example.ZSCORE`` and ``example.DONCHIAN`` and computes
them by name, from every client, with no proto change. Without installing,
``idc-server --plugins idc_example_plugin:ENTRIES`` loads the same list from
a module on the Python path.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from idc_server.core.catalogue.plugins import FloatArray, indicator, parameter

PERIOD = parameter("timeperiod", 20, "the window, in bars, the current bar included", minimum=2, maximum=1000)


def _windows(values: FloatArray, timeperiod: int) -> FloatArray:
    """Each full window of ``timeperiod`` bars ending at bar ``timeperiod - 1`` onwards, one per row."""
    return sliding_window_view(values, timeperiod)


def _padded(values: FloatArray, length: int) -> FloatArray:
    """``values`` behind NaN warm-up bars, ``length`` long."""
    out = np.full(length, np.nan)
    if len(values):
        out[length - len(values) :] = values
    return out


@indicator(
    name="example.ZSCORE",
    group="Statistics",
    description="How many standard deviations the close is from its moving average.",
    inputs=("close",),
    parameters=(PERIOD,),
    outputs=(("zscore", "unitless", "(close - SMA) / population standard deviation; NaN where the window is flat"),),
    lookback=lambda timeperiod: timeperiod - 1,
)
def zscore(close: FloatArray, timeperiod: int) -> FloatArray:
    """(close - mean) / std over the last ``timeperiod`` closes (std with ddof 0, as TA-Lib's STDDEV)."""
    if len(close) < timeperiod:
        return np.full(len(close), np.nan)
    windows = _windows(close, timeperiod)
    mean = windows.mean(axis=1)
    std = windows.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(std > 0, (close[timeperiod - 1 :] - mean) / std, np.nan)
    return _padded(score, len(close))


@indicator(
    name="example.DONCHIAN",
    group="Volatility",
    description="Donchian channel: the highest high and lowest low of the last bars, and their midpoint.",
    inputs=("high", "low"),
    parameters=(parameter("timeperiod", 20, "the window, in bars, the current bar included", minimum=1, maximum=1000),),
    outputs=(
        ("upper", "price", "the highest high of the window"),
        ("middle", "price", "the midpoint of upper and lower"),
        ("lower", "price", "the lowest low of the window"),
    ),
    lookback=lambda timeperiod: timeperiod - 1,
)
def donchian(high: FloatArray, low: FloatArray, timeperiod: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The channel over the last ``timeperiod`` bars."""
    if len(high) < timeperiod:
        empty = np.full(len(high), np.nan)
        return empty, empty.copy(), empty.copy()
    upper = _windows(high, timeperiod).max(axis=1)
    lower = _windows(low, timeperiod).min(axis=1)
    length = len(high)
    return _padded(upper, length), _padded((upper + lower) / 2, length), _padded(lower, length)


ENTRIES = [zscore, donchian]
