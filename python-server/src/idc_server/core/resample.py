"""Bars at a coarser interval: sessions respected, weeks and months anchored as 通达信 does (decision 0022).

Every coarser bar is a run of consecutive stored bars with the same key
(the session bucket, the trading day, the week or the month), aggregated
with NumPy's ``reduceat``: open the first open, high the highest high, low
the lowest low, close the last close, volume the sum; no Python loop runs
per bar.

- Minute and hour bars are anchored at each session's open in the
  exchange's zone: the 60-minute bars of a 09:30-11:30 session start at
  09:30 and 10:30, and no bar spans a session break. A session whose length
  is not a multiple of the interval ends with a shorter bar (New York's
  15:30 hour bar ends at 16:00). A stored bar outside every session (a
  16:00 closing print) joins the last bucket of the session before it, or
  the first of the day's first session if it comes before that.
- A day is the trading day in the exchange's zone (``History.days``).
- A week runs Monday to Sunday and a month is a calendar month; both are
  timed at 00:00 of their first calendar day (Monday, the 1st) and dated
  by the last trading day they hold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from idc_server.core.bars import (
    DAY_SECONDS,
    History,
    Interval,
    Sessions,
    local_times,
    times_of_days,
)


def resample(history: History, interval: Interval) -> History:
    """``history`` at ``interval``, which must be its own or a coarser one (ValueError otherwise).

    The result's version is the history's with the interval appended, so
    caches keyed by version tell intervals apart.
    """
    if interval is history.interval:
        return history
    if interval not in history.interval.servable():
        raise ValueError(f"bars stored at {history.interval.value} cannot be served at {interval.value}")
    if len(history) == 0:
        raise ValueError("no bars to resample")
    days = history.days.astype(np.int64)
    if interval.intraday:
        assert interval.minutes is not None
        keys, starts_local = _session_buckets(history, interval.minutes, history.sessions)
    elif interval is Interval.ONE_DAY:
        keys = days
    elif interval is Interval.ONE_WEEK:
        keys = (days + 3) // 7  # 1970-01-01 was a Thursday: week k starts on day 7k - 3, a Monday
    else:
        keys = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    last = np.r_[first[1:], len(keys)] - 1
    columns = _aggregate(history, first, last)
    if interval.intraday:
        # A bucket starts at its first bar's time less that bar's distance from the bucket's local start.
        times = history.times[first] - (starts_local[first] - _bucket_local_seconds(keys[first]))
        out_days: npt.NDArray[np.int64] = days[first]
    elif interval is Interval.ONE_DAY:
        out_days = days[first]
        times = times_of_days(out_days, history.time_zone)
    else:
        out_days = days[last]
        if interval is Interval.ONE_WEEK:
            period_days = keys[first] * 7 - 3
        else:
            period_days = keys[first].astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        times = times_of_days(period_days, history.time_zone)
    return History.from_columns(
        times,
        columns,
        interval=interval,
        time_zone=history.time_zone,
        factors=None if history.factors is None else history.factors[last],
        version=f"{history.version}|{interval.name}",
        days=out_days,
        sessions=history.sessions,
    )


def _aggregate(
    history: History, first: npt.NDArray[np.intp], last: npt.NDArray[np.intp]
) -> dict[str, npt.NDArray[np.float64]]:
    """o/h/l/c/v of each run of bars ``first[i]..last[i]``."""
    columns = history.columns
    return {
        "open": columns["open"][first],
        "high": np.maximum.reduceat(columns["high"], first),
        "low": np.minimum.reduceat(columns["low"], first),
        "close": columns["close"][last],
        "volume": np.add.reduceat(columns["volume"], first),
    }


_KEY_MINUTES = 24 * 60  # a bucket key is local day * minutes per day + the bucket's start minute


def _session_buckets(
    history: History, minutes: int, sessions: Sessions
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each bar's bucket key, and its local wall-clock time in seconds since 1970-01-01 (local)."""
    local = np.asarray(local_times(history.times, history.time_zone).as_unit("s").asi8, dtype=np.int64)
    day, second = np.divmod(local, DAY_SECONDS)
    minute = second // 60
    opens = np.array([session.open for session in sessions], dtype=np.int64)
    closes = np.array([session.close for session in sessions], dtype=np.int64)
    last_starts = opens + (closes - opens - 1) // minutes * minutes
    index = np.clip(np.searchsorted(opens, minute, side="right") - 1, 0, len(sessions) - 1)
    start = opens[index] + (minute - opens[index]) // minutes * minutes
    start = np.clip(start, opens[index], last_starts[index])
    return day * _KEY_MINUTES + start, local


def _bucket_local_seconds(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """A bucket key's local start in seconds since 1970-01-01 (local)."""
    day, minute = np.divmod(keys, _KEY_MINUTES)
    return np.asarray(day * DAY_SECONDS + minute * 60, dtype=np.int64)
