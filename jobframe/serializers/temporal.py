"""Serializers for `datetime`, `date`, `time` and `timedelta`.

An ISO 8601 string keeps the wall time, microseconds and any fixed UTC offset; a `zoneinfo` zone
travels by its name, so the value comes back in the same zone, and ``fold`` travels when it is 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from jobframe.serializers.base import ObjectSerializer

T = TypeVar("T", dt.datetime, dt.time)


def _encode(value: dt.datetime | dt.time) -> dict[str, Any]:
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        data: dict[str, Any] = {"iso": value.replace(tzinfo=None).isoformat(), "zone": tz.key}
    else:
        # Any other tzinfo is kept as the UTC offset it gives this value: the instant survives.
        data = {"iso": value.isoformat()}
        offset = value.utcoffset()
        if offset is not None and offset.microseconds:
            # fromisoformat() of Python 3.11 drops sub-second offsets: carry them separately.
            data["offset_us"] = offset // dt.timedelta(microseconds=1)
        if isinstance(tz, dt.timezone) and tz is not dt.UTC:
            name = tz.tzname(None)
            if name != dt.timezone(tz.utcoffset(None)).tzname(None):
                data["name"] = name
    if value.fold:
        data["fold"] = 1
    return data


def _decode(value: T, data: dict[str, Any]) -> T:
    if "offset_us" in data:
        value = value.replace(tzinfo=dt.timezone(dt.timedelta(microseconds=data["offset_us"])))
    if "zone" in data:
        value = value.replace(tzinfo=ZoneInfo(data["zone"]))
    if "name" in data:
        value = value.replace(tzinfo=dt.timezone(value.utcoffset() or dt.timedelta(), data["name"]))
    return value.replace(fold=data.get("fold", 0))


class DateTimeSerializer(ObjectSerializer[dt.datetime]):
    """``{"iso": "2024-05-01T09:30:00.000001", "zone": "Europe/Paris"}``."""

    klass = dt.datetime
    name = "datetime"

    def serialize(self, obj: dt.datetime) -> dict[str, Any]:
        return _encode(obj)

    def deserialize(self, data: dict[str, Any]) -> dt.datetime:
        return _decode(dt.datetime.fromisoformat(data["iso"]), data)


class DateSerializer(ObjectSerializer[dt.date]):
    """``"2024-05-01"``."""

    klass = dt.date
    name = "date"

    def serialize(self, obj: dt.date) -> str:
        return obj.isoformat()

    def deserialize(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class TimeSerializer(ObjectSerializer[dt.time]):
    """``{"iso": "09:30:00+02:00"}``, with ``zone`` and ``fold`` like datetimes."""

    klass = dt.time
    name = "time"

    def serialize(self, obj: dt.time) -> dict[str, Any]:
        return _encode(obj)

    def deserialize(self, data: dict[str, Any]) -> dt.time:
        return _decode(dt.time.fromisoformat(data["iso"]), data)


class TimeDeltaSerializer(ObjectSerializer[dt.timedelta]):
    """``[days, seconds, microseconds]``: exact, unlike a float of seconds."""

    klass = dt.timedelta
    name = "timedelta"

    def serialize(self, obj: dt.timedelta) -> list[int]:
        return [obj.days, obj.seconds, obj.microseconds]

    def deserialize(self, data: list[int]) -> dt.timedelta:
        days, seconds, microseconds = data
        if not all(type(part) is int for part in data):
            raise TypeError("expected three integers")
        return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)
