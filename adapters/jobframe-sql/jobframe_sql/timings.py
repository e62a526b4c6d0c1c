"""Run times per job class on SQL (`jobframe.backend.timings`): ``jobframe_timings``, a row per
epoch minute and class, with a column per counter and per bucket.

`count` adds the runs one `complete` settled to their rows in that call's transaction: the
outcomes are summed per class first, then one upsert adds every class's counters in place
(``ON CONFLICT DO UPDATE`` on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB).
A row is as hot as ``jobframe_stats``' minute row, which the same transaction updates next: the
classes go in name order, so two transactions lock them in the same order and never deadlock.
`purge` deletes the minutes past `jobframe.backend.timings.RETENTION_MINUTES`, a bounded batch
per transaction (`jobframe_sql.upkeep.Upkeep.maintain`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from jobframe import payload_summary
from jobframe.backend.timings import BUCKETS_MS, ClassTiming, bucket_of
from jobframe.backend.worker import Outcome
from jobframe_sql.pruning import delete_in_batches
from jobframe_sql.schema import TIMED_CLASS_LENGTH, timings

_BUCKETS = [f"b{i}" for i in range(len(BUCKETS_MS) + 1)]
_COUNTERS = ["count", "failed", "total_ms", *_BUCKETS]


def class_of(outcome: Outcome) -> str | None:
    """The class ``outcome`` counts under: `Outcome.job_class`, else the ``job_class`` column
    of the claim's payload (read only when the worker did not say); None for a raw payload."""
    if outcome.job_class:
        return outcome.job_class[:TIMED_CLASS_LENGTH]
    name = payload_summary.summarize(outcome.claim.payload).job_class
    return name[:TIMED_CLASS_LENGTH] if name else None


def tally(outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    """The counters of the ``outcomes`` that performed (`Outcome.runtime` set), one row per
    class (without its minute), in class order."""
    rows: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        if outcome.runtime is None:
            continue
        name = class_of(outcome)
        if name is None:
            continue
        row = rows.get(name)
        if row is None:
            row = rows[name] = dict.fromkeys(_COUNTERS, 0)
            row["job_class"] = name
        ms = max(outcome.runtime, 0.0) * 1000
        row["count"] += 1
        row["failed"] += outcome.status == "failed"
        row["total_ms"] += ms
        row[_BUCKETS[bucket_of(ms)]] += 1
    return [rows[name] for name in sorted(rows)]


def count(conn: sa.Connection, outcomes: Iterable[Outcome], minute: int) -> None:
    """Add the runs among ``outcomes`` (settled by this transaction) to ``minute``'s rows: one
    statement, none when no outcome performed."""
    rows = tally(outcomes)
    if rows:
        for row in rows:
            row["minute"] = minute
        conn.execute(_adding(conn.dialect.name), rows)


@functools.cache
def _adding(dialect: str) -> Any:
    """The upsert that adds a row's counters to the stored ones (compiled once per dialect)."""
    if dialect in ("mysql", "mariadb"):
        insert = mysql.insert(timings)
        return insert.on_duplicate_key_update(
            {n: timings.c[n] + insert.inserted[n] for n in _COUNTERS}
        )
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"jobframe-sql keeps no run times on {dialect}")
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(timings)
    return insert.on_conflict_do_update(
        index_elements=["minute", "job_class"],
        set_={n: timings.c[n] + insert.excluded[n] for n in _COUNTERS},
    )


def read(conn: sa.Connection, since: int, until: int, job_class: str | None) -> list[ClassTiming]:
    """The rows of the minutes ``since`` to ``until`` (of ``job_class`` only, when given), by
    minute, then class."""
    query = sa.select(timings).where(timings.c.minute.between(since, until))
    if job_class is not None:
        query = query.where(timings.c.job_class == job_class[:TIMED_CLASS_LENGTH])
    query = query.order_by(timings.c.minute, timings.c.job_class)
    return [
        ClassTiming(
            row["job_class"],
            int(row["minute"]),
            int(row["count"]),  # a Row's .count is tuple.count
            int(row["failed"]),
            float(row["total_ms"]),
            tuple(int(row[b]) for b in _BUCKETS),
        )
        for row in conn.execute(query).mappings()
    ]


def purge(engine: sa.Engine, before_minute: int, limit: int = 1000) -> int:
    """Delete the rows of minutes before ``before_minute``, ``limit`` rows a transaction, until
    none is left. Returns how many went."""
    key = (timings.c.minute, timings.c.job_class)
    return delete_in_batches(engine, timings, key, timings.c.minute < before_minute, limit)


__all__ = ["class_of", "count", "purge", "read", "tally"]
