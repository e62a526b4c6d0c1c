"""`SQLWorkerBackend`: the worker runtime's view of the jobs table.

Claims use ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB/MySQL; on SQLite every
transaction holds the database's write lock (``BEGIN IMMEDIATE``), which makes claims a single
writer's. Every outcome and release is an ``UPDATE ... WHERE id = ? AND claim_token = ? AND
state = 'claimed'``: a claim taken back by the reaper cannot finish, fail or release the job.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe_sql.engine import bump_stats, create_engine, day_and_minute, now_ms
from jobframe_sql.schema import jobs, pauses, processes

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

log = logging.getLogger("jobframe.worker")


_CLAIMED = (jobs.c.seq, jobs.c.id, jobs.c.queue, jobs.c.priority, jobs.c.payload)


def dump(payload: dict[str, Any]) -> bytes:
    return dump_payload(payload)


def _worker_engine(adapter: SQLAdapter) -> sa.Engine:
    """The worker's own PostgreSQL engine, committing without waiting for the WAL flush.

    Every write a worker makes (claims, outcomes with the retries they carry, heartbeats) may be
    lost to a crash of the database server without losing a job: a lost claim or outcome leaves
    the job ready or claimed by a process the reaper takes it back from, and it runs again (which
    at-least-once allows). Only enqueues must survive such a crash, and they keep the adapter's
    synchronous commits. This saves a disk flush per claim and per batch of outcomes.
    """
    options = {k: v for k, v in adapter.options.items() if k != "url"}
    connect_args = dict(options.pop("connect_args", {}))
    connect_args["options"] = f"{connect_args.get('options', '')} -c synchronous_commit=off".strip()
    return create_engine(
        adapter.engine.url.render_as_string(hide_password=False),
        connect_args=connect_args,
        **options,
    )


class SQLWorkerBackend(WorkerBackend):
    """Implements `jobframe.backend.WorkerBackend` on the ``jobframe_*`` tables."""

    def __init__(
        self,
        adapter: SQLAdapter,
        poll_interval: float = 1.0,
        finished_retention: float = 86400,
        prune_every: float = 60.0,
    ) -> None:
        self.adapter = adapter
        self.engine = adapter.engine
        self.dialect = self.engine.dialect.name
        if self.dialect == "postgresql" and adapter._single is not None:  # built from a URL
            self.engine = adapter.worker_engine(_worker_engine)
        self.skip_locked = self.dialect in ("postgresql", "mysql", "mariadb")
        self.returning = self.dialect in ("postgresql", "sqlite")  # UPDATE ... RETURNING
        self.poll_interval = poll_interval
        self.finished_retention_ms = int(finished_retention * 1000)
        self.prune_every = prune_every
        self._next_prune = 0.0
        self._fetches = 0
        self._unconfirmed: str | None = None  # a claim token whose fetch failed to return
        self._lock = threading.Lock()
        self._listener: Any = None
        if self.dialect == "postgresql" and adapter.notify:
            from jobframe_sql.notify import Listener

            self._listener = Listener(self.engine.url)
        self._local: Any = None  # no NOTIFY: the socket an enqueue pokes (local_wake.py)
        self._no_local = False

    # -- processes ------------------------------------------------------------------------------

    def register(self, process: ProcessInfo) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(processes).values(
                    id=process.id,
                    hostname=process.hostname[:255],
                    pid=process.pid,
                    queues=",".join(process.queues)[:1000],
                    concurrency=process.concurrency,
                    started_at=int(process.started_at * 1000),
                    heartbeat_at=now_ms(),
                )
            )
        self._process = process

    def heartbeat(self, process_id: str) -> None:
        with self.engine.begin() as conn:
            beat = sa.update(processes).where(processes.c.id == process_id)
            known = conn.execute(beat.values(heartbeat_at=now_ms())).rowcount == 1
        if not known:
            # Reaped while alive (its claims went back to the queues): come back as new.
            self.register(self._process)

    def deregister(self, process_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._release_statement().where(jobs.c.claimed_by == process_id))
            conn.execute(sa.delete(processes).where(processes.c.id == process_id))
        if self._listener is not None:
            self._listener.close()
        if self._local is not None:
            self._local.close()
            self._local = None

    # -- claims ---------------------------------------------------------------------------------

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        claims = self._claim(process_id, queues, limit)
        if claims or timeout <= 0:
            return claims
        if self._listener is not None:
            try:
                self._listener.wait(timeout)
            except Exception:
                time.sleep(min(timeout, self.poll_interval))
        elif self._waiter() is not None:
            self._local.wait(min(timeout, self.poll_interval))
        else:
            time.sleep(min(timeout, self.poll_interval))
        return self._claim(process_id, queues, limit)

    def _waiter(self) -> Any:
        """Without NOTIFY: this process's wake-up socket, made the first time it waits (None on
        PostgreSQL, with ``notify`` off, or where Unix sockets are unavailable)."""
        key = self.adapter._wake_key  # the enqueuers' key (None with notify off)
        if self._local is None and key is not None and not self._no_local:
            from jobframe_sql.local_wake import LocalWaiter

            try:
                self._local = LocalWaiter(key)
            except OSError as exc:
                self._no_local = True
                log.warning("no wake-up socket for %s (%s); polling only", key, exc)
        return self._local

    def _claim(self, process_id: str, queues: list[str], limit: int) -> list[Claim]:
        with self._lock:
            carried = self._unconfirmed  # a fetch that failed may have claimed before failing
            if carried is None:
                self._fetches += 1
            token = carried or f"{process_id}:{self._fetches}"
            self._unconfirmed = token
        with self.engine.begin() as conn:
            found = self._held(conn, process_id, token) if carried else []
            if not found:
                found = self._take_ready(conn, queues, limit, process_id, token)
        with self._lock:
            self._unconfirmed = None
        return [Claim(r.id, token, r.queue, r.payload or b"") for r in found]

    def _held(self, conn: sa.Connection, process_id: str, token: str) -> list[Any]:
        """Claims a previous fetch made but whose reply never came back (connection lost)."""
        query = sa.select(*_CLAIMED).where(
            jobs.c.claimed_by == process_id, jobs.c.claim_token == token, jobs.c.state == "claimed"
        )
        return sorted(conn.execute(query).all(), key=lambda r: (r.priority, r.seq))

    def _take_ready(
        self, conn: sa.Connection, queues: list[str], limit: int, process_id: str, token: str
    ) -> list[Any]:
        """Claim up to ``limit`` ready jobs, queue by queue in the given order."""
        claim = {
            "state": "claimed",
            "claimed_by": process_id,
            "claim_token": token,
            "claimed_at": now_ms(),
        }
        found: list[Any] = []
        for queue in [None] if queues == ["*"] else queues:
            want = limit - len(found)
            if want <= 0:
                break
            pick = sa.select(jobs.c.seq).where(
                jobs.c.state == "ready", jobs.c.queue.not_in(sa.select(pauses.c.queue))
            )
            if queue is not None:
                pick = pick.where(jobs.c.queue == queue)
            pick = pick.order_by(jobs.c.priority, jobs.c.seq).limit(want)
            if self.skip_locked:
                pick = pick.with_for_update(skip_locked=True)
            if self.returning:
                # One statement: pick, lock and claim (PostgreSQL, SQLite).
                update = sa.update(jobs).where(jobs.c.seq.in_(pick.scalar_subquery())).values(claim)
                rows = conn.execute(update.returning(*_CLAIMED)).all()
                found += sorted(rows, key=lambda r: (r.priority, r.seq))
            else:
                rows = conn.execute(
                    sa.select(*_CLAIMED).where(
                        jobs.c.seq.in_([seq for (seq,) in conn.execute(pick).all()])
                    )
                ).all()
                if rows:
                    conn.execute(
                        sa.update(jobs).where(jobs.c.seq.in_([r.seq for r in rows])).values(claim)
                    )
                found += sorted(rows, key=lambda r: (r.priority, r.seq))
        return found

    @staticmethod
    def _guard(claim: Claim) -> Any:
        return sa.and_(
            jobs.c.id == claim.id, jobs.c.claim_token == claim.token, jobs.c.state == "claimed"
        )

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        ms = now_ms()
        day, minute = day_and_minute(ms)
        plain = [o for o in outcomes if o.status == "done" and not o.retries]
        processed = failed = 0
        with self.engine.begin() as conn:
            if plain:
                # Every plain success in one guarded statement: (id, token) pairs still held.
                held = sa.tuple_(jobs.c.id, jobs.c.claim_token).in_(
                    [(o.claim.id, o.claim.token) for o in plain]
                )
                processed += conn.execute(
                    sa.update(jobs)
                    .where(held, jobs.c.state == "claimed")
                    .values(state="finished", claimed_by=None, finished_at=ms)
                ).rowcount
            retries: list[dict[str, Any]] = []
            for outcome in outcomes:
                if outcome.status == "done" and not outcome.retries:
                    continue
                values: dict[str, Any] = {
                    "claimed_by": None,
                    "finished_at": ms,
                    "attempts": outcome.attempts,
                    "state": "finished",
                }
                if outcome.status != "done":
                    values["state"] = "failed"
                    values["error"] = json.dumps(
                        {**(outcome.error or {}), "attempts": outcome.attempts}
                    )
                done = conn.execute(
                    sa.update(jobs).where(self._guard(outcome.claim)).values(**values)
                )
                if done.rowcount != 1:
                    continue  # the claim was taken back: its retries go with it
                processed += 1
                failed += outcome.status != "done"
                retries += outcome.retries
            if retries:
                self.adapter.insert(conn, retries)
            counts = {
                ("processed", day): processed,
                ("processed", minute): processed,
                ("failed", day): failed,
                ("failed", minute): failed,
            }
            bump_stats(conn, {key: n for key, n in counts.items() if n})

    def _release_statement(self) -> Any:
        return (
            sa.update(jobs)
            .where(jobs.c.state == "claimed")
            .values(state="ready", claimed_by=None, claim_token=None, claimed_at=None)
        )

    def release(self, process_id: str, claims: list[Claim]) -> None:
        with self.engine.begin() as conn:
            for claim in claims:
                conn.execute(self._release_statement().where(self._guard(claim)))

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        now = now_ms()
        counts = {"promoted": 0, "reaped": 0, "requeued": 0, "dead": 0, "pruned": 0}
        with self.engine.begin() as conn:
            promoted = conn.execute(
                sa.update(jobs)
                .where(jobs.c.state == "scheduled", jobs.c.run_at <= now)
                .values(state="ready")
            ).rowcount
            counts["promoted"] = promoted
            expired = sa.select(processes.c.id).where(
                processes.c.heartbeat_at < now - int(heartbeat_timeout * 1000)
            )
            for (process_id,) in conn.execute(expired).all():
                counts["reaped"] += 1
                counts["dead"] += self._reap(conn, process_id, max_crashes, now)
                counts["requeued"] += conn.execute(
                    self._release_statement()
                    .where(jobs.c.claimed_by == process_id)
                    .values(crashes=jobs.c.crashes + 1)
                ).rowcount
                conn.execute(sa.delete(processes).where(processes.c.id == process_id))
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.prune_every
            counts["pruned"] = self.prune(now - self.finished_retention_ms)
        return counts

    def _reap(self, conn: sa.Connection, process_id: str, max_crashes: int, now: int) -> int:
        """Jobs of a dead process that crashed it ``max_crashes`` times go to failed (poison)."""
        error = json.dumps(
            {
                "class": "jobframe.WorkerCrashed",
                "message": f"worker process {process_id} stopped heartbeating",
                "reason": f"poison pill: its worker died {max_crashes} times while running it",
                "attempts": max_crashes,
            }
        )
        return conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.claimed_by == process_id,
                jobs.c.state == "claimed",
                jobs.c.crashes + 1 >= max_crashes,
            )
            .values(
                state="failed",
                crashes=max_crashes,
                error=error,
                finished_at=now,
                claimed_by=None,
                claim_token=None,
            )
        ).rowcount

    def prune(self, before_ms: int, batch: int = 1000) -> int:
        """Delete finished jobs older than ``before_ms``, a batch per transaction."""
        total = 0
        while True:
            with self.engine.begin() as conn:
                old = (
                    conn.execute(
                        sa.select(jobs.c.seq)
                        .where(jobs.c.state == "finished", jobs.c.finished_at < before_ms)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if old:
                    conn.execute(sa.delete(jobs).where(jobs.c.seq.in_(old)))
            total += len(old)
            if len(old) < batch:
                return total

    def retry_entry(self, job: Any, adapter: Any) -> Any | None:
        from jobframe_sql.adapter import SQLAdapter, row

        if not isinstance(adapter, SQLAdapter) or adapter.engine.url != self.engine.url:
            return None
        return row(job, job.scheduled_at)

    def wake(self) -> None:
        """An idle fetch waits at most the fetch timeout; nothing to interrupt."""
