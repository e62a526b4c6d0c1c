"""Run times per job class on Redis (`jobframe.backend.timings`).

One hash per UTC minute, ``{p}:t:<epoch minute>``, with four kinds of field per class that had
a run end in that minute: ``<class>|c`` (runs), ``<class>|f`` (of them, failed),
``<class>|ms`` (total run time, milliseconds, a float) and ``<class>|b<i>`` (runs in bucket
``i`` of `jobframe.backend.timings.BUCKETS_MS`; absent when none). complete.lua adds to it with
the outcomes it settles, one ``HINCRBY`` per field and class per call, and sets the hash to
expire `TTL_SECONDS` after its last write, so no upkeep ever has to purge it. A day of one
class is at most 1,500 small hashes.
"""

from __future__ import annotations

import re
from typing import Any

from jobframe.backend.timings import BUCKETS_MS, RETENTION_MINUTES, ClassTiming, bucket_of
from jobframe.backend.worker import Outcome
from jobframe_redis.connection import now_ms

#: a minute's hash is written during that minute only, then kept for the retention
TTL_SECONDS = (RETENTION_MINUTES + 1) * 60

#: jobframe's payloads start with these fields (`jobframe.job.core.Core.serialize`)
_JOB_CLASS = re.compile(rb'\{"version":\d+,"job_class":"([^"\\]*)"')

#: what an outcome that is not counted sends (it did not perform, or its class is unknown)
NOT_TIMED = ("", "", "")


def timing_args(outcome: Outcome) -> tuple[Any, ...]:
    """complete.lua's (job class, run time ms, bucket) for ``outcome``: `NOT_TIMED` when it
    did not perform (``Outcome.runtime`` is None) or its class is unknown (a raw payload the
    worker did not load)."""
    runtime = outcome.runtime
    if runtime is None:
        return NOT_TIMED
    job_class = outcome.job_class
    if not job_class:
        found = _JOB_CLASS.match(outcome.claim.payload)
        if found is None:
            return NOT_TIMED
        job_class = found.group(1).decode()
    ms = max(runtime, 0.0) * 1000
    return job_class, round(ms, 3), bucket_of(ms)


def read(
    client: Any, stem: str, since: int, until: int | None, job_class: str | None
) -> list[ClassTiming]:
    """`jobframe.backend.inspector.Inspector.timings`: the minutes from ``since`` to
    ``until`` (default: now), clamped to the retention, in one pipeline of ``HGETALL`` s;
    by minute, then class."""
    now = now_ms() // 60000
    since = max(since, now - RETENTION_MINUTES - 1)
    until = now if until is None else min(until, now + 1)
    minutes = range(since, until + 1)
    if not minutes:
        return []
    with client.pipeline(transaction=False) as pipe:
        for minute in minutes:
            pipe.hgetall(f"{stem}t:{minute}")
        replies = pipe.execute()
    return [
        timing
        for minute, fields in zip(minutes, replies, strict=True)
        if fields
        for timing in parse(minute, fields, job_class)
    ]


def parse(minute: int, fields: dict[bytes, bytes], job_class: str | None) -> list[ClassTiming]:
    """The `ClassTiming` s of one minute's hash (every class, or ``job_class``), by class name."""
    found: dict[str, list[Any]] = {}
    size = len(BUCKETS_MS) + 1
    for field, value in fields.items():
        # a class name may hold "|": the kind is after the last one
        name, _, kind = field.decode().rpartition("|")
        if job_class is not None and name != job_class:
            continue
        counters = found.get(name)
        if counters is None:
            counters = found[name] = [0, 0, 0.0, [0] * size]
        if kind == "c":
            counters[0] = int(value)
        elif kind == "f":
            counters[1] = int(value)
        elif kind == "ms":
            counters[2] = float(value)
        elif kind[:1] == "b" and kind[1:].isdigit() and int(kind[1:]) < size:
            counters[3][int(kind[1:])] = int(value)
    return [
        ClassTiming(name, minute, c, f, ms, tuple(buckets))
        for name, (c, f, ms, buckets) in sorted(found.items())
        if c
    ]


__all__ = ["NOT_TIMED", "TTL_SECONDS", "parse", "read", "timing_args"]
