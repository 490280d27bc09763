"""Unit tests of idc_client.frames on hand-built GetMACDResponse messages."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from idc.v1 import bars_pb2, indicator_service_pb2
from idc_client import MACDRow, macd_frame, macd_rows
from idc_client.frames import COLUMNS


def two_bar_response() -> indicator_service_pb2.GetMACDResponse:
    """A response with two bars, 2023-12-28 and 2023-12-29 (days 19719 and 19720)."""
    return indicator_service_pb2.GetMACDResponse(
        symbol="SPY",
        parameters=bars_pb2.MACDParameters(fast_period=12, slow_period=26, signal_period=9),
        bars=bars_pb2.Bars(
            dates=[19719, 19720],
            open=[476.88, 476.49],
            high=[477.55, 477.03],
            low=[476.26, 473.3],
            close=[476.69, 475.31],
            volume=[77158100.0, 122234100.0],
        ),
        macd=[7.81, 7.4880921771],
        signal=[7.53, 7.5222453641],
        histogram=[0.28, 7.4880921771 - 7.5222453641],
    )


def test_epoch_day_19720_is_2023_12_29() -> None:
    response = indicator_service_pb2.GetMACDResponse(
        bars=bars_pb2.Bars(dates=[19720], open=[1], high=[1], low=[1], close=[1], volume=[1]),
        macd=[0],
        signal=[0],
        histogram=[0],
    )

    assert macd_frame(response).index[0] == pd.Timestamp("2023-12-29")
    assert macd_rows(response)[0].date == datetime.date(2023, 12, 29)


def test_epoch_day_zero_and_negative_days_are_around_1970_01_01() -> None:
    response = indicator_service_pb2.GetMACDResponse(
        bars=bars_pb2.Bars(dates=[-1, 0], open=[1, 2], high=[1, 2], low=[1, 2], close=[1, 2], volume=[1, 2]),
        macd=[0, 0],
        signal=[0, 0],
        histogram=[0, 0],
    )

    assert [row.date for row in macd_rows(response)] == [
        datetime.date(1969, 12, 31),
        datetime.date(1970, 1, 1),
    ]


def test_frame_is_indexed_by_a_datetime_index_named_date() -> None:
    frame = macd_frame(two_bar_response())

    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "date"
    assert frame.index.tz is None
    assert list(frame.index) == [pd.Timestamp("2023-12-28"), pd.Timestamp("2023-12-29")]


def test_frame_has_the_eight_float64_columns_in_order() -> None:
    frame = macd_frame(two_bar_response())

    assert list(frame.columns) == list(COLUMNS)
    assert list(COLUMNS) == ["open", "high", "low", "close", "volume", "macd", "signal", "histogram"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_frame_values_match_the_response_columns() -> None:
    frame = macd_frame(two_bar_response())
    last = frame.loc["2023-12-29"]

    assert last["close"] == 475.31
    assert last["volume"] == 122234100.0
    assert last["macd"] == pytest.approx(7.4880921771)
    assert last["signal"] == pytest.approx(7.5222453641)
    assert last["histogram"] == pytest.approx(7.4880921771 - 7.5222453641)


def test_frame_attrs_carry_symbol_and_parameters_used() -> None:
    frame = macd_frame(two_bar_response())

    assert frame.attrs["symbol"] == "SPY"
    assert frame.attrs["parameters"] == {"fast": 12, "slow": 26, "signal": 9}


def test_rows_are_macd_rows_in_date_order() -> None:
    rows = macd_rows(two_bar_response())

    assert len(rows) == 2
    assert all(isinstance(row, MACDRow) for row in rows)
    assert rows[0].date == datetime.date(2023, 12, 28)
    assert rows[1] == MACDRow(
        date=datetime.date(2023, 12, 29),
        open=476.49,
        high=477.03,
        low=473.3,
        close=475.31,
        volume=122234100.0,
        macd=7.4880921771,
        signal=7.5222453641,
        histogram=7.4880921771 - 7.5222453641,
    )
    assert type(rows[1].date) is datetime.date
    assert all(type(value) is float for value in rows[1][1:])


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
def test_a_short_bars_column_raises_value_error(column: str) -> None:
    response = two_bar_response()
    del getattr(response.bars, column)[-1]

    with pytest.raises(ValueError, match=column):
        macd_frame(response)
    with pytest.raises(ValueError, match=column):
        macd_rows(response)


@pytest.mark.parametrize("column", ["macd", "signal", "histogram"])
def test_a_short_indicator_column_raises_value_error(column: str) -> None:
    response = two_bar_response()
    del getattr(response, column)[-1]

    with pytest.raises(ValueError, match=column):
        macd_frame(response)
    with pytest.raises(ValueError, match=column):
        macd_rows(response)


def test_extra_dates_raise_value_error() -> None:
    response = two_bar_response()
    response.bars.dates.append(19721)

    with pytest.raises(ValueError, match="dates=3"):
        macd_frame(response)


def test_empty_response_gives_an_empty_frame_with_the_same_shape_of_columns() -> None:
    frame = macd_frame(indicator_service_pb2.GetMACDResponse())

    assert frame.empty
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "date"
    assert list(frame.columns) == list(COLUMNS)
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_empty_response_gives_no_rows() -> None:
    assert macd_rows(indicator_service_pb2.GetMACDResponse()) == []


def test_frame_supports_date_slicing() -> None:
    frame = macd_frame(two_bar_response())

    assert len(frame.loc["2023-12-29":"2023-12-31"]) == 1
