"""When a recurring task is due: a cron expression or an interval, in a time zone.

Cron expressions (5 fields, or 6 with seconds first) are parsed and iterated by cronsim, a kept
library from PyPI (Healthchecks.io's), chosen over croniter for its time-zone handling, which
is Debian cron's: on a spring-forward day a time that does not exist (02:30 in Europe/Berlin on
2026-03-29) fires once, at the first instant after the gap (03:00); on a fall-back day a time
that happens twice fires once, at its first occurrence. cronsim also words an expression
(``explain``), which `Schedule.describe` uses. The macros (``@hourly``...) are expanded here,
and the intervals (``every 15 minutes``) are ours: they count from the Unix epoch (days from
the local calendar), so every scheduler on every host agrees on the ticks without sharing state.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_EVERY = re.compile(r"every\s+(?:(\d+)\s+)?(second|minute|hour|day)s?", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says what is accepted."""


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name`` (an IANA name such as ``Europe/Berlin``).

    Raises:
        ScheduleError: no such time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(
            f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from None


def _whole(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: pass an aware datetime (UTC)")
    return moment.astimezone(UTC).replace(microsecond=0)


class Schedule:
    """The ticks of a schedule in a time zone. Every instant it returns is an aware UTC
    datetime in whole seconds.

    Parameters:
        text: ``"0 3 * * *"`` (5-field cron), ``"*/10 * * * * *"`` (6 fields, seconds first),
            ``@hourly``/``@daily``/``@weekly``/``@monthly``/``@yearly``, or
            ``every N seconds|minutes|hours|days`` (``every minute`` is ``every 1 minute``).
        timezone: the IANA time zone cron fields and days are read in (default UTC).

    Raises:
        ScheduleError: the text or the time zone cannot be used; the message says why.
    """

    def __init__(self, text: str, timezone: str = "UTC") -> None:
        if not isinstance(text, str) or not text.strip():
            raise ScheduleError(f"a schedule must be a non-empty string, got {text!r}")
        self.text = " ".join(text.split())
        self.timezone = timezone
        self.zone = zone(timezone)
        self.interval: int | None = None  # seconds, for `every N ...`
        self.cron: str | None = None
        every = _EVERY.fullmatch(self.text)
        if every:
            count = int(every.group(1) or 1)
            if count < 1:
                raise ScheduleError(f"{text!r}: the interval must be at least 1")
            self.unit = every.group(2).lower()
            self.count = count
            self.interval = count * UNITS[self.unit]
            return
        cron = MACROS.get(self.text.lower(), self.text)
        if cron.startswith("@"):
            raise ScheduleError(f"unknown schedule macro {text!r}: use one of {', '.join(MACROS)}")
        try:
            CronSim(cron, datetime(2000, 1, 1, tzinfo=self.zone))
        except CronSimError as exc:
            raise ScheduleError(
                f"{text!r} is not a valid schedule ({exc}): use a 5-field cron expression "
                "('0 3 * * *'), 6 fields with seconds first ('*/10 * * * * *'), @hourly, "
                "@daily, @weekly, @monthly, or 'every N seconds|minutes|hours|days'"
            ) from None
        self.cron = cron

    def __repr__(self) -> str:
        return f"Schedule({self.text!r}, timezone={self.timezone!r})"

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``."""
        moment = _whole(moment)
        if self.cron is not None:
            local = moment.astimezone(self.zone)
            return _whole(next(CronSim(self.cron, local)))
        if self.unit == "day":
            return self._day_tick(moment, forward=True)
        assert self.interval is not None
        elapsed = int((moment - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=(elapsed // self.interval + 1) * self.interval)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last tick at or before ``moment`` (the one due at ``moment``)."""
        moment = _whole(moment)
        if self.cron is not None:
            local = (moment + _SECOND).astimezone(self.zone)
            tick = _whole(next(CronSim(self.cron, local, reverse=True)))
            # cronsim reverses through naive local times: in the second pass of a fall-back
            # hour (02:00-02:59 CET on 2026-10-25) it loses the fold and returns the tick
            # before the latest one. Its forward steps are right, so step forward to the latest.
            while (following := self.next_after(tick)) <= moment:
                tick = following
            return tick
        if self.unit == "day":
            return self._day_tick(moment, forward=False)
        assert self.interval is not None
        elapsed = int((moment - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=(elapsed // self.interval) * self.interval)

    def _day_tick(self, moment: datetime, forward: bool) -> datetime:
        """Local midnight of the days whose proleptic ordinal is a multiple of the count."""
        day = moment.astimezone(self.zone).date()
        ordinal = day.toordinal() - day.toordinal() % self.count
        while True:
            tick = _midnight(date.fromordinal(ordinal), self.zone)
            if forward and tick > moment:
                # the ticks of this cycle and the next bracket `moment`: step back to the first
                previous = _midnight(date.fromordinal(ordinal - self.count), self.zone)
                if previous > moment:
                    ordinal -= self.count
                    continue
                return tick
            if not forward and tick <= moment:
                return tick
            ordinal += self.count if forward else -self.count

    def describe(self) -> str:
        """The schedule in words: ``"At 08:00 on Monday"``, ``"Every 15 minutes"``."""
        if self.cron is not None:
            return str(CronSim(self.cron, datetime(2000, 1, 1, tzinfo=self.zone)).explain())
        if self.count == 1:
            return f"Every {self.unit}" + (" at midnight" if self.unit == "day" else "")
        words = f"Every {self.count} {self.unit}s"
        return words + (" at midnight" if self.unit == "day" else "")


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz`` (a zone whose clocks skip midnight starts the day
    at the end of the gap)."""
    local = datetime.combine(day, time(0), tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        instant = datetime.combine(day, time(0), tzinfo=tz).replace(fold=1).astimezone(UTC)
    return instant


__all__ = ["Schedule", "ScheduleError", "zone"]
