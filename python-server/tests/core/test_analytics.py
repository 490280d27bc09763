from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from PIL import Image as PILImage

from idc_server.core.analytics import Analytics
from idc_server.core.data import BarStore, bundled_data_dir
from idc_server.core.errors import NotFoundError
from idc_server.core.indicators import MACDPeriods


@pytest.fixture(scope="module")
def analytics() -> Analytics:
    return Analytics(BarStore([bundled_data_dir()]), "SPY")


def test_empty_symbol_means_the_default(analytics: Analytics) -> None:
    assert analytics.macd(None, None, None).symbol == "SPY"
    assert analytics.macd("", None, None).symbol == "SPY"


def test_unknown_default_symbol_fails_at_start() -> None:
    with pytest.raises(NotFoundError):
        Analytics(BarStore([bundled_data_dir()]), "NOPE")


def test_window_values_do_not_depend_on_where_the_window_starts(analytics: Analytics) -> None:
    whole = analytics.macd("SPY", None, None).frame
    window = analytics.macd("SPY", date(2023, 6, 1), date(2023, 6, 30)).frame
    pd.testing.assert_frame_equal(window, whole.loc["2023-06-01":"2023-06-30"])
    assert len(window) == 21


def test_result_columns_are_bars_then_macd(analytics: Analytics) -> None:
    result = analytics.macd("AAPL", date(2018, 1, 1), None, MACDPeriods(5, 35, 5))
    assert list(result.frame.columns) == ["open", "high", "low", "close", "volume", "macd", "signal", "histogram"]
    assert result.periods == MACDPeriods(5, 35, 5)
    assert result.frame.index[-1] == pd.Timestamp("2018-01-19")


def test_macd_chart_is_a_png_of_the_requested_size(analytics: Analytics) -> None:
    image = analytics.macd_chart("SPY", date(2023, 1, 1), date(2023, 12, 31), width_px=640, height_px=480)
    assert image.media_type == "image/png"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    with PILImage.open(io.BytesIO(image.data)) as decoded:
        assert decoded.size == (640, 480)
