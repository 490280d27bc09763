"""The rules of bars, shared by inline bars and data files."""

from __future__ import annotations

import numpy as np
import pytest

from idc_server.core.bars import (
    INCONSISTENCY_TOLERANCE,
    MAX_ABS_PRICE,
    MAX_VOLUME,
    BarsError,
    BarsIssue,
    check_bars,
)
from idc_server.core.data import bars_from_columns
from idc_server.core.indicators import INDICATORS, Convention


def columns(**changes: list[float]) -> dict[str, np.ndarray]:
    plain = {"open": [10.0] * 3, "high": [11.0] * 3, "low": [9.0] * 3, "close": [10.5] * 3, "volume": [100.0] * 3}
    return {name: np.asarray(values, dtype="float64") for name, values in (plain | changes).items()}


DAYS = np.array([1, 2, 3], dtype=np.int64)


def test_plain_bars_pass_with_no_warnings() -> None:
    check = check_bars(DAYS, columns())
    assert (check.warning_count, check.first_warning) == (0, None)


def test_the_first_bad_bar_is_named_with_its_column_and_position() -> None:
    with pytest.raises(BarsError) as caught:
        check_bars(DAYS, columns(close=[10.0, float("nan"), float("inf")]))
    assert caught.value.issue == BarsIssue("close", 1, "nan is not a finite number")


def test_the_bounds_themselves_are_allowed() -> None:
    check_bars(DAYS, columns(high=[MAX_ABS_PRICE] * 3, low=[-MAX_ABS_PRICE] * 3, volume=[0.0, MAX_VOLUME, 1.0]))
    with pytest.raises(BarsError, match="outside"):
        check_bars(DAYS, columns(high=[np.nextafter(MAX_ABS_PRICE, np.inf)] * 3))


def test_warnings_count_rows_and_describe_the_earliest() -> None:
    # Row 2 has open and close outside: one row. Row 1's close is the earliest.
    check = check_bars(DAYS, columns(open=[10.0, 10.0, 12.0], close=[10.5, 8.0, 8.5]))
    assert check.warning_count == 2
    assert check.first_warning == BarsIssue("close", 1, "8.0 is below low 9.0")


def test_float_noise_within_the_tolerance_is_no_warning() -> None:
    just_inside = 11.0 * (1 + INCONSISTENCY_TOLERANCE / 2)
    just_outside = 11.0 * (1 + INCONSISTENCY_TOLERANCE * 2)
    assert check_bars(DAYS, columns(close=[just_inside, 10.5, 10.5])).warning_count == 0
    assert check_bars(DAYS, columns(close=[just_outside, 10.5, 10.5])).warning_count == 1


def test_bars_at_the_bounds_give_finite_indicators() -> None:
    # The bounds are chosen so that no indicator of bars inside them overflows.
    rng = np.random.default_rng(7)
    count = 300
    low = rng.uniform(-MAX_ABS_PRICE, MAX_ABS_PRICE, count)
    high = np.minimum(low + rng.uniform(0, 2 * MAX_ABS_PRICE, count), MAX_ABS_PRICE)
    columns = {"open": high, "high": high, "low": low, "close": low, "volume": np.full(count, MAX_VOLUME)}
    frame = bars_from_columns(np.arange(count), columns, max_bars=count)
    for name, indicator in INDICATORS.items():
        for convention in Convention:
            outputs = indicator.compute(frame, indicator.parameters(), convention)
            values = outputs[list(indicator.outputs)].to_numpy()
            assert not np.isinf(values).any(), f"{name} {convention.name} overflows"
