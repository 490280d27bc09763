"""Conversions between proto messages and core types."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import grpc
import numpy as np
import pandas as pd

from idc.v1 import bars_pb2
from idc_server.core.data import check_window, parse_date
from idc_server.core.errors import InvalidArgumentError
from idc_server.core.indicators import MACDPeriods

MIN_IMAGE_PX = 200
MAX_IMAGE_PX = 4000


@dataclass(frozen=True, slots=True)
class WindowQuery:
    """A validated bar selection: symbol (None = default) and inclusive dates."""

    symbol: str | None
    start: date | None
    end: date | None


def window_query(symbol: str, start_date: str, end_date: str) -> WindowQuery:
    """Validate the selection fields shared by every request."""
    start = parse_date("start_date", start_date)
    end = parse_date("end_date", end_date)
    check_window(start, end)
    return WindowQuery(symbol or None, start, end)


def macd_periods(parameters: bars_pb2.MACDParameters) -> MACDPeriods:
    """Periods from a request, zero fields taking their defaults."""
    defaults = MACDPeriods()
    return MACDPeriods(
        fast=parameters.fast_period or defaults.fast,
        slow=parameters.slow_period or defaults.slow,
        signal=parameters.signal_period or defaults.signal,
    )


def periods_message(periods: MACDPeriods) -> bars_pb2.MACDParameters:
    """The periods actually used, for a response."""
    return bars_pb2.MACDParameters(fast_period=periods.fast, slow_period=periods.slow, signal_period=periods.signal)


def image_dimension(field: str, value: int, default: int) -> int:
    """A pixel size from a request: 0 means ``default``; otherwise 200-4000."""
    if value == 0:
        return default
    if not MIN_IMAGE_PX <= value <= MAX_IMAGE_PX:
        raise InvalidArgumentError(field, f"must be between {MIN_IMAGE_PX} and {MAX_IMAGE_PX} pixels, got {value}")
    return value


def epoch_days(index: pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01 for each date, as int32."""
    return index.to_numpy(dtype="datetime64[D]").astype(np.int32)


def fill_bars(message: bars_pb2.Bars, frame: pd.DataFrame) -> None:
    """Copy a bars frame's index and OHLCV columns into ``message``."""
    message.dates.extend(epoch_days(pd.DatetimeIndex(frame.index)).tolist())
    message.open.extend(frame["open"].to_numpy().tolist())
    message.high.extend(frame["high"].to_numpy().tolist())
    message.low.extend(frame["low"].to_numpy().tolist())
    message.close.extend(frame["close"].to_numpy().tolist())
    message.volume.extend(frame["volume"].to_numpy().tolist())


def live_chunks(context: grpc.ServicerContext, data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in consecutive slices of at most ``size`` bytes, while the call is live.

    Stops as soon as the client cancels or the deadline passes, so a handler
    never yields into a dead stream.
    """
    view = memoryview(data)
    for offset in range(0, len(data), size):
        if not context.is_active():
            return
        yield bytes(view[offset : offset + size])
