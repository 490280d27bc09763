"""Unit tests of idc_client.frames on hand-built messages and frames."""

from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from idc.v1 import bars_pb2, indicator_service_pb2, indicators_pb2
from idc_client import (
    MACDRow,
    bars_frame,
    bars_message,
    indicator_frame,
    macd_frame,
    macd_rows,
    symbols_frame,
    time_index,
)
from idc_client.frames import BAR_COLUMNS, COLUMNS


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

    assert macd_frame(response).index[0] == pd.Timestamp("2023-12-29", tz="UTC")
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


def test_frame_is_indexed_by_an_aware_datetime_index_named_time() -> None:
    frame = macd_frame(two_bar_response())

    # A response without times or a time zone (an older server): each date's 00:00 UTC.
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "time"
    assert str(frame.index.tz) == "UTC"
    assert list(frame.index) == [pd.Timestamp("2023-12-28", tz="UTC"), pd.Timestamp("2023-12-29", tz="UTC")]


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


def test_frame_attrs_carry_symbol_parameters_and_convention_used() -> None:
    response = two_bar_response()
    response.convention = indicators_pb2.CONVENTION_TDX

    frame = macd_frame(response)

    assert frame.attrs == {
        "symbol": "SPY",
        "parameters": {"fast": 12, "slow": 26, "signal": 9},
        "convention": "tdx",
        "interval": "1d",
        "time_zone": "UTC",
        "adjustment": "as-stored",
    }


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
        time=datetime.datetime(2023, 12, 29, tzinfo=datetime.UTC),
    )
    assert type(rows[1].date) is datetime.date
    assert all(type(value) is float for value in rows[1][1:-1])
    assert rows[1].time.utcoffset() == datetime.timedelta(0)


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
    assert frame.index.name == "time"
    assert list(frame.columns) == list(COLUMNS)
    assert all(dtype == np.float64 for dtype in frame.dtypes)


def test_empty_response_gives_no_rows() -> None:
    assert macd_rows(indicator_service_pb2.GetMACDResponse()) == []


def test_frame_supports_date_slicing() -> None:
    frame = macd_frame(two_bar_response())

    assert len(frame.loc["2023-12-29":"2023-12-31"]) == 1


# -- first_valid_index ---------------------------------------------------------


def warm_up_response(first_valid_index: int = 2) -> indicator_service_pb2.GetMACDResponse:
    """Four bars (2023-12-26..29) whose MACD columns start at bar ``first_valid_index``."""
    count = 4 - first_valid_index
    return indicator_service_pb2.GetMACDResponse(
        symbol="SPY",
        convention=indicators_pb2.CONVENTION_TALIB,
        bars=bars_pb2.Bars(
            dates=[19717, 19718, 19719, 19720],
            open=[1.0, 2.0, 3.0, 4.0],
            high=[1.5, 2.5, 3.5, 4.5],
            low=[0.5, 1.5, 2.5, 3.5],
            close=[1.2, 2.2, 3.2, 4.2],
            volume=[10.0, 20.0, 30.0, 40.0],
        ),
        macd=[0.1, 0.2, 0.3, 0.4][first_valid_index:],
        signal=[0.05, 0.15, 0.25, 0.35][first_valid_index:],
        histogram=[0.05] * count,
        first_valid_index=first_valid_index,
    )


def test_frame_pads_warm_up_bars_with_nan() -> None:
    frame = macd_frame(warm_up_response(2))

    assert len(frame) == 4
    assert frame[["macd", "signal", "histogram"]].iloc[:2].isna().all().all()
    assert list(frame["macd"].iloc[2:]) == [0.3, 0.4]
    assert list(frame["signal"].iloc[2:]) == [0.25, 0.35]
    assert list(frame["histogram"].iloc[2:]) == [0.05, 0.05]
    assert not frame[list(BAR_COLUMNS)].isna().any().any()
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert frame.attrs["convention"] == "talib"


def test_rows_have_nan_on_warm_up_bars() -> None:
    rows = macd_rows(warm_up_response(2))

    assert [row.date for row in rows] == [datetime.date(2023, 12, 26) + datetime.timedelta(days=i) for i in range(4)]
    for row in rows[:2]:
        assert type(row.macd) is float
        assert math.isnan(row.macd)
        assert math.isnan(row.signal)
        assert math.isnan(row.histogram)
        assert not math.isnan(row.close)
    assert (rows[2].macd, rows[3].macd) == (0.3, 0.4)
    assert rows[3].histogram == 0.05


def test_every_bar_may_be_a_warm_up_bar() -> None:
    frame = macd_frame(warm_up_response(4))

    assert len(frame) == 4
    assert frame["macd"].isna().all()
    assert all(math.isnan(row.signal) for row in macd_rows(warm_up_response(4)))


def test_first_valid_index_zero_pads_nothing() -> None:
    frame = macd_frame(warm_up_response(0))

    assert not frame.isna().any().any()
    assert list(frame["macd"]) == [0.1, 0.2, 0.3, 0.4]


@pytest.mark.parametrize("first_valid_index", [-1, 5])
def test_first_valid_index_outside_the_bars_raises_value_error(first_valid_index: int) -> None:
    response = warm_up_response(0)
    response.first_valid_index = first_valid_index

    with pytest.raises(ValueError, match=f"first_valid_index={first_valid_index}"):
        macd_frame(response)
    with pytest.raises(ValueError, match="first_valid_index"):
        macd_rows(response)


@pytest.mark.parametrize("column", ["macd", "signal", "histogram"])
def test_a_macd_column_not_starting_at_first_valid_index_raises_value_error(column: str) -> None:
    response = warm_up_response(2)
    getattr(response, column).append(0.5)  # 3 values where len(dates) - first_valid_index is 2

    with pytest.raises(ValueError, match=rf"need 2 values .*{column}=3"):
        macd_frame(response)
    with pytest.raises(ValueError, match=column):
        macd_rows(response)


def test_full_length_macd_columns_with_a_first_valid_index_raise_value_error() -> None:
    response = warm_up_response(0)
    response.first_valid_index = 1

    with pytest.raises(ValueError, match="macd=4, signal=4, histogram=4"):
        macd_frame(response)


# -- bars_message and bars_frame ------------------------------------------------


def bars_input(index: Any) -> pd.DataFrame:
    """Two bars with the given index, and an extra column that bars_message ignores."""
    return pd.DataFrame(
        {
            "open": [476.88, 476.49],
            "high": [477.55, 477.03],
            "low": [476.26, 473.3],
            "close": [476.69, 475.31],
            "volume": [77158100, 122234100],
            "macd": [7.81, 7.49],
        },
        index=index,
    )


def test_bars_message_converts_dates_to_epoch_days() -> None:
    bars = bars_message(bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"])))

    assert list(bars.dates) == [19719, 19720]
    assert list(bars.open) == [476.88, 476.49]
    assert list(bars.high) == [477.55, 477.03]
    assert list(bars.low) == [476.26, 473.3]
    assert list(bars.close) == [476.69, 475.31]
    assert list(bars.volume) == [77158100.0, 122234100.0]


def test_bars_message_and_bars_frame_round_trip() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"], name="date"))

    back = bars_frame(bars_message(frame))

    assert list(back.index) == [pd.Timestamp("2023-12-28", tz="UTC"), pd.Timestamp("2023-12-29", tz="UTC")]
    assert back.index.name == "time"
    assert list(back.columns) == list(BAR_COLUMNS)
    expected = frame[list(BAR_COLUMNS)].astype(np.float64)
    pd.testing.assert_frame_equal(back, expected.set_axis(back.index), check_index_type=False)
    assert bars_message(back) == bars_message(frame)


def test_bars_message_of_a_macd_frame_gives_its_bars_back() -> None:
    response = warm_up_response(2)

    assert bars_message(macd_frame(response)) == response.bars


@pytest.mark.parametrize(
    "index",
    [
        [datetime.date(2023, 12, 28), datetime.date(2023, 12, 29)],
        ["2023-12-28", "2023-12-29"],
        pd.period_range("2023-12-28", periods=2, freq="D"),
        pd.DatetimeIndex(["2023-12-28 09:30", "2023-12-29 16:00"]),
        pd.DatetimeIndex(["2023-12-28 23:00", "2023-12-29 20:00"], tz="America/New_York"),
    ],
    ids=["dates", "strings", "periods", "times of day", "time zone"],
)
def test_bars_message_accepts_date_like_indexes(index: object) -> None:
    assert list(bars_message(bars_input(index)).dates) == [19719, 19720]


def test_bars_message_handles_days_before_1970() -> None:
    bars = bars_message(bars_input(pd.DatetimeIndex(["1969-12-31 12:00", "1970-01-01"])))

    assert list(bars.dates) == [-1, 0]


def test_bars_message_passes_values_the_server_checks() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-29", "2023-12-28"]))  # decreasing dates
    frame.loc[frame.index[0], "close"] = np.nan
    frame.loc[frame.index[1], "high"] = 0.0  # high < low

    bars = bars_message(frame)

    assert list(bars.dates) == [19720, 19719]
    assert math.isnan(bars.close[0])
    assert bars.high[1] == 0.0


def test_bars_message_turns_missing_values_into_nan() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"])).astype({"volume": "Int64"})
    frame.loc[frame.index[0], "volume"] = pd.NA

    bars = bars_message(frame)

    assert math.isnan(bars.volume[0])
    assert bars.volume[1] == 122234100.0


def test_bars_message_of_an_empty_frame_is_empty() -> None:
    assert bars_message(bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"])).iloc[:0]) == bars_pb2.Bars()


@pytest.mark.parametrize(
    ("index", "match"),
    [
        (pd.RangeIndex(2), "indexed by dates"),
        ([19719, 19720], "indexed by dates"),
        (["2023-12-28", "not a date"], "does not parse as dates"),
        (pd.DatetimeIndex(["2023-12-28", pd.NaT]), "missing date"),
    ],
    ids=["range index", "integers", "bad string", "NaT"],
)
def test_bars_message_refuses_an_index_without_dates(index: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bars_message(bars_input(index))


@pytest.mark.parametrize("column", BAR_COLUMNS)
def test_bars_message_needs_every_bar_column(column: str) -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"])).drop(columns=column)

    with pytest.raises(ValueError, match=f"no '{column}' column"):
        bars_message(frame)


def test_bars_message_refuses_a_non_numeric_column() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"])).astype({"close": object})
    frame.loc[frame.index[0], "close"] = "n/a"

    with pytest.raises(ValueError, match="'close' is not numeric"):
        bars_message(frame)


def test_bars_message_refuses_a_repeated_column() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"]))
    frame.columns = pd.Index(["open", "high", "low", "close", "volume", "close"])

    with pytest.raises(ValueError, match="more than one 'close'"):
        bars_message(frame)


def test_bars_frame_refuses_a_short_column() -> None:
    bars = bars_pb2.Bars(dates=[19719, 19720], open=[1, 2], high=[1, 2], low=[1, 2], close=[1, 2], volume=[1])

    with pytest.raises(ValueError, match="dates=2, volume=1"):
        bars_frame(bars)


# -- indicator_frame -------------------------------------------------------------


def indicators_response() -> indicator_service_pb2.ComputeIndicatorsResponse:
    """Three dates (2023-12-27..29) and series with warm-ups of 0, 1 and 3 bars."""
    return indicator_service_pb2.ComputeIndicatorsResponse(
        symbol="SPY",
        convention=indicators_pb2.CONVENTION_TALIB,
        dates=[19718, 19719, 19720],
        series=[
            indicators_pb2.Series(name="sma20", first_valid_index=0, values=[1.0, 2.0, 3.0]),
            indicators_pb2.Series(name="macd.macd", first_valid_index=1, values=[4.0, 5.0]),
            indicators_pb2.Series(name="rsi", first_valid_index=3, values=[]),
        ],
    )


def test_indicator_frame_has_one_float_column_per_series_in_order() -> None:
    frame = indicator_frame(indicators_response())

    assert list(frame.columns) == ["sma20", "macd.macd", "rsi"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "time"
    assert list(frame.index.strftime("%Y-%m-%d %H:%M %Z")) == [
        "2023-12-27 00:00 UTC",
        "2023-12-28 00:00 UTC",
        "2023-12-29 00:00 UTC",
    ]
    assert frame.attrs == {
        "symbol": "SPY",
        "convention": "talib",
        "kinds": {"sma20": "unspecified", "macd.macd": "unspecified", "rsi": "unspecified"},
        "interval": "1d",
        "time_zone": "UTC",
        "adjustment": "as-stored",
    }


def test_indicator_frame_pads_each_series_before_its_first_valid_index() -> None:
    frame = indicator_frame(indicators_response())

    assert list(frame["sma20"]) == [1.0, 2.0, 3.0]
    assert math.isnan(frame["macd.macd"].iloc[0])
    assert list(frame["macd.macd"].iloc[1:]) == [4.0, 5.0]
    assert frame["rsi"].isna().all()


def test_indicator_frame_of_inline_bars_has_an_empty_symbol() -> None:
    response = indicators_response()
    response.symbol = ""
    response.convention = indicators_pb2.CONVENTION_TDX

    attrs = indicator_frame(response).attrs
    assert {key: value for key, value in attrs.items() if key != "kinds"} == {
        "symbol": "",
        "convention": "tdx",
        "interval": "1d",
        "time_zone": "UTC",
        "adjustment": "as-stored",
    }


def test_indicator_frame_of_an_empty_response_is_empty() -> None:
    frame = indicator_frame(indicator_service_pb2.ComputeIndicatorsResponse())

    assert frame.empty
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert list(frame.columns) == []


@pytest.mark.parametrize(
    ("first_valid_index", "values", "match"),
    [
        (0, [1.0, 2.0], "has 2 values, but dates=3 and first_valid_index=0 need 3"),
        (1, [1.0, 2.0, 3.0], "has 3 values, but dates=3 and first_valid_index=1 need 2"),
        (4, [], "first_valid_index=4 is outside 0..3"),
        (-1, [1.0, 2.0, 3.0, 4.0], "first_valid_index=-1 is outside 0..3"),
    ],
)
def test_indicator_frame_refuses_inconsistent_lengths(first_valid_index: int, values: list[float], match: str) -> None:
    response = indicators_response()
    response.series[1].first_valid_index = first_valid_index
    del response.series[1].values[:]
    response.series[1].values.extend(values)

    with pytest.raises(ValueError, match=rf"series\[1\] 'macd.macd' {match}"):
        indicator_frame(response)


def test_indicator_frame_refuses_repeated_names() -> None:
    response = indicators_response()
    response.series[2].name = "sma20"
    response.series[2].first_valid_index = 0
    response.series[2].values.extend([1.0, 2.0, 3.0])

    with pytest.raises(ValueError, match="repeats the name"):
        indicator_frame(response)


# -- symbols_frame ---------------------------------------------------------------


SYMBOL_COLUMNS = (
    "first_date",
    "last_date",
    "bar_count",
    "state",
    "price_adjustment",
    "interval",
    "intervals",
    "adjustments",
    "time_zone",
)


def test_symbols_frame_is_indexed_by_symbol() -> None:
    response = indicator_service_pb2.ListSymbolsResponse(
        symbols=[
            indicator_service_pb2.SymbolInfo(
                symbol="AAPL", first_date="2004-08-19", last_date="2018-01-19", bar_count=3379
            ),
            indicator_service_pb2.SymbolInfo(
                symbol="SPY", first_date="1993-01-29", last_date="2026-03-27", bar_count=8347
            ),
        ],
        default_symbol="SPY",
    )

    frame = symbols_frame(response)

    assert list(frame.index) == ["AAPL", "SPY"]
    assert frame.index.name == "symbol"
    assert list(frame.columns) == list(SYMBOL_COLUMNS)
    assert pd.api.types.is_datetime64_dtype(frame["first_date"])
    assert pd.api.types.is_datetime64_dtype(frame["last_date"])
    assert frame["bar_count"].dtype == np.int64
    assert frame.loc["SPY", "first_date"] == pd.Timestamp("1993-01-29")
    assert frame.loc["SPY", "last_date"] == pd.Timestamp("2026-03-27")
    assert frame.loc["AAPL", "bar_count"] == 3379
    assert frame.attrs == {"default_symbol": "SPY"}


def test_symbols_frame_of_an_empty_response_is_empty() -> None:
    frame = symbols_frame(indicator_service_pb2.ListSymbolsResponse())

    assert frame.empty
    assert list(frame.columns) == list(SYMBOL_COLUMNS)
    assert pd.api.types.is_datetime64_dtype(frame["first_date"])


# -- times and time zones -----------------------------------------------------

# Wire times computed with Python's zoneinfo (independently of pandas):
# 2020-07-01 09:30 Asia/Shanghai is 1593567000, 09:35 is 1593567300, and
# 2019-11-05 09:30 America/New_York (EST, UTC-5) is 1572964200.
SHANGHAI_0930, SHANGHAI_0935, NEW_YORK_0930 = 1593567000, 1593567300, 1572964200


def test_intraday_times_are_in_the_exchange_zone() -> None:
    index = time_index([SHANGHAI_0930, SHANGHAI_0935], [18444, 18444], "Asia/Shanghai")

    assert index.name == "time"
    assert str(index.tz) == "Asia/Shanghai"
    assert list(index.strftime("%Y-%m-%d %H:%M %z")) == ["2020-07-01 09:30 +0800", "2020-07-01 09:35 +0800"]
    new_york = time_index([NEW_YORK_0930], [18205], "America/New_York")
    assert list(new_york.strftime("%H:%M %Z")) == ["09:30 EST"]


def test_dates_without_times_are_midnight_in_the_zone() -> None:
    index = time_index([], [18444], "Asia/Shanghai")

    assert list(index.strftime("%Y-%m-%dT%H:%M%z")) == ["2020-07-01T00:00+0800"]


def test_times_that_do_not_match_the_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="1 times, want one per date"):
        time_index([SHANGHAI_0930], [18444, 18444], "Asia/Shanghai")


def test_an_unknown_time_zone_is_refused() -> None:
    response = indicator_service_pb2.ComputeIndicatorsResponse(
        dates=[18444], times=[SHANGHAI_0930], time_zone="Mars/Olympus"
    )
    with pytest.raises(ValueError, match="time_zone 'Mars/Olympus' is not a time zone"):
        indicator_frame(response)


def test_macd_rows_carry_aware_times() -> None:
    response = indicator_service_pb2.GetMACDResponse(
        bars=bars_pb2.Bars(
            dates=[18444],
            times=[SHANGHAI_0935],
            open=[1],
            high=[2],
            low=[0.5],
            close=[1.5],
            volume=[9],
            interval=bars_pb2.INTERVAL_5_MINUTES,
            time_zone="Asia/Shanghai",
        ),
        macd=[0],
        signal=[0],
        histogram=[0],
    )

    (row,) = macd_rows(response)

    assert row.date == datetime.date(2020, 7, 1)
    assert row.time.isoformat() == "2020-07-01T09:35:00+08:00"


def test_bars_message_with_an_interval_sends_times_and_the_zone() -> None:
    index = pd.DatetimeIndex(["2020-07-01 09:30", "2020-07-01 09:35"]).tz_localize("Asia/Shanghai")
    frame = pd.DataFrame(
        {"open": [1.0, 2.0], "high": [2.0, 3.0], "low": [0.5, 1.0], "close": [1.5, 2.5], "volume": [10.0, 20.0]},
        index=index,
    )

    bars = bars_message(frame, interval="5m")

    assert list(bars.times) == [SHANGHAI_0930, SHANGHAI_0935]
    assert list(bars.dates) == []
    assert (bars.interval, bars.time_zone) == (bars_pb2.INTERVAL_5_MINUTES, "Asia/Shanghai")
    back = bars_frame(bars)
    assert list(back.index) == list(index)
    assert (back.attrs["interval"], back.attrs["time_zone"]) == ("5m", "Asia/Shanghai")


def test_bars_message_with_an_interval_needs_an_aware_index() -> None:
    frame = bars_input(pd.DatetimeIndex(["2023-12-28", "2023-12-29"]))
    with pytest.raises(ValueError, match="time-zone-aware"):
        bars_message(frame, interval="1m")
    with pytest.raises(ValueError, match="unknown interval"):
        bars_message(frame.tz_localize("UTC"), interval="7m")
