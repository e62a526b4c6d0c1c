"""Batch counting on a connection, inside the caller's transaction (`jobframe.backend.results`).

Every function here runs in the transaction of the write it counts: an enqueue (`count_enqueued`),
an outcome or a record written outside a claim (`count_final`), a seal (`fire`), so a crash
either keeps the write and its count or neither.

Which counter a job sits in is a row of ``jobframe_batch_jobs`` keyed by its ``job_id``: an
enqueue inserts it (``pending``) unless it is there already, a final record moves it. The
batch's counters in ``jobframe_batches`` change by the same deltas in the same transaction, the
batch row locked by that UPDATE; callbacks are enqueued after it, by an UPDATE guarded by
``fired``, so two transactions finishing the last two jobs of a batch fire it once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from jobframe.backend.results import FINAL, BatchCallback, BatchInfo, JobRecord
from jobframe_sql.schema import batch_jobs, batches, jobs
from jobframe_sql.upsert import insert_ignoring

#: the final counters, in `BatchInfo`'s order
COUNTERS = ("succeeded", "failed", "dead", "discarded", "cancelled")
#: rows per statement: 1,000 jobs of a bulk enqueue cost one INSERT and one UPDATE
CHUNK = 1000
#: the callbacks in the order they fire
_KINDS = ("on_complete", "on_success")


def count_enqueued(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> None:
    """Count the enqueued ``rows`` (``jobframe_jobs`` rows) that name a batch in it: ``total``
    (and so ``pending``) + 1 for each ``job_id`` not in the batch yet."""
    by_batch: dict[str, dict[str, None]] = {}
    for row in rows:
        if row.get("batch_id") and row.get("job_id"):
            by_batch.setdefault(row["batch_id"], {})[row["job_id"]] = None
    for batch_id in sorted(by_batch):
        ids = list(by_batch[batch_id])
        for start in range(0, len(ids), CHUNK):
            members = [
                {"job_id": job_id, "batch_id": batch_id, "counter": "pending"}
                for job_id in ids[start : start + CHUNK]
            ]
            added = insert_ignoring(conn, batch_jobs, members)
            if added:
                conn.execute(
                    sa.update(batches)
                    .where(batches.c.id == batch_id)
                    .values(total=batches.c.total + added)
                )


def count_final(conn: sa.Connection, records: Iterable[JobRecord], now: int) -> int:
    """Move the jobs of final ``records`` that name a batch to the counter of their status (from
    ``pending``, or from the counter an earlier final record put them in), and fire the
    callbacks of the batches this finished. Returns how many callbacks were enqueued."""
    wanted = {r.job_id: r for r in records if r.batch_id and r.status in FINAL}
    if not wanted:
        return 0
    query = sa.select(batch_jobs.c.job_id, batch_jobs.c.counter).where(
        batch_jobs.c.job_id.in_(sorted(wanted))
    )
    if conn.dialect.name != "sqlite":  # SQLite: the transaction holds the write lock already
        query = query.with_for_update()
    found = {row.job_id: row.counter for row in conn.execute(query)}
    deltas: dict[str, Counter[str]] = {}
    moves: dict[str, list[str]] = {}
    joined: list[dict[str, Any]] = []
    for job_id, record in sorted(wanted.items()):
        batch_id, counter, old = str(record.batch_id), str(record.status), found.get(job_id)
        if old == counter:
            continue  # written again (a complete retried after a lost reply): counted already
        delta = deltas.setdefault(batch_id, Counter())
        delta[counter] += 1
        if old is None:  # never counted at enqueue (enqueued before the batch knew it)
            joined.append({"job_id": job_id, "batch_id": batch_id, "counter": counter})
            delta["total"] += 1
        else:
            moves.setdefault(counter, []).append(job_id)
            if old != "pending":
                delta[old] -= 1
    if joined:
        insert_ignoring(conn, batch_jobs, joined)
    for counter, ids in sorted(moves.items()):
        conn.execute(
            sa.update(batch_jobs).where(batch_jobs.c.job_id.in_(ids)).values(counter=counter)
        )
    fired = 0
    for batch_id, delta in sorted(deltas.items()):
        values = {name: batches.c[name] + n for name, n in delta.items() if n}
        if not values:
            continue
        changed = conn.execute(
            sa.update(batches).where(batches.c.id == batch_id).values(values)
        ).rowcount
        if changed:
            fired += fire(conn, batch_id, now)
    return fired


def fire(conn: sa.Connection, batch_id: str, now: int) -> int:
    """Enqueue the callbacks a sealed batch with nothing pending is due and has not fired yet,
    and mark it finished; call holding the batch's row (after an UPDATE of it). Returns how many
    callbacks were enqueued."""
    row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
    if row is None or not row.sealed or pending(row) > 0:
        return 0
    fired = [kind for kind in row.fired.split(",") if kind]
    due = ["on_complete"] + (["on_success"] if row.succeeded == row.total else [])
    callbacks = json.loads(row.callbacks)
    new = [kind for kind in due if kind not in fired and kind in callbacks]
    if not new and row.finished_at is not None:
        return 0
    finished_at = row.finished_at if row.finished_at is not None else now
    marked = conn.execute(
        sa.update(batches)
        .where(batches.c.id == batch_id, batches.c.fired == row.fired)
        .values(
            fired=",".join(kind for kind in _KINDS if kind in fired or kind in new),
            finished_at=finished_at,
            expires_at=finished_at + row.ttl_ms,
        )
    ).rowcount
    if not marked or not new:
        return 0
    rows = [_callback_row(callbacks[kind], now) for kind in new]
    conn.execute(sa.insert(jobs), rows)  # PostgreSQL: the ready trigger wakes workers
    return len(rows)


def pending(row: Any) -> int:
    """A ``jobframe_batches`` row's jobs not counted final."""
    return int(row.total) - sum(int(getattr(row, name)) for name in COUNTERS)


def _callback_row(callback: dict[str, Any], now: int) -> dict[str, Any]:
    from jobframe_sql.adapter import PLAIN

    return {
        **PLAIN,
        "id": callback["id"],
        "queue": callback["queue"],
        "priority": callback["priority"],
        "state": "ready",
        "run_at": now,
        "enqueued_at": now,
        "job_class": callback.get("job_class"),
        "job_id": callback["job_id"],
        "payload": callback["payload"].encode(),
        "crashes": 0,
        "attempts": 0,
    }


def callbacks_json(callbacks: dict[str, BatchCallback]) -> str:
    """The ``callbacks`` column for a batch's serialized callbacks (payloads are UTF-8 JSON)."""
    return json.dumps(
        {
            kind: {
                "id": cb.id,
                "queue": cb.queue,
                "priority": cb.priority,
                "job_id": cb.job_id,
                "payload": cb.payload.decode(),
            }
            for kind, cb in callbacks.items()
        }
    )


def info(row: Any) -> BatchInfo:
    """The `BatchInfo` of a ``jobframe_batches`` row."""
    callbacks = json.loads(row.callbacks)
    return BatchInfo(
        id=row.id,
        description=row.description,
        created_at=row.created_at / 1000,
        total=int(row.total),
        pending=pending(row),
        succeeded=int(row.succeeded),
        failed=int(row.failed),
        dead=int(row.dead),
        discarded=int(row.discarded),
        cancelled=int(row.cancelled),
        sealed=bool(row.sealed),
        finished_at=None if row.finished_at is None else row.finished_at / 1000,
        fired=tuple(kind for kind in row.fired.split(",") if kind),
        callbacks={kind: cb["job_id"] for kind, cb in callbacks.items()},
    )


__all__ = ["COUNTERS", "callbacks_json", "count_enqueued", "count_final", "fire", "info", "pending"]
