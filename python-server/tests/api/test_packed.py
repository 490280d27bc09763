"""Packed columns written with NumPy must be byte for byte what protobuf's own ``extend`` builds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idc.v1 import bars_pb2, indicator_service_pb2
from idc_server.api import packed

INT32 = st.integers(-(2**31), 2**31 - 1)
DOUBLES = st.floats(allow_nan=True, allow_infinity=True, width=64)


def with_extend(columns: dict[str, list[float] | list[int]]) -> bytes:
    message = bars_pb2.Bars()
    for name, values in columns.items():
        getattr(message, name).extend(values)
    return message.SerializeToString()


def with_packed(columns: dict[str, np.ndarray]) -> bytes:
    """Through NumPy's wire form whatever the length (append_columns leaves short integer columns to extend)."""
    message = bars_pb2.Bars()
    for name, values in columns.items():
        message.MergeFromString(packed.packed(bars_pb2.Bars.DESCRIPTOR.fields_by_name[name], values))
    return message.SerializeToString()


def with_append_columns(columns: dict[str, np.ndarray]) -> bytes:
    message = bars_pb2.Bars()
    packed.append_columns(message, columns)
    return message.SerializeToString()


@given(st.lists(INT32, max_size=300), st.lists(DOUBLES, max_size=300))
def test_packed_columns_equal_extend(days: list[int], closes: list[float]) -> None:
    expected = with_extend({"dates": days, "close": closes})
    columns = {"dates": np.array(days, dtype=np.int32), "close": np.array(closes)}
    assert with_packed(columns) == expected
    assert with_append_columns(columns) == expected


@pytest.mark.parametrize("count", [packed.SMALL_VARINT_COLUMN - 1, packed.SMALL_VARINT_COLUMN, 100_000])
def test_append_columns_equals_extend_on_both_sides_of_the_small_column_path(count: int) -> None:
    days = np.arange(16000, 16000 + count, dtype=np.int32)  # across the two- to three-byte step
    closes = np.linspace(-1.0, 1.0, count)
    expected = with_extend({"dates": days.tolist(), "close": closes.tolist()})
    assert with_append_columns({"dates": days, "close": closes}) == expected


@pytest.mark.parametrize(
    "days",
    [
        [0, 1, 127, 128, 16383, 16384, 2097151, 2097152],  # each varint length boundary
        [-1, -(2**31), 2**31 - 1],  # negatives take ten bytes
        list(range(16000, 17000)),  # real dates across the two- to three-byte step (2014-11-09)
        list(range(20000, 20500)),  # one length only: the fast path
    ],
)
def test_varint_boundaries(days: list[int]) -> None:
    assert with_packed({"dates": np.array(days, dtype=np.int32)}) == with_extend({"dates": days})


def test_appends_after_existing_values_like_extend() -> None:
    message = bars_pb2.Bars(dates=[1, 2], close=[1.5])
    packed.append_columns(message, {"dates": np.array([3]), "close": np.array([2.5, -0.0])})
    message.MergeFromString(packed.packed(bars_pb2.Bars.DESCRIPTOR.fields_by_name["dates"], np.array([4])))
    assert list(message.dates) == [1, 2, 3, 4]
    assert [str(value) for value in message.close] == ["1.5", "2.5", "-0.0"]


def test_empty_columns_leave_the_message_empty() -> None:
    message = bars_pb2.Bars()
    packed.append_columns(message, {"dates": np.array([], dtype=np.int32), "open": np.array([])})
    assert message.ByteSize() == 0
    assert with_packed({"dates": np.array([], dtype=np.int32)}) == b""


def test_strided_views_are_packed_by_value() -> None:
    values = np.arange(10.0)[::3]
    message = indicator_service_pb2.GetMACDResponse()
    packed.append_columns(message, {"macd": values})
    assert list(message.macd) == [0.0, 3.0, 6.0, 9.0]


def test_only_numeric_repeated_fields_are_packed() -> None:
    with pytest.raises(TypeError, match="only double, int32 and int64"):
        packed.append_columns(indicator_service_pb2.GetMACDResponse(), {"symbol": np.array([1.0])})
