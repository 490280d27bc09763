"""Shared helpers of the formula tests: bars as columns, one-output evaluation, tolerances."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.formula import compile_formula

Array = NDArray[np.float64]
SYMBOLS = ("SPY", "000001.SH", "AAPL")
COLUMNS = ("open", "high", "low", "close", "volume")


def store() -> BarStore:
    return BarStore([bundled_data_dir()])


def real_columns(symbol: str) -> dict[str, Array]:
    bars = store().bars(symbol)
    return {column: bars[column].to_numpy(dtype="float64") for column in COLUMNS}


def walk_columns(length: int, seed: int, level: float = 100.0) -> dict[str, Array]:
    """Random-walk bars: open near the previous close, high/low around both, integer volumes."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, 0.01, length)))
    opening = np.r_[close[:1], close[:-1]] * np.exp(rng.normal(0.0, 0.002, length))
    high = np.maximum(opening, close) * (1 + np.abs(rng.normal(0.0, 0.005, length)))
    low = np.minimum(opening, close) * (1 - np.abs(rng.normal(0.0, 0.005, length)))
    volume = rng.integers(1_000, 1_000_000, length).astype("float64")
    return {"open": opening, "high": high, "low": low, "close": close, "volume": volume}


def run(text: str, columns: Mapping[str, Array], output: str = "X") -> Array:
    """Compile ``text`` and evaluate it over ``columns``; the values of ``output``."""
    return compile_formula(text).evaluate(columns)[output]


def series(*values: float) -> dict[str, Array]:
    """Columns whose close is ``values`` (and open, high, low, volume equal to it, for reads)."""
    close = np.array(values, dtype="float64")
    return dict.fromkeys(COLUMNS, close)


def assert_same(actual: Array, expected: object, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Same NaN positions and values within tolerance (absolute floor for values near 0)."""
    theirs = np.asarray(expected, dtype="float64")
    assert actual.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(theirs), err_msg="NaN positions differ")
    np.testing.assert_allclose(actual, theirs, rtol=rtol, atol=atol)
