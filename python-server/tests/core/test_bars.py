"""The rules of bars, shared by inline bars and data files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idc_server.core.bars import (
    FIRST_TIME,
    INCONSISTENCY_TOLERANCE,
    MAX_ABS_PRICE,
    MAX_VOLUME,
    BarsError,
    BarsIssue,
    History,
    Interval,
    Session,
    check_bars,
    check_timed_bars,
    days_of_times,
    parse_sessions,
    times_of_days,
)
from idc_server.core.data import bars_from_columns
from idc_server.core.indicators import INDICATORS, Convention


def columns(**changes: list[float]) -> dict[str, np.ndarray]:
    plain = {"open": [10.0] * 3, "high": [11.0] * 3, "low": [9.0] * 3, "close": [10.5] * 3, "volume": [100.0] * 3}
    return {name: np.asarray(values, dtype="float64") for name, values in (plain | changes).items()}


DAYS = np.array([1, 2, 3], dtype=np.int64)


def test_plain_bars_pass_with_no_warnings() -> None:
    check = check_bars(DAYS, columns())
    assert (check.warning_count, check.first_warning) == (0, None)


def test_the_first_bad_bar_is_named_with_its_column_and_position() -> None:
    with pytest.raises(BarsError) as caught:
        check_bars(DAYS, columns(close=[10.0, float("nan"), float("inf")]))
    assert caught.value.issue == BarsIssue("close", 1, "nan is not a finite number")


def test_the_bounds_themselves_are_allowed() -> None:
    check_bars(DAYS, columns(high=[MAX_ABS_PRICE] * 3, low=[-MAX_ABS_PRICE] * 3, volume=[0.0, MAX_VOLUME, 1.0]))
    with pytest.raises(BarsError, match="outside"):
        check_bars(DAYS, columns(high=[np.nextafter(MAX_ABS_PRICE, np.inf)] * 3))


def test_warnings_count_rows_and_describe_the_earliest() -> None:
    # Row 2 has open and close outside: one row. Row 1's close is the earliest.
    check = check_bars(DAYS, columns(open=[10.0, 10.0, 12.0], close=[10.5, 8.0, 8.5]))
    assert check.warning_count == 2
    assert check.first_warning == BarsIssue("close", 1, "8.0 is below low 9.0")


def test_float_noise_within_the_tolerance_is_no_warning() -> None:
    just_inside = 11.0 * (1 + INCONSISTENCY_TOLERANCE / 2)
    just_outside = 11.0 * (1 + INCONSISTENCY_TOLERANCE * 2)
    assert check_bars(DAYS, columns(close=[just_inside, 10.5, 10.5])).warning_count == 0
    assert check_bars(DAYS, columns(close=[just_outside, 10.5, 10.5])).warning_count == 1


def test_bars_at_the_bounds_give_finite_indicators() -> None:
    # The bounds are chosen so that no indicator of bars inside them overflows.
    rng = np.random.default_rng(7)
    count = 300
    low = rng.uniform(-MAX_ABS_PRICE, MAX_ABS_PRICE, count)
    high = np.minimum(low + rng.uniform(0, 2 * MAX_ABS_PRICE, count), MAX_ABS_PRICE)
    columns = {"open": high, "high": high, "low": low, "close": low, "volume": np.full(count, MAX_VOLUME)}
    frame = bars_from_columns(np.arange(count), columns, max_bars=count)
    for name, indicator in INDICATORS.items():
        for convention in Convention:
            outputs = indicator.compute(frame, indicator.parameters(), convention)
            values = outputs[list(indicator.outputs)].to_numpy()
            assert not np.isinf(values).any(), f"{name} {convention.name} overflows"


# 2020-07-01 09:30 and 09:31 in Shanghai (UTC+8): 01:30Z is 18444 days and 5400 s after the epoch.
SHANGHAI_OPEN = 18444 * 86_400 + 5_400
TIMES = np.array([SHANGHAI_OPEN, SHANGHAI_OPEN + 60, SHANGHAI_OPEN + 120], dtype=np.int64)


def test_timed_bars_name_the_first_time_out_of_order() -> None:
    assert check_timed_bars(TIMES, columns()).warning_count == 0
    with pytest.raises(BarsError) as caught:
        check_timed_bars(np.array([TIMES[0], TIMES[2], TIMES[1]]), columns())
    assert caught.value.issue == BarsIssue(
        "times", 2, "2020-07-01T01:31:00Z follows 2020-07-01T01:32:00Z; times must be strictly increasing"
    )
    with pytest.raises(BarsError, match="01:30:00Z follows 2020-07-01T01:30:00Z"):
        check_timed_bars(np.array([TIMES[0], TIMES[0], TIMES[1]]), columns())  # a duplicate
    with pytest.raises(BarsError, match="outside"):
        check_timed_bars(np.array([FIRST_TIME - 1, *TIMES[1:]]), columns())


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_factors_must_be_finite_and_above_zero(bad: float) -> None:
    check_timed_bars(TIMES, columns(), np.array([1.0, 2.0, 2.0]))
    with pytest.raises(BarsError) as caught:
        check_timed_bars(TIMES, columns(), np.array([1.0, bad, 2.0]))
    assert (caught.value.issue.column, caught.value.issue.row) == ("adjustment_factors", 1)
    with pytest.raises(BarsError, match="2 factors for 3 bars"):
        check_timed_bars(TIMES, columns(), np.array([1.0, 2.0]))


def test_a_history_of_minutes_knows_its_trading_day_and_wall_clock() -> None:
    history = History.from_columns(
        TIMES, columns(), interval=Interval.ONE_MINUTE, time_zone="Asia/Shanghai", version="v1"
    )
    assert history.days.tolist() == [18444] * 3  # 2020-07-01
    assert [f"{stamp:%H:%M}" for stamp in history.frame.index] == ["09:30", "09:31", "09:32"]
    assert (history.version, history.factors, len(history)) == ("v1", None, 3)
    assert not history.times.flags.writeable


def test_daily_times_are_midnight_in_the_zone_across_a_clock_change() -> None:
    # New York moved to daylight time on 2020-03-08: midnight is 05:00Z before, 04:00Z after.
    days = np.array([18328, 18330], dtype=np.int32)  # 2020-03-07, 2020-03-09
    assert times_of_days(days, "America/New_York").tolist() == [18328 * 86_400 + 18_000, 18330 * 86_400 + 14_400]
    frame = pd.DataFrame(columns(), index=pd.DatetimeIndex(["2020-03-06", "2020-03-09", "2020-03-10"], name="date"))
    history = History(frame, time_zone="America/New_York")
    assert history.interval is Interval.ONE_DAY
    assert history.days.tolist() == [18327, 18330, 18331]
    assert days_of_times(history.times, "America/New_York").tolist() == history.days.tolist()


def test_inline_versions_differ_by_interval_and_factors() -> None:
    def made(interval: Interval, factors: list[float] | None) -> str:
        return History.from_columns(
            TIMES, columns(), interval=interval, time_zone="UTC", factors=factors, version=None
        ).version

    assert (
        len({made(Interval.ONE_MINUTE, None), made(Interval.ONE_HOUR, None), made(Interval.ONE_MINUTE, [1, 1, 2])}) == 3
    )


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone"):
        History.from_columns(TIMES, columns(), interval=Interval.ONE_MINUTE, time_zone="Mars/Olympus", version=None)


def test_servable_intervals_are_the_stored_one_and_every_coarser() -> None:
    assert Interval.ONE_HOUR.servable() == (Interval.ONE_HOUR, Interval.ONE_DAY, Interval.ONE_WEEK, Interval.ONE_MONTH)
    assert (Interval.FIVE_MINUTES.minutes, Interval.ONE_DAY.minutes, Interval.ONE_DAY.intraday) == (5, None, False)


def test_sessions_are_parsed_in_order_and_checked() -> None:
    assert parse_sessions(["09:30-11:30", "13:00-15:00"]) == (Session(570, 690), Session(780, 900))
    assert str(parse_sessions(["00:00-24:00"])[0]) == "00:00-24:00"
    for bad, reason in (
        (["9:30-11:30"], "HH:MM-HH:MM"),
        (["11:30-09:30"], "open before it closes"),
        (["09:30-24:01"], "within 00:00-24:00"),
        (["09:30-11:30", "11:00-15:00"], "begins before the session 09:30-11:30 ends"),
        ([], "at least one"),
    ):
        with pytest.raises(ValueError, match=reason):
            parse_sessions(bad)
