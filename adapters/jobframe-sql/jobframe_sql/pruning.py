"""Deleting finished history in bounded batches: each batch is one short transaction that locks
only the rows it deletes, skipping rows another pruner holds, and a pause between batches leaves
the database to claims and enqueues.

A pass stops after `BUDGET` seconds and the next maintenance tick goes on where it stopped: the
worker's heartbeat shares the maintenance thread, so a pass over a day of 10^7 finished rows must
not keep it from beating (a process that stops heartbeating is reaped by its peers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from jobframe_sql.engine import day_and_minute, in_transaction
from jobframe_sql.schema import jobs, stats

#: rows deleted per transaction
BATCH = 1000
#: seconds between two batches
PAUSE = 0.02
#: seconds a maintenance pass prunes at most before it yields to the heartbeat
BUDGET = 1.0
#: how long ``jobframe_stats`` keeps per-minute and per-day counts: what Redis keeps (its minute
#: hashes expire after 3 days, its day counters after 90), so the dashboard shows the same
STATS_MINUTES_KEPT = 3 * 1440
STATS_DAYS_KEPT = 90


def prune_batch(engine: sa.Engine, before_ms: int, batch: int) -> int:
    """Delete up to ``batch`` finished jobs older than ``before_ms`` in one transaction. Returns
    how many.

    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL, MariaDB/MySQL): two workers pruning at once take
    different rows instead of one waiting for the other's rows and then finding them gone. On
    MariaDB ``engine`` should read committed rows, as the worker's does
    (`engine.read_committed_engine`): under REPEATABLE READ the batch's locking read also locks
    the gaps of the index it reads, and a claim that moves a row into them deadlocks with it."""
    old = (
        sa.select(jobs.c.seq)
        .where(jobs.c.state == "finished", jobs.c.finished_at < before_ms)
        .limit(batch)
    )
    if engine.dialect.name != "sqlite":
        old = old.with_for_update(skip_locked=True)

    def delete(conn: sa.Connection) -> int:
        if conn.dialect.name == "postgresql":
            # one round trip: PostgreSQL deletes from the table its subquery reads
            done = conn.execute(sa.delete(jobs).where(jobs.c.seq.in_(old.scalar_subquery())))
            return int(done.rowcount)
        seqs = conn.execute(old).scalars().all()  # MariaDB refuses a DELETE reading its table
        if seqs:
            conn.execute(sa.delete(jobs).where(jobs.c.seq.in_(seqs)))
        return len(seqs)

    return in_transaction(engine, delete)  # again if chosen as a deadlock's victim


def prune(
    engine: sa.Engine,
    before_ms: int,
    batch: int = BATCH,
    pause: float = PAUSE,
    budget: float | None = BUDGET,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, bool]:
    """Delete finished jobs older than ``before_ms``, ``batch`` rows a transaction and ``pause``
    seconds apart, for at most ``budget`` seconds (None: until none is left). Returns how many
    were deleted, and whether some are left for the next pass."""
    deadline = None if budget is None else time.monotonic() + budget
    total = 0
    while True:
        done = prune_batch(engine, before_ms, batch)
        total += done
        if done < batch:
            return total, False
        if deadline is not None and time.monotonic() + pause >= deadline:
            return total, True
        if pause:
            sleep(pause)


def prune_stats(engine: sa.Engine, now_ms: int, limit: int = BATCH) -> int:
    """Delete the ``jobframe_stats`` rows of minutes older than `STATS_MINUTES_KEPT` and of days
    older than `STATS_DAYS_KEPT`, ``limit`` rows a transaction. Returns how many went.

    Without it the minute rows (up to five kinds a minute) grew by millions a year, and the
    dashboard's charts read them all. ``period`` is text, a ``YYYY-MM-DD`` day or a decimal epoch
    minute: minutes are compared as text of equal length (a shorter one is an older minute), as a
    cast would fail on a day row where the database evaluates it first."""
    minute = str(now_ms // 60000 - STATS_MINUTES_KEPT)
    day = day_and_minute(now_ms - STATS_DAYS_KEPT * 86_400_000)[0]
    period, length = stats.c.period, sa.func.length(stats.c.period)
    is_day = period.contains("-")
    old_minute = sa.and_(
        ~is_day,
        sa.or_(length < len(minute), sa.and_(length == len(minute), period < minute)),
    )
    old_where = sa.or_(old_minute, sa.and_(is_day, period < day))
    return delete_in_batches(engine, stats, (stats.c.kind, stats.c.period), old_where, limit)


def delete_in_batches(
    engine: sa.Engine, table: sa.Table, key: tuple[Any, ...], where: Any, limit: int = BATCH
) -> int:
    """Delete the rows of ``table`` that match ``where``, ``limit`` rows a transaction (found by
    their primary ``key`` columns, then deleted by it), until none is left. Returns how many."""
    match = sa.tuple_(*key) if len(key) > 1 else key[0]

    def delete(conn: sa.Connection) -> int:
        rows = conn.execute(sa.select(*key).where(where).limit(limit)).all()
        if rows:
            found = [tuple(row) if len(key) > 1 else row[0] for row in rows]
            conn.execute(sa.delete(table).where(match.in_(found)))
        return len(rows)

    total = 0
    while True:
        done = in_transaction(engine, delete)
        total += done
        if done < limit:
            return total
