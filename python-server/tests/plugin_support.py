"""Plugins for the server's tests (importable as ``plugin_support``): misbehaving entries, and a module that fails."""

from __future__ import annotations

import numpy as np

from idc_server.core.catalogue.plugins import FloatArray, indicator, parameter


@indicator(
    name="broken.RAISES",
    group="Test",
    description="Raises ZeroDivisionError on every call.",
    inputs=("close",),
    outputs=(("value", "unitless"),),
    lookback=lambda: 0,
)
def raises(close: FloatArray) -> FloatArray:
    return close / 0 if len(close) < 0 else np.asarray(1 // 0, dtype=np.float64)


@indicator(
    name="broken.SHORT",
    group="Test",
    description="Returns an array shorter than its input.",
    inputs=("close",),
    parameters=(parameter("n", 1, "unused", 1, 10),),
    outputs=(("value", "unitless"),),
    lookback=lambda n: 0,
)
def short(close: FloatArray, n: int) -> FloatArray:
    return close[1:]


BROKEN = [raises, short]
NOT_AN_ENTRY = 42
TALIB_CLASH = indicator(
    name="talib.SMA",
    group="Test",
    description="Takes a reserved namespace.",
    inputs=("close",),
    outputs=(("value", "unitless"),),
    lookback=lambda: 0,
)(lambda close: close)

BAD_LOOKBACK = indicator(
    name="broken.LOOKBACK",
    group="Test",
    description="Its lookback fails at the defaults.",
    inputs=("close",),
    outputs=(("value", "unitless"),),
    lookback=lambda: 1 // 0,
)(lambda close: close)
