"""TA-Lib helpers shared by the catalogue's core and RPC tests (importable as ``talib_support``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import talib
import talib.abstract
from talib._ta_lib import MA_Type  # talib does not re-export it for type checkers

from idc_server.core.catalogue import ParameterValue
from idc_server.core.data import BAR_COLUMNS

Columns = dict[str, npt.NDArray[np.float64]]


def random_walk(length: int, seed: int) -> Columns:
    """OHLCV around a random walk: high >= max(open, close), low <= min(open, close), positive volume."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, length)))
    opening = np.r_[close[:1], close[:-1]] * np.exp(rng.normal(0.0, 0.005, length))
    high = np.maximum(opening, close) * (1 + np.abs(rng.normal(0.0, 0.01, length)))
    low = np.minimum(opening, close) * (1 - np.abs(rng.normal(0.0, 0.01, length)))
    volume = rng.integers(1_000, 1_000_000, length).astype("float64")
    columns = {"open": opening, "high": high, "low": low, "close": close, "volume": volume}
    assert np.all(high >= np.maximum(opening, close))
    assert np.all(low <= np.minimum(opening, close))
    return read_only(columns)


def read_only(columns: Columns) -> Columns:
    """As a History's columns are: the catalogue never writes its inputs."""
    for values in columns.values():
        values.setflags(write=False)
    return columns


def bar_inputs(function: str) -> list[str] | None:
    """The bar columns ``function`` reads by TA-Lib's abstract defaults; None if one is not a bar column."""
    columns: list[str] = []
    for value in talib.abstract.Function(function).input_names.values():
        columns.extend([value] if isinstance(value, str) else value)
    return columns if all(column in BAR_COLUMNS for column in columns) else None


def direct_call(function: str, columns: Columns, params: Mapping[str, ParameterValue]) -> list[npt.NDArray[Any]]:
    """``talib.<function>`` on the bar columns, parameters by keyword, MA types by ``MA_Type`` name."""
    inputs = bar_inputs(function)
    assert inputs is not None
    keywords = {name: getattr(MA_Type, value) if isinstance(value, str) else value for name, value in params.items()}
    result = getattr(talib, function)(*(columns[column] for column in inputs), **keywords)
    return list(result) if isinstance(result, tuple) else [result]


def same_bits(got: npt.NDArray[np.float64], expected: npt.NDArray[np.float64]) -> bool:
    """Equal bit for bit where not NaN (so -0.0 differs from 0.0), NaN at the same positions."""
    nan = np.isnan(got)
    if not np.array_equal(nan, np.isnan(expected)):
        return False
    return bool(np.array_equal(got[~nan].view(np.uint64), expected[~nan].view(np.uint64)))
