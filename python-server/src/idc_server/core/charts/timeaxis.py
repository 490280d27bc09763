"""The x axis: bar ``i`` sits at ``x = i`` (no gaps for nights, weekends, holidays or lunch breaks).

Ticks are chosen from the bars' timestamps so that labels never overlap
and never run off the image:

- Daily bars (every timestamp at midnight, one per day): for windows of
  three months or more, the first trading day of every 1, 2, 3 or 6 months
  ("2023-03") or 1, 2, 5, 10, 20 or 50 years ("2023"); shorter windows
  every k-th bar ("2023-03-15").
- Intraday bars: the first bar of each session is labelled with its date
  ("03-15") and bars within a session where the clock crosses a multiple
  of 1 minute to 6 hours with their time ("10:30", "13:00" after a lunch
  break); when sessions are too short on screen for times, only sessions
  are labelled, as daily bars are.

Label widths are estimated from the font size (DejaVu Sans digits are
0.64 em wide), with two characters of air between labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

_CHAR_EM = 0.64
_AIR_CHARS = 2.0
_MONTHS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600)
_BAR_STEPS = (1, 2, 3, 5, 10, 15, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)
_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360)


@dataclass(frozen=True, slots=True)
class AxisGeometry:
    """Where bars land on the image, in pixels: bar 0's centre, the width of one bar, the image width."""

    first_px: float
    slot_px: float
    image_px: float
    font_px: float

    def gap(self, chars: int) -> float:
        """The least distance between two ticks, in bars, for labels of ``chars`` characters."""
        return (chars + _AIR_CHARS) * _CHAR_EM * self.font_px / self.slot_px

    def fits(self, position: int, label: str) -> bool:
        """Whether a label centred on the bar lies within the image."""
        centre = self.first_px + position * self.slot_px
        half = len(label) * _CHAR_EM * self.font_px / 2.0
        return centre - half >= 0.0 and centre + half <= self.image_px


def is_intraday(stamps: pd.DatetimeIndex) -> bool:
    """Whether the bars are shorter than a day: a time of day other than midnight, or two bars on one date."""
    if len(stamps) == 0:
        return False
    if not (stamps == stamps.normalize()).all():
        return True
    return bool(stamps.normalize().has_duplicates)


def span_text(stamps: pd.DatetimeIndex) -> str:
    """The window for a title: "2023-07-03 – 2023-12-29", with times for intraday bars."""
    fmt = "%Y-%m-%d %H:%M" if is_intraday(stamps) else "%Y-%m-%d"
    first, last = stamps[0].strftime(fmt), stamps[-1].strftime(fmt)
    return first if first == last else f"{first} – {last}"


def time_ticks(stamps: pd.DatetimeIndex, geometry: AxisGeometry) -> tuple[list[int], list[str]]:
    """Tick positions (bar indexes, increasing) and their labels; see the module docstring."""
    if len(stamps) == 0:
        return [], []
    if is_intraday(stamps):
        positions, labels = _intraday_ticks(stamps, geometry)
    else:
        positions, labels = _daily_ticks(stamps, np.arange(len(stamps)), geometry)
    kept = [(p, label) for p, label in zip(positions, labels, strict=True) if geometry.fits(p, label)]
    return [p for p, _ in kept], [label for _, label in kept]


def _daily_ticks(
    days: pd.DatetimeIndex, at: np.ndarray, geometry: AxisGeometry, day_format: str = "%Y-%m-%d"
) -> tuple[list[int], list[str]]:
    """Ticks over one timestamp per day; ``at`` holds each day's bar position."""
    n = len(days)
    if n > 1 and (days[-1] - days[0]).days >= 90:
        for months in _MONTHS:
            chars = 4 if months >= 12 else 7
            indexes = _period_starts(days, months)
            if len(indexes) >= 2 and np.diff(at[indexes]).min() >= geometry.gap(chars):
                fmt = "%Y" if months >= 12 else "%Y-%m"
                return [int(at[i]) for i in indexes], [days[i].strftime(fmt) for i in indexes]
    chars = len(days[0].strftime(day_format))
    spacing = np.diff(at).min() if n > 1 else 1
    step = next((s for s in _BAR_STEPS if s * spacing >= geometry.gap(chars)), n)
    indexes = list(range(0, n, step))
    return [int(at[i]) for i in indexes], [days[i].strftime(day_format) for i in indexes]


def _period_starts(dates: pd.DatetimeIndex, months: int) -> list[int]:
    """Positions of the first trading day of each period of ``months`` months.

    A period that begins before the window counts only if the window starts
    within its first week, so a window starting mid-month gets no misleading
    month tick at 0; a later period counts at its first bar, however late
    (the first trading day after a week-long holiday).
    """
    first = dates[0].year * 12 + dates[0].month - 1
    last = dates[-1].year * 12 + dates[-1].month - 1
    periods = range(math.ceil(first / months) * months, last + 1, months)
    starts = pd.DatetimeIndex([pd.Timestamp(year=p // 12, month=p % 12 + 1, day=1) for p in periods])
    if dates.tz is not None:
        starts = starts.tz_localize(dates.tz)
    idx = dates.searchsorted(starts)
    week = pd.Timedelta(days=7)
    return [
        int(i)
        for i, start in zip(idx.tolist(), starts, strict=True)
        if i < len(dates) and (i > 0 or dates[0] < start + week)
    ]


def _intraday_ticks(stamps: pd.DatetimeIndex, geometry: AxisGeometry) -> tuple[list[int], list[str]]:
    """Session opens labelled with their date, reopenings after a break and clock times with their time.

    Ticks are taken greedily by rank (session opens, then reopenings after a
    break such as lunch, then clock times), each at least a label's width
    from those already taken. Clock times use the smallest step in
    ``_MINUTES`` whose ticks are not crowded by one another.
    """
    day = stamps.normalize()
    new_day = np.ones(len(stamps), dtype=bool)
    new_day[1:] = day[1:] != day[:-1]
    starts = np.flatnonzero(new_day)
    gap = geometry.gap(5)
    if len(starts) > 1 and np.diff(starts).min() < gap:
        # Sessions too narrow for times: label sessions as days.
        return _daily_ticks(day[starts], starts, geometry, day_format="%m-%d")
    step_ns = np.diff(stamps.asi8)
    usual = float(np.median(step_ns[~new_day[1:]])) if (~new_day[1:]).any() else 0.0
    reopen = np.flatnonzero(~new_day[1:] & (step_ns > 1.5 * usual)) + 1 if usual > 0 else np.array([], dtype=np.int64)
    taken = list(starts.tolist())
    for position in reopen.tolist():
        if _clear(taken, position, gap):
            taken.append(position)
    minutes = (stamps - day).total_seconds().to_numpy() // 60
    for step in _MINUTES:
        slot = minutes // step
        crossing = np.flatnonzero(~new_day[1:] & (slot[1:] != slot[:-1])) + 1
        crossing = crossing[~np.isin(crossing, reopen)]
        if len(crossing) > 1 and np.diff(crossing).min() < gap:
            continue  # clock ticks crowd one another: a longer step
        for position in crossing.tolist():
            if _clear(taken, position, gap):
                taken.append(position)
        break
    positions = sorted(taken)
    is_start = set(starts.tolist())
    labels = [stamps[p].strftime("%m-%d" if p in is_start else "%H:%M") for p in positions]
    return positions, labels


def _clear(taken: list[int], position: int, gap: float) -> bool:
    """Whether ``position`` is at least ``gap`` bars from every taken tick."""
    return all(abs(position - other) >= gap for other in taken)
