"""Turn the columns of a ``GetMACDResponse`` into a DataFrame or into rows.

The wire format keeps bars as parallel packed columns (see
``idc/v1/bars.proto``); these helpers convert them with NumPy, without a
Python loop per row for the DataFrame.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from idc.v1 import indicator_service_pb2

__all__ = ["COLUMNS", "MACDRow", "epoch_days_to_datetime64", "macd_frame", "macd_rows"]

COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "macd", "signal", "histogram")
"""The float64 columns of ``macd_frame``, in order."""


class MACDRow(NamedTuple):
    """One bar of a ``GetMACDResponse`` with its MACD values.

    Prices and MACD values are in the instrument's quote currency (or index
    points); volume is in the unit of the data source.
    """

    date: datetime.date
    open: float
    high: float
    low: float
    close: float
    volume: float
    macd: float
    signal: float
    histogram: float


def epoch_days_to_datetime64(days: Sequence[int]) -> npt.NDArray[np.datetime64]:
    """Convert whole days since 1970-01-01 to a ``datetime64[D]`` array, vectorised."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def _columns(response: indicator_service_pb2.GetMACDResponse) -> dict[str, Sequence[float]]:
    """The value columns of ``response`` by name, after checking every length matches the dates."""
    bars = response.bars
    columns: dict[str, Sequence[float]] = {
        "open": bars.open,
        "high": bars.high,
        "low": bars.low,
        "close": bars.close,
        "volume": bars.volume,
        "macd": response.macd,
        "signal": response.signal,
        "histogram": response.histogram,
    }
    expected = len(bars.dates)
    mismatched = {name: len(values) for name, values in columns.items() if len(values) != expected}
    if mismatched:
        found = ", ".join(f"{name}={length}" for name, length in mismatched.items())
        raise ValueError(f"GetMACDResponse columns differ in length: dates={expected}, {found}")
    return columns


def _parameters(response: indicator_service_pb2.GetMACDResponse) -> dict[str, int]:
    """The MACD periods the server used, as ``{"fast": .., "slow": .., "signal": ..}``."""
    parameters = response.parameters
    return {
        "fast": parameters.fast_period,
        "slow": parameters.slow_period,
        "signal": parameters.signal_period,
    }


def macd_frame(response: indicator_service_pb2.GetMACDResponse) -> pd.DataFrame:
    """A DataFrame of the bars and MACD values of ``response``.

    The index is a ``DatetimeIndex`` named ``"date"`` (the session dates,
    time-zone naive, at midnight). The columns are ``COLUMNS``, all float64.
    ``attrs["symbol"]`` is the canonical symbol the server used and
    ``attrs["parameters"]`` the periods it used, as a dict with keys
    ``fast``, ``slow`` and ``signal``. An empty response gives an empty frame
    with the same index type and columns.

    Raises:
        ValueError: if the columns of ``response`` differ in length.
    """
    columns = _columns(response)
    index = pd.DatetimeIndex(epoch_days_to_datetime64(response.bars.dates), name="date")
    frame = pd.DataFrame(
        {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()},
        index=index,
        columns=list(COLUMNS),
    )
    frame.attrs["symbol"] = response.symbol
    frame.attrs["parameters"] = _parameters(response)
    return frame


def macd_rows(response: indicator_service_pb2.GetMACDResponse) -> list[MACDRow]:
    """The bars and MACD values of ``response`` as one ``MACDRow`` per bar, in date order.

    Raises:
        ValueError: if the columns of ``response`` differ in length.
    """
    columns = _columns(response)
    dates: list[datetime.date] = epoch_days_to_datetime64(response.bars.dates).tolist()
    return [MACDRow(*values) for values in zip(dates, *columns.values(), strict=True)]
