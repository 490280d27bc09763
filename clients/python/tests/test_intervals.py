"""The names of intervals, adjustments, states and price adjustments (``idc_client.intervals``)."""

from __future__ import annotations

import pytest

from idc.v1 import bars_pb2, indicator_service_pb2
from idc_client.intervals import (
    adjustment_name,
    interval_name,
    is_intraday,
    parse_adjustment,
    parse_interval,
    price_adjustment_name,
    state_name,
)

# The short names both command lines take, with their enum values as bars.proto declares them.
INTERVALS = [
    ("1m", bars_pb2.INTERVAL_1_MINUTE, True),
    ("5m", bars_pb2.INTERVAL_5_MINUTES, True),
    ("15m", bars_pb2.INTERVAL_15_MINUTES, True),
    ("30m", bars_pb2.INTERVAL_30_MINUTES, True),
    ("1h", bars_pb2.INTERVAL_1_HOUR, True),
    ("1d", bars_pb2.INTERVAL_1_DAY, False),
    ("1w", bars_pb2.INTERVAL_1_WEEK, False),
    ("1mo", bars_pb2.INTERVAL_1_MONTH, False),
]


@pytest.mark.parametrize(("name", "value", "intraday"), INTERVALS)
def test_interval_names_round_trip(name: str, value: bars_pb2.Interval.ValueType, intraday: bool) -> None:
    assert parse_interval(name) == value
    assert parse_interval(name.upper()) == value
    assert parse_interval(bars_pb2.Interval.Name(value)) == value
    assert parse_interval(value) == value
    assert interval_name(value) == name
    assert is_intraday(value) is intraday


def test_no_interval_is_unspecified_which_is_served_as_a_day() -> None:
    assert parse_interval(None) == bars_pb2.INTERVAL_UNSPECIFIED
    assert interval_name(bars_pb2.INTERVAL_UNSPECIFIED) == "1d"
    assert not is_intraday(bars_pb2.INTERVAL_UNSPECIFIED)


@pytest.mark.parametrize("bad", ["2m", "1 minute", "", 42])
def test_an_unknown_interval_is_a_value_error(bad: str | int) -> None:
    with pytest.raises(ValueError, match="unknown interval"):
        parse_interval(bad)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("as-stored", bars_pb2.ADJUSTMENT_AS_STORED),
        ("none", bars_pb2.ADJUSTMENT_NONE),
        ("Forward", bars_pb2.ADJUSTMENT_FORWARD),
        ("qfq", bars_pb2.ADJUSTMENT_FORWARD),
        ("backward", bars_pb2.ADJUSTMENT_BACKWARD),
        ("HFQ", bars_pb2.ADJUSTMENT_BACKWARD),
        ("ADJUSTMENT_NONE", bars_pb2.ADJUSTMENT_NONE),
        (None, bars_pb2.ADJUSTMENT_UNSPECIFIED),
    ],
)
def test_adjustment_names(name: str | None, value: int) -> None:
    assert parse_adjustment(name) == value


def test_adjustment_names_back() -> None:
    assert adjustment_name(bars_pb2.ADJUSTMENT_UNSPECIFIED) == "as-stored"
    assert adjustment_name(bars_pb2.ADJUSTMENT_FORWARD) == "forward"
    with pytest.raises(ValueError, match="unknown adjustment 'split'"):
        parse_adjustment("split")


def test_symbol_states_and_price_adjustments() -> None:
    assert state_name(indicator_service_pb2.SYMBOL_STATE_READY) == "ready"
    assert state_name(indicator_service_pb2.SYMBOL_STATE_INVALID) == "invalid"
    assert state_name(indicator_service_pb2.SYMBOL_STATE_UNSPECIFIED) == "unknown"
    assert price_adjustment_name(indicator_service_pb2.PRICE_ADJUSTMENT_SPLITS_AND_DIVIDENDS) == "splits+dividends"
    assert price_adjustment_name(indicator_service_pb2.PRICE_ADJUSTMENT_NOT_NEEDED) == "not-needed"
    assert price_adjustment_name(indicator_service_pb2.PRICE_ADJUSTMENT_UNSPECIFIED) == "unknown"
