"""`SQLResults`: job status, records, progress and batches in the ``jobframe_*`` tables
(`jobframe.backend.results`).

Records are written with the outcome that ends a job, in the worker's ``complete`` transaction
(`jobframe_sql.records`); batches are counted in the enqueue's transaction
(`jobframe_sql.batches`). Nothing here runs a cron: expired records, progress and finished
batches are deleted by `SQLResults.purge`, which every worker's `maintain` calls at each pruning
pass (``prune_every``), in transactions of at most ``limit`` rows; until then `status` and
`wait` ignore expired rows.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.results import (
    FINAL,
    BatchCallback,
    BatchInfo,
    JobRecord,
    JobState,
    ResultStore,
)
from jobframe_sql import batches as batch_sql
from jobframe_sql import records
from jobframe_sql.engine import in_transaction, now_ms, retrying
from jobframe_sql.result_wake import ResultListener, SocketListener, Waiters, poke_waiters
from jobframe_sql.schema import batch_jobs, batches, jobs, progress, results
from jobframe_sql.upsert import upsert

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

#: jobs row state -> `jobframe.backend.inspector.State` (``finished`` rows are not live)
_LIVE = {
    "ready": "ready",
    "scheduled": "scheduled",
    "claimed": "running",
    "blocked": "blocked",
    "failed": "dead",
}
#: `wait`'s polling: the first check after this long, then twice as long each time, up to
#: `_MAX_POLL` (what a waiter on another process than the writer's waits at most on SQLite and
#: MariaDB; a safety net behind LISTEN on PostgreSQL)
_FIRST_POLL = 0.02
#: how long a batch that was never sealed is kept after it opened (ms)
UNSEALED_MS = 7 * 86_400_000
_MAX_POLL = 0.5


def _record(row: Any, job_id: str) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        status=row.status,
        data=bytes(row.data),
        ttl=max(0, row.expires_at - row.written_at) / 1000,
        batch_id=row.batch_id,
    )


class SQLResults(ResultStore):
    """The `ResultStore` of an `SQLAdapter` (``adapter.results()``; one per adapter).

    `wait` wakes at once for a final record written by this process (a worker thread, the
    reaper, `SQLInspector.cancel`). From other processes, for records with ``notify`` (jobs
    that store their result): on PostgreSQL the writing transaction sends a NOTIFY that one
    LISTEN connection per `SQLResults` receives; on SQLite and MariaDB, which have no such
    notification, the writer pokes a `jobframe_sql.local_wake` socket per waiting process on
    its machine (every SQLite user is on one machine). Behind that the waiter polls, 20 ms
    after it started and then twice as long each time up to 500 ms, one indexed read a time: a
    result written on another machine (MariaDB), or a record without ``notify``, reaches it
    within half a second at worst.
    """

    def __init__(self, adapter: SQLAdapter) -> None:
        self.adapter = adapter
        self.engine = adapter.engine
        self.waiters = Waiters()
        self._listener: ResultListener | SocketListener | None = None
        self._no_socket = False
        self._lock = threading.Lock()

    # -- status and records ---------------------------------------------------------------------

    def status(self, job_id: str) -> JobState:
        """One statement: the newest live row of ``job_id`` (by the jobs table's ``job_id``
        index), its record and progress (by primary key); expired rows are not read."""
        now = now_ms()
        live = (
            sa.select(jobs.c.state)
            .where(jobs.c.job_id == job_id, jobs.c.state.in_(list(_LIVE)))
            .order_by(jobs.c.seq.desc())
            .limit(1)
            .scalar_subquery()
        )
        found = sa.and_(results.c.job_id == job_id, results.c.expires_at > now)

        def record(column: Any) -> Any:
            return sa.select(column).where(found).scalar_subquery()

        running = (
            sa.select(progress.c.data)
            .where(progress.c.job_id == job_id, progress.c.expires_at > now)
            .scalar_subquery()
        )
        query = sa.select(
            live.label("state"),
            record(results.c.status).label("status"),
            record(results.c.data).label("data"),
            record(results.c.batch_id).label("batch_id"),
            record(results.c.written_at).label("written_at"),
            record(results.c.expires_at).label("expires_at"),
            running.label("progress"),
        )
        with self.engine.connect() as conn:
            row = retrying(lambda: conn.execute(query).one())
        state = _LIVE.get(row.state) if row.state else None
        return JobState(
            job_id=job_id,
            state=state,  # type: ignore[arg-type]
            record=None if row.status is None else _record(row, job_id),
            progress=bytes(row.progress) if row.progress and state == "running" else None,
        )

    def _final(self, job_id: str) -> JobRecord | None:
        query = sa.select(results).where(
            results.c.job_id == job_id,
            results.c.expires_at > now_ms(),
            results.c.status.in_(sorted(FINAL)),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row, job_id)

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """The job's final record, at once or as soon as it is written; see the class doc for
        how a waiter is woken on each database."""
        if timeout <= 0:
            return self._final(job_id)
        deadline = time.monotonic() + timeout
        listener = self._listen()
        delay = _FIRST_POLL
        with self.waiters.waiting(job_id) as event:
            if isinstance(listener, ResultListener):
                # a write made before LISTEN took effect would be missed: first listen, then read
                listener.listening.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            while True:
                found = self._final(job_id)
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    return found
                event.wait(min(delay, left))
                event.clear()
                delay = min(delay * 2, _MAX_POLL)

    def _listen(self) -> ResultListener | SocketListener | None:
        """This process's listener, started by the first wait (None: polling only)."""
        with self._lock:
            if self._listener is not None or self._no_socket:
                return self._listener
            if self.engine.dialect.name == "postgresql":
                # behind PgBouncer a LISTEN hears nothing (jobframe_sql.pgbouncer): poll
                if self.engine.dialect.driver == "psycopg" and not self.adapter.pgbouncer:
                    self._listener = ResultListener(self.engine.url, self.waiters)
            elif self.adapter._wake_key is not None:
                try:
                    self._listener = SocketListener(self.adapter._wake_key, self.waiters)
                except OSError:
                    self._no_socket = True  # no Unix sockets: poll
            return self._listener

    def progress(self, job_id: str, data: bytes, ttl: float) -> None:
        """Upsert the job's progress row (one statement)."""
        now = now_ms()
        row = {"job_id": job_id, "data": data, "expires_at": now + max(0, round(ttl * 1000))}
        in_transaction(self.engine, lambda conn: upsert(conn, progress, [row]))

    def write(self, records_: list[JobRecord]) -> None:
        """Write records outside a claim, with their batch counts and callbacks, in one
        transaction."""
        if not records_:
            return
        written = in_transaction(self.engine, lambda c: records.write(c, records_, now_ms()))
        self.written(written)

    def written(self, written: records.Written) -> None:
        """After the commit of records written in this process: wake its waiters (and, without
        NOTIFY, those of the other processes on this machine), and the idle workers on this
        machine if callbacks were enqueued."""
        if written.finals:
            self.waiters.wake(written.finals)
        if written.notify and self.adapter._wake_key is not None:
            poke_waiters(self.adapter._wake_key)
        if written.callbacks:
            self.adapter.wake_local()

    # -- batches ------------------------------------------------------------------------------

    def open_batch(self, batch: BatchInfo, callbacks: dict[str, BatchCallback], ttl: float) -> None:
        """Insert the batch's row, unsealed and empty, with its serialized callbacks."""
        values = {
            "id": batch.id,
            "description": batch.description,
            "created_at": round(batch.created_at * 1000),
            "total": 0,
            **dict.fromkeys(batch_sql.COUNTERS, 0),
            "sealed": False,
            "fired": "",
            "ttl_ms": max(0, round(ttl * 1000)),
            "callbacks": batch_sql.callbacks_json(callbacks),
        }
        in_transaction(self.engine, lambda conn: conn.execute(sa.insert(batches).values(values)))

    def seal_batch(self, batch_id: str) -> None:
        """Seal the batch and, in the same transaction, fire its callbacks if nothing is
        pending."""

        def seal(conn: sa.Connection) -> int:
            sealed = sa.update(batches).where(batches.c.id == batch_id).values(sealed=True)
            if not conn.execute(sealed).rowcount:
                return 0
            return batch_sql.fire(conn, batch_id, now_ms())

        if in_transaction(self.engine, seal):
            self.adapter.wake_local()

    def batch(self, batch_id: str) -> BatchInfo | None:
        """The batch's row, or None when unknown or purged."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        return None if row is None else batch_sql.info(row)

    def batches(self, offset: int = 0, limit: int = 50) -> list[BatchInfo]:
        """Newest first (by ``created_at``, then id)."""
        query = (
            sa.select(batches)
            .order_by(batches.c.created_at.desc(), batches.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [batch_sql.info(row) for row in conn.execute(query)]

    # -- expiry -------------------------------------------------------------------------------

    def purge(self, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired records, progress rows, and memberships and rows of
        finished batches past their ttl, each kind in a transaction of its own (short locks).
        Returns how many rows went."""
        now = now_ms()
        total = 0
        for table, key in ((results, results.c.job_id), (progress, progress.c.job_id)):
            total += self._delete(table, key, table.c.expires_at < now, limit - total)
        if total >= limit:
            return total
        # A batch never sealed (its producer died inside the ``with`` block) goes a week after it
        # opened, as on Redis (`jobframe_redis.results.UNSEALED`); its jobs still ran.
        abandoned = sa.and_(
            batches.c.sealed == sa.false(), batches.c.created_at < now - UNSEALED_MS
        )
        ended = sa.or_(batches.c.expires_at < now, abandoned)
        expired = sa.select(batches.c.id).where(ended).limit(limit - total)
        with self.engine.connect() as conn:
            gone = list(conn.execute(expired).scalars())
        for batch_id in gone:
            # a batch of 100,000 jobs goes over several passes: members first, the row last
            members = batch_jobs.c.batch_id == batch_id
            removed = self._delete(batch_jobs, batch_jobs.c.job_id, members, limit - total)
            total += removed
            if total >= limit:
                return total
            total += self._delete(batches, batches.c.id, batches.c.id == batch_id, 1)
        return total

    def _delete(self, table: sa.Table, key: Any, where: Any, limit: int) -> int:
        if limit <= 0:
            return 0

        def delete(conn: sa.Connection) -> int:
            keys = list(conn.execute(sa.select(key).where(where).limit(limit)).scalars())
            if keys:
                conn.execute(sa.delete(table).where(key.in_(keys)))
            return len(keys)

        return in_transaction(self.engine, delete)

    def close(self) -> None:
        """Stop the LISTEN thread, if one was started."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()


__all__ = ["SQLResults"]
