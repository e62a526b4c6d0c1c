"""Flow control on the ``jobframe_*`` tables (`jobframe.backend.flow`): each function is one step
of its caller's transaction, so a lock, a slot or a blocked job changes with the job's row.

Unique locks are rows of ``jobframe_locks`` (key, owner job_id, lapse time), taken by an upsert
that only overwrites a lapsed lock or the owner's own. A concurrency key's slots are its claimed
rows whose ``claimed_at + concurrency_ms`` is still ahead; whoever changes them (a claim, a
settled claim, the reaper, `maintain`) first locks the key's ``jobframe_semaphores`` row, so two
workers never both see the last free slot. On PostgreSQL and MariaDB the worker's transactions
read committed rows (MariaDB's worker engine is set so): the count after the lock sees every
claim committed before it. On SQLite every transaction is the only writer (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from jobframe_sql.schema import jobs, locks, rates, semaphores

if TYPE_CHECKING:
    from jobframe.job.base import Job

#: what a settled or reaped claim needs to know of its row
INFO = (jobs.c.id, jobs.c.job_id, jobs.c.unique_key, jobs.c.concurrency_key,
        jobs.c.concurrency_limit)  # fmt: skip


@dataclass(frozen=True)
class Lock:
    """A unique lock an enqueue takes with its row."""

    key: str
    owner: str
    expires_ms: int


def columns(job: Job) -> dict[str, Any]:
    """The flow-control columns of ``job``'s row (all None for a plain job)."""
    flow = job.flow
    unique = flow.unique if flow else None
    limit = flow.concurrency if flow else None
    return {
        "unique_key": unique.key if unique else None,
        "unique_until": unique.until if unique else None,
        "concurrency_key": limit.key if limit else None,
        "concurrency_limit": limit.limit if limit else None,
        "concurrency_ms": round(limit.duration * 1000) if limit else None,
        "cancel_requested": None,
    }


def wanted(job: Job, row: dict[str, Any]) -> Lock | None:
    """The lock ``job``'s enqueue takes: none for a job whose ``until="scheduled"`` point has
    passed already (it is written ready)."""
    unique = job.flow.unique if job.flow else None
    if unique is None or (unique.until == "scheduled" and row["state"] == "ready"):
        return None
    return Lock(unique.key, job.job_id, round(unique.expires_at * 1000))


def take(conn: sa.Connection, lock: Lock, now: int) -> bool:
    """Take ``lock``, or leave it to the job holding it (False). A lapsed lock, or one its owner
    holds already (a retry of the same job), is taken over."""
    values = {"key": lock.key, "owner": lock.owner, "expires_at": lock.expires_ms}
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        insert = (postgresql if name == "postgresql" else sqlite).insert(locks).values(values)
        free = sa.or_(locks.c.expires_at <= now, locks.c.owner == insert.excluded.owner)
        statement = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
            where=free,
        )
        return conn.execute(statement.returning(locks.c.owner)).first() is not None
    upsert = mysql.insert(locks).values(values)
    new = upsert.inserted
    free = sa.or_(locks.c.expires_at <= now, locks.c.owner == new.owner)
    # MariaDB assigns in order: expires_at's test sees the owner the first assignment left.
    mine = locks.c.owner == new.owner
    statement = upsert.on_duplicate_key_update(
        [
            ("owner", sa.case((free, new.owner), else_=locks.c.owner)),
            ("expires_at", sa.case((mine, new.expires_at), else_=locks.c.expires_at)),
        ]
    )
    conn.execute(statement)
    # The upsert holds the row: a locking read gives its latest version, whatever the snapshot.
    holder = sa.select(locks.c.owner).where(locks.c.key == lock.key).with_for_update()
    return conn.execute(holder).scalar() == lock.owner


def release(conn: sa.Connection, held: Iterable[tuple[str | None, str | None]]) -> None:
    """Drop the unique locks (key, owner) that these owners still hold; a lock another job took
    since (after a lapse, or an ``until`` point) is left alone."""
    pairs = [{"k": key, "o": owner} for key, owner in held if key is not None and owner]
    if pairs:
        statement = sa.delete(locks).where(
            locks.c.key == sa.bindparam("k"), locks.c.owner == sa.bindparam("o")
        )
        conn.execute(statement, pairs)


def release_leaving(conn: sa.Connection, where: Any, until: str | None = None) -> None:
    """Release the locks of the rows matching ``where`` (about to be deleted or made ready),
    only those whose ``until`` point this is when ``until`` is given."""
    query = sa.select(jobs.c.unique_key, jobs.c.job_id).where(where, jobs.c.unique_key.is_not(None))
    if until is not None:
        query = query.where(jobs.c.unique_until == until)
    release(conn, [(key, owner) for key, owner in conn.execute(query)])


# -- concurrency limits -------------------------------------------------------------------------


def lock_keys(conn: sa.Connection, keys: Iterable[str], now: int) -> None:
    """Hold the semaphore rows of ``keys`` until the transaction ends (in key order, so two
    transactions locking several keys cannot deadlock)."""
    name = conn.dialect.name
    ordered = sorted(set(keys))
    if not ordered or name == "sqlite":  # SQLite: this transaction is the only writer already
        return
    rows = [{"key": key, "locked_at": now} for key in ordered]
    statement: Any
    if name == "postgresql":
        insert = postgresql.insert(semaphores).values(rows)
        statement = insert.on_conflict_do_update(
            index_elements=["key"], set_={"locked_at": insert.excluded.locked_at}
        )
    else:
        upsert = mysql.insert(semaphores).values(rows)
        statement = upsert.on_duplicate_key_update(locked_at=upsert.inserted.locked_at)
    conn.execute(statement)


def _live(now: int) -> Any:
    return sa.and_(jobs.c.state == "claimed", jobs.c.claimed_at + jobs.c.concurrency_ms > now)


def taken(conn: sa.Connection, keys: Sequence[str], now: int) -> dict[str, tuple[int, int]]:
    """Per key: its live slots and its ready jobs (which will want one soon)."""
    live = sa.func.sum(sa.case((_live(now), 1), else_=0))
    ready = sa.func.sum(sa.case((jobs.c.state == "ready", 1), else_=0))
    query = (
        sa.select(jobs.c.concurrency_key, live, ready)
        .where(jobs.c.concurrency_key.in_(keys), jobs.c.state.in_(("claimed", "ready")))
        .group_by(jobs.c.concurrency_key)
    )
    return {key: (int(n or 0), int(r or 0)) for key, n, r in conn.execute(query)}


def _locked_rows(conn: sa.Connection, where: Any, limit: int | None = None) -> list[int]:
    query = sa.select(jobs.c.seq).where(where).order_by(jobs.c.seq).limit(limit)
    if conn.dialect.name != "sqlite":
        # A row another transaction holds is being claimed or cancelled right now: not ours.
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).scalars())


def block(conn: sa.Connection, claimed: list[Any], now: int) -> tuple[list[Any], int]:
    """Keep the claimed rows whose key has a free slot; move the others, and every ready job of a
    key found full, to the key's blocked jobs. Returns (rows kept, jobs blocked)."""
    by_key: dict[str, list[Any]] = {}
    for row in claimed:
        if row.concurrency_key is not None:
            by_key.setdefault(row.concurrency_key, []).append(row)
    if not by_key:
        return claimed, 0
    lock_keys(conn, by_key, now)
    counts = taken(conn, list(by_key), now)
    dropped: list[int] = []
    blocked = 0
    for key, rows in by_key.items():
        others = counts.get(key, (0, 0))[0] - len(rows)  # live slots held by other claims
        room = max(0, min(r.concurrency_limit for r in rows) - others)
        if room >= len(rows):
            continue
        dropped += [r.seq for r in rows[room:]]
        # The key is full: its other ready jobs would only be claimed to be blocked in turn.
        waiting = sa.and_(jobs.c.concurrency_key == key, jobs.c.state == "ready")
        dropped += _locked_rows(conn, waiting)
    if dropped:
        blocked = conn.execute(
            sa.update(jobs)
            .where(jobs.c.seq.in_(dropped))
            .values(state="blocked", claimed_by=None, claim_token=None, claimed_at=None)
        ).rowcount
    gone = set(dropped)
    return [r for r in claimed if r.seq not in gone], int(blocked)


def unblock(conn: sa.Connection, limits: dict[str, int], now: int) -> int:
    """Make the oldest blocked jobs of these keys (key -> limit) ready, as many as each key has
    free slots not wanted by a ready job already. Returns how many."""
    if not limits:
        return 0
    lock_keys(conn, limits, now)
    counts = taken(conn, sorted(limits), now)
    readied = 0
    for key, limit in limits.items():
        live, ready = counts.get(key, (0, 0))
        room = limit - live - ready
        if room <= 0:
            continue
        seqs = _locked_rows(
            conn, sa.and_(jobs.c.concurrency_key == key, jobs.c.state == "blocked"), room
        )
        if seqs:
            readied += conn.execute(
                sa.update(jobs)
                .where(jobs.c.seq.in_(seqs), jobs.c.state == "blocked")
                .values(state="ready")  # a trigger wakes PostgreSQL's workers
            ).rowcount
    return int(readied)


def unblock_with_room(conn: sa.Connection, now: int) -> int:
    """`maintain`'s part: ready blocked jobs of keys that have room (a slot lapsed, or its
    holder's settling was lost). Reads first and locks only the keys that look free."""
    query = (
        sa.select(jobs.c.concurrency_key, sa.func.min(jobs.c.concurrency_limit))
        .where(jobs.c.state == "blocked")
        .group_by(jobs.c.concurrency_key)
    )
    blocked = {key: int(limit) for key, limit in conn.execute(query)}
    if not blocked:
        return 0
    counts = taken(conn, sorted(blocked), now)
    free = {k: n for k, n in blocked.items() if n - sum(counts.get(k, (0, 0))) > 0}
    return unblock(conn, free, now)


def settled(conn: sa.Connection, rows: Iterable[Any], now: int) -> int:
    """Free the slots of claims that were just settled (rows of `INFO`): ready the oldest blocked
    jobs of their keys. Returns how many were readied."""
    limits: dict[str, int] = {}
    for row in rows:
        if row.concurrency_key is not None:
            limit = limits.get(row.concurrency_key, row.concurrency_limit)
            limits[row.concurrency_key] = min(limit, row.concurrency_limit)
    return unblock(conn, limits, now)


# -- rate limits --------------------------------------------------------------------------------


def reserve(conn: sa.Connection, key: str, interval: float, now_us: int) -> int:
    """GCRA: the start reserved for ``key`` (epoch µs) is ``max(now, tat)``; ``tat`` moves to
    that plus ``interval``. One row per key, changed by one upsert."""
    step = max(1, round(interval * 1_000_000))
    values = {"key": key, "tat": now_us + step}
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        insert = (postgresql if name == "postgresql" else sqlite).insert(rates).values(values)
        later = (sa.func.greatest if name == "postgresql" else sa.func.max)(rates.c.tat, now_us)
        statement = insert.on_conflict_do_update(index_elements=["key"], set_={"tat": later + step})
        tat = conn.execute(statement.returning(rates.c.tat)).scalar_one()
    else:
        upsert = mysql.insert(rates).values(values)
        conn.execute(
            upsert.on_duplicate_key_update(tat=sa.func.greatest(rates.c.tat, now_us) + step)
        )
        held = sa.select(rates.c.tat).where(rates.c.key == key).with_for_update()
        tat = conn.execute(held).scalar_one()
    return int(tat) - step


def prune(conn: sa.Connection, now: int, before: int) -> None:
    """Drop lapsed locks, and semaphores and limiters unused since ``before`` (epoch ms)."""
    conn.execute(sa.delete(locks).where(locks.c.expires_at <= now))
    conn.execute(sa.delete(semaphores).where(semaphores.c.locked_at < before))
    conn.execute(sa.delete(rates).where(rates.c.tat < before * 1000))


__all__ = ["INFO", "Lock", "block", "columns", "release", "reserve", "take", "unblock", "wanted"]
