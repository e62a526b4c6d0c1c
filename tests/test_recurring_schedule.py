"""`Schedule`: cron (5 and 6 fields), macros and intervals, in a time zone, across DST.

The DST cases are pinned to 2026 in Europe/Berlin: on 2026-03-29 the clocks go from 02:00 to
03:00 (02:30 does not exist), on 2026-10-25 from 03:00 back to 02:00 (02:30 happens twice).
They are checked on the schedule alone, and on a `Scheduler` driven by a fake clock.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fixture_jobs.hello_job import HelloJob

from jobframe.queue_adapters.test import TestAdapter
from jobframe.recurrence import RecurringTask, Schedule, ScheduleError, Scheduler

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_FORWARD = date(2026, 3, 29)
FALL_BACK = date(2026, 10, 25)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)


def ticks(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """The ticks in [start, end)."""
    tick = schedule.latest_at_or_before(start)
    if tick < start:
        tick = schedule.next_after(tick)
    while tick < end:
        yield tick
        tick = schedule.next_after(tick)


def ticks_on(schedule: Schedule, day: date) -> list[datetime]:
    """The ticks whose local date (Berlin) is ``day``."""
    return list(ticks(schedule, local_midnight(day), local_midnight(day + timedelta(days=1))))


# --- syntax ------------------------------------------------------------------------------------


def test_a_five_field_cron_ticks_on_the_minute() -> None:
    schedule = Schedule("0 8 * * mon")
    assert schedule.cron == "0 8 * * mon" and schedule.interval is None
    # 2026-01-05 is a Monday
    assert schedule.next_after(utc(2026, 1, 1)) == utc(2026, 1, 5, 8)
    assert schedule.next_after(utc(2026, 1, 5, 8)) == utc(2026, 1, 12, 8)
    assert schedule.latest_at_or_before(utc(2026, 1, 12, 7, 59, 59)) == utc(2026, 1, 5, 8)


def test_a_six_field_cron_has_seconds_first() -> None:
    schedule = Schedule("*/10 * * * * *")
    assert schedule.next_after(utc(2026, 1, 5, 8, 0, 0)) == utc(2026, 1, 5, 8, 0, 10)
    assert schedule.next_after(utc(2026, 1, 5, 8, 0, 55)) == utc(2026, 1, 5, 8, 1, 0)
    assert schedule.latest_at_or_before(utc(2026, 1, 5, 8, 0, 19)) == utc(2026, 1, 5, 8, 0, 10)
    # the minute field is the second one: 15 * ... is minute 15's first second, not 15 minutes
    assert Schedule("0 15 * * * *").next_after(utc(2026, 1, 5, 8)) == utc(2026, 1, 5, 8, 15)


@pytest.mark.parametrize(
    ("macro", "after", "expected"),
    [
        ("@hourly", utc(2026, 1, 5, 8, 0, 1), utc(2026, 1, 5, 9)),
        ("@daily", utc(2026, 1, 5, 8), utc(2026, 1, 6)),
        ("@midnight", utc(2026, 1, 5, 8), utc(2026, 1, 6)),
        ("@weekly", utc(2026, 1, 5, 8), utc(2026, 1, 11)),  # Sunday
        ("@monthly", utc(2026, 1, 5, 8), utc(2026, 2, 1)),
        ("@yearly", utc(2026, 1, 5, 8), utc(2027, 1, 1)),
        ("@annually", utc(2026, 1, 5, 8), utc(2027, 1, 1)),
        ("@DAILY", utc(2026, 1, 5, 8), utc(2026, 1, 6)),
    ],
)
def test_each_macro(macro: str, after: datetime, expected: datetime) -> None:
    assert Schedule(macro).next_after(after) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("every second", 1),
        ("every 30 seconds", 30),
        ("every minute", 60),
        ("every 1 minute", 60),
        ("every 15 minutes", 900),
        ("Every 15  Minutes", 900),
        ("every 2 hours", 7200),
        ("every day", 86400),
        ("every 3 days", 3 * 86400),
    ],
)
def test_every_n_units(text: str, seconds: int) -> None:
    assert Schedule(text).interval == seconds


def test_seconds_minutes_and_hours_count_from_the_unix_epoch_in_any_zone() -> None:
    # so every scheduler on every host agrees on the ticks without sharing anything
    for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata"):
        quarter = Schedule("every 15 minutes", zone)
        assert quarter.next_after(utc(2026, 1, 5, 8, 7)) == utc(2026, 1, 5, 8, 15)
        assert quarter.latest_at_or_before(utc(2026, 1, 5, 8, 7)) == utc(2026, 1, 5, 8)
        # 7 seconds never divides an hour: the ticks are multiples of 7 s since 1970
        seven = Schedule("every 7 seconds", zone).next_after(utc(2026, 1, 5, 8))
        assert int(seven.timestamp()) % 7 == 0
        assert utc(2026, 1, 5, 8) < seven <= utc(2026, 1, 5, 8, 0, 7)
        # 5 hours: 1970-01-01T00:00 UTC, then every 5 hours, whatever the zone
        assert (
            Schedule("every 5 hours", zone).next_after(utc(2026, 1, 5, 8)).timestamp() % (5 * 3600)
            == 0
        )


def test_days_tick_at_local_midnight() -> None:
    daily = Schedule("every day", "Europe/Berlin")
    assert daily.next_after(utc(2026, 1, 5, 8)) == utc(2026, 1, 5, 23)  # 00:00 CET
    assert daily.next_after(utc(2026, 7, 5, 8)) == utc(2026, 7, 5, 22)  # 00:00 CEST
    every_two = Schedule("every 2 days", "Europe/Berlin")
    first = every_two.next_after(utc(2026, 1, 5, 8))
    assert first.astimezone(BERLIN).time().isoformat() == "00:00:00"
    assert every_two.next_after(first) - first == timedelta(days=2)
    # across the spring-forward day the interval is 47 hours of real time, still local midnight
    start = every_two.latest_at_or_before(local_midnight(SPRING_FORWARD))
    after = every_two.next_after(start)
    assert [t.astimezone(BERLIN).hour for t in (start, after)] == [0, 0]
    assert (after.astimezone(BERLIN).date() - start.astimezone(BERLIN).date()).days == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0 8 * * mon", "At 08:00 on Monday"),
        ("@hourly", "At the start of every hour"),
        ("@daily", "At 00:00 every day"),
        ("*/10 * * * * *", "Every 10th second of every minute"),
        ("every minute", "Every minute"),
        ("every 15 minutes", "Every 15 minutes"),
        ("every day", "Every day at midnight"),
        ("every 2 days", "Every 2 days at midnight"),
    ],
)
def test_describe(text: str, words: str) -> None:
    assert Schedule(text).describe() == words


# --- ticks at and around an instant ------------------------------------------------------------


@pytest.mark.parametrize("text", ["0 8 * * *", "*/10 * * * * *", "every 15 minutes", "@hourly"])
def test_next_after_is_strictly_after_and_latest_is_at_or_before(text: str) -> None:
    schedule = Schedule(text, "Europe/Berlin")
    tick = schedule.next_after(utc(2026, 5, 1, 12))
    assert schedule.latest_at_or_before(tick) == tick  # at a tick: that tick is due
    assert schedule.latest_at_or_before(tick - timedelta(seconds=1)) < tick
    assert schedule.latest_at_or_before(tick + timedelta(seconds=1)) == tick
    assert schedule.latest_at_or_before(tick + timedelta(microseconds=999_999)) == tick
    assert schedule.next_after(tick) > tick
    assert schedule.next_after(tick - timedelta(seconds=1)) == tick


def test_instants_are_whole_utc_seconds_and_must_be_aware() -> None:
    schedule = Schedule("* * * * * *", "Asia/Tokyo")
    tick = schedule.next_after(datetime(2026, 1, 5, 17, 0, 0, 250_000, tzinfo=BERLIN))
    assert tick == utc(2026, 1, 5, 16, 0, 1) and tick.tzinfo is UTC and tick.microsecond == 0
    with pytest.raises(ValueError, match="no time zone"):
        schedule.next_after(datetime(2026, 1, 5))


# --- bad schedules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must be a non-empty string"),
        ("   ", "must be a non-empty string"),
        ("61 * * * *", r"'61 \* \* \* \*' is not a valid schedule \(Bad minute\): use a 5-field"),
        ("* * *", "Wrong number of fields.*6 fields with seconds first"),
        ("every 5 weeks", "not a valid schedule.*every N seconds|minutes|hours|days"),
        ("every 0 minutes", "the interval must be at least 1"),
        ("@sometimes", "unknown schedule macro '@sometimes': use one of @yearly"),
        ("0 8 * * funday", "not a valid schedule"),
    ],
)
def test_a_bad_schedule_says_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule(text)


def test_a_schedule_must_be_a_string() -> None:
    with pytest.raises(ScheduleError, match="non-empty string, got 5"):
        Schedule(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CEST", "", "../etc/passwd"])
def test_an_unknown_time_zone_names_it_and_suggests_iana_names(zone: str) -> None:
    with pytest.raises(ScheduleError, match=f"unknown time zone {zone!r}: use an IANA name"):
        Schedule("@daily", zone)


# --- DST, on the schedule alone ----------------------------------------------------------------


def test_a_0230_daily_task_fires_once_on_the_spring_forward_day() -> None:
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    [tick] = ticks_on(schedule, SPRING_FORWARD)
    # 02:30 does not exist: Debian cron's rule runs it at the end of the gap, 03:00 CEST
    assert tick == utc(2026, 3, 29, 1)
    assert tick.astimezone(BERLIN).isoformat() == "2026-03-29T03:00:00+02:00"
    assert [len(ticks_on(schedule, SPRING_FORWARD + timedelta(days=d))) for d in (-1, 1)] == [1, 1]


def test_a_0230_daily_task_fires_once_on_the_fall_back_day() -> None:
    schedule = Schedule("30 2 * * *", "Europe/Berlin")
    [tick] = ticks_on(schedule, FALL_BACK)
    # 02:30 happens twice: it runs at the first, 02:30 CEST
    assert tick == utc(2026, 10, 25, 0, 30)
    assert tick.astimezone(BERLIN).isoformat() == "2026-10-25T02:30:00+02:00"
    assert [len(ticks_on(schedule, FALL_BACK + timedelta(days=d))) for d in (-1, 1)] == [1, 1]


@pytest.mark.parametrize(("day", "count"), [(SPRING_FORWARD, 23), (FALL_BACK, 25)])
def test_an_hourly_task_follows_the_length_of_the_day(day: date, count: int) -> None:
    found = ticks_on(Schedule("@hourly", "Europe/Berlin"), day)
    assert len(found) == count
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(found))


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
@pytest.mark.parametrize("text", ["30 2 * * *", "@hourly", "0 */2 * * *", "every day"])
def test_latest_and_next_agree_at_every_minute_of_a_dst_day(text: str, day: date) -> None:
    """latest_at_or_before(m) <= m < next_after(latest_at_or_before(m)), minute by minute (the
    second pass of the fall-back hour once made cronsim's reverse skip the day's tick)."""
    schedule = Schedule(text, "Europe/Berlin")
    moment, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    while moment < end:
        for instant in (moment, moment + timedelta(seconds=59)):
            latest = schedule.latest_at_or_before(instant)
            assert latest <= instant < schedule.next_after(latest), (text, instant, latest)
        moment += timedelta(minutes=1)


# --- DST, with a Scheduler on the test adapter and a fake clock ---------------------------------


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scheduled_per_local_day(schedule: str, days: list[date], step: timedelta) -> Counter[date]:
    """Run a `Scheduler` whose clock steps through ``days`` by ``step``; count the jobs it
    enqueued per local (Berlin) day of their ``scheduled_at``."""
    adapter = TestAdapter()
    task = RecurringTask.build("dst", HelloJob, schedule, timezone="Europe/Berlin")
    clock = FakeClock(local_midnight(days[0]) - timedelta(seconds=1))
    scheduler = Scheduler(adapter, [task], clock=clock)
    end = local_midnight(days[-1] + timedelta(days=1))
    while clock.now + step < end:
        clock.now += step
        scheduler.run_once()
    counts: Counter[date] = Counter()
    for record in adapter.enqueued_jobs:
        assert record.payload["recurring_task"] == "dst"
        scheduled = datetime.fromisoformat(record.payload["scheduled_at"])
        counts[scheduled.astimezone(BERLIN).date()] += 1
    return counts


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
def test_a_scheduler_enqueues_the_0230_task_once_on_each_dst_day(day: date) -> None:
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    counts = scheduled_per_local_day("30 2 * * *", days, timedelta(minutes=1))
    assert counts == Counter({d: 1 for d in days})


@pytest.mark.parametrize(("day", "hours"), [(SPRING_FORWARD, 23), (FALL_BACK, 25)])
def test_a_scheduler_enqueues_an_hourly_task_once_per_hour_of_a_dst_day(
    day: date, hours: int
) -> None:
    counts = scheduled_per_local_day("@hourly", [day], timedelta(minutes=1))
    assert counts == Counter({day: hours})
