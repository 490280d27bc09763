"""The example plugin's indicators against hand-computed values, and as catalogue entries."""

from __future__ import annotations

import math

import idc_example_plugin
import numpy as np
import pytest

from idc_server.core.catalogue import server_catalogue

CLOSES = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])


def test_zscore_by_hand() -> None:
    # [2, 4, 4]: mean 10/3, std sqrt(8/9) -> (4 - 10/3) / sqrt(8/9) = 1/sqrt(2).
    # [4, 4, 4]: flat, NaN. [4, 4, 5]: mean 13/3, std sqrt(2)/3 -> sqrt(2).
    values = idc_example_plugin.zscore.bind({"timeperiod": 3}).compute({"close": CLOSES})["zscore"]
    assert np.isnan(values[:2]).all()
    assert values[2] == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert np.isnan(values[3])
    assert values[4] == pytest.approx(math.sqrt(2), abs=1e-12)
    # The whole series: mean 5, population std 2, so the last close 9 is 2 deviations above.
    whole = idc_example_plugin.zscore.bind({"timeperiod": 8}).compute({"close": CLOSES})["zscore"]
    assert np.isnan(whole[:7]).all()
    assert whole[7] == pytest.approx(2.0, abs=1e-12)


def test_donchian_by_hand() -> None:
    high = np.array([3.0, 5.0, 4.0, 6.0, 2.0])
    low = np.array([1.0, 2.0, 1.0, 3.0, 0.0])
    outputs = idc_example_plugin.donchian.bind({"timeperiod": 3}).compute({"high": high, "low": low})
    np.testing.assert_array_equal(outputs["upper"], [np.nan, np.nan, 5.0, 6.0, 6.0])
    np.testing.assert_array_equal(outputs["lower"], [np.nan, np.nan, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(outputs["middle"], [np.nan, np.nan, 3.0, 3.5, 3.0])


def test_lookback_matches_the_nan_head() -> None:
    bound = idc_example_plugin.zscore.bind({"timeperiod": 5})
    values = bound.compute({"close": np.arange(1.0, 30.0)})["zscore"]
    assert bound.lookback() == 4
    assert np.isnan(values[:4]).all()
    assert not np.isnan(values[4])


def test_installed_plugin_is_in_the_server_catalogue() -> None:
    catalogue = server_catalogue()
    assert catalogue.get("example.ZSCORE") is idc_example_plugin.zscore
    assert [output.name for output in catalogue.get("example.DONCHIAN").outputs] == ["upper", "middle", "lower"]
