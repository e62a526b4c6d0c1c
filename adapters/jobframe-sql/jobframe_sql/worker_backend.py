"""`SQLWorkerBackend`: the worker runtime's view of the jobs table.

Claims use ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB/MySQL; on SQLite every
transaction holds the database's write lock (``BEGIN IMMEDIATE``), which makes claims a single
writer's. Every outcome and release is an ``UPDATE ... WHERE id = ? AND claim_token = ? AND
state = 'claimed'``: a claim taken back by the reaper cannot finish, fail or release the job.
Each claimed row gets a token of its own (the fetch's, then ``:seq``), so `cancelled` names one job.

Flow control (`jobframe_sql.flow`) rides in the same transactions. A plain job pays a check: its
row's flow columns are NULL, and a claim whose payload has no unique lock or concurrency limit is
settled as before.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, ProcessInfo, WorkerBackend
from jobframe_sql import flow, upkeep
from jobframe_sql.completion import Completion, holds
from jobframe_sql.engine import (
    async_commit_engine,
    bump_stats,
    day_and_minute,
    in_transaction,
    now_ms,
    read_committed_engine,
)
from jobframe_sql.schema import jobs, pauses, processes
from jobframe_sql.upsert import upsert

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

log = logging.getLogger("jobframe.worker")


_CLAIMED = (jobs.c.seq, jobs.c.id, jobs.c.queue, jobs.c.priority, jobs.c.payload, jobs.c.job_id,
            jobs.c.unique_key, jobs.c.unique_until, jobs.c.concurrency_key,
            jobs.c.concurrency_limit)  # fmt: skip
#: claim rounds of one fetch: a round that blocked jobs of a full key leaves room for others
_ROUNDS = 4


def dump(payload: dict[str, Any]) -> bytes:
    return dump_payload(payload)


def claim_values(process_id: str, token: str, now: int) -> dict[str, Any]:
    """What a claim writes into each row it takes (its token ends with the row's ``seq``)."""
    return {
        "state": "claimed",
        "claimed_by": process_id,
        "claim_token": sa.literal(f"{token}:") + sa.cast(jobs.c.seq, sa.String),
        "claimed_at": now,
    }


def pick_ready(queue: str | None, want: int, skip_locked: bool) -> sa.Select[tuple[int]]:
    """The ``seq`` of up to ``want`` ready rows of ``queue`` (None: of every queue) that is not
    paused, in claim order, locked and skipping the rows other claims hold where the database
    can. It reads ``jobframe_jobs_claim`` for one queue and ``jobframe_jobs_ready`` for every
    queue, whatever finished history the table holds (``test_claim_plan.py``)."""
    pick = sa.select(jobs.c.seq).where(
        jobs.c.state == "ready", jobs.c.queue.not_in(sa.select(pauses.c.queue))
    )
    if queue is not None:
        pick = pick.where(jobs.c.queue == queue)
    pick = pick.order_by(jobs.c.priority, jobs.c.seq).limit(want)
    return pick.with_for_update(skip_locked=True) if skip_locked else pick


def claiming(pick: sa.Select[tuple[int]], claim: dict[str, Any]) -> sa.UpdateBase:
    """One statement that picks, locks and claims, returning the claimed rows (PostgreSQL,
    SQLite: ``UPDATE ... RETURNING``)."""
    update = sa.update(jobs).where(jobs.c.seq.in_(pick.scalar_subquery())).values(claim)
    return update.returning(*_CLAIMED)


class SQLWorkerBackend(Completion, upkeep.Upkeep, WorkerBackend):
    """Implements `jobframe.backend.WorkerBackend` on the ``jobframe_*`` tables."""

    throttles = True
    cancels = True
    #: `complete` writes `Outcome.records` in the outcome's transaction
    records = True

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
            self.engine = adapter.worker_engine(async_commit_engine)
        elif self.dialect in ("mysql", "mariadb"):
            self.engine = (
                adapter.worker_engine(read_committed_engine)
                if adapter._single is not None
                else self.engine.execution_options(isolation_level="READ COMMITTED")
            )
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
        """Record ``process`` (again: its row is overwritten, as Redis's hash is)."""
        row = {
            "id": process.id,
            "hostname": process.hostname[:255],
            "pid": process.pid,
            "queues": ",".join(process.queues)[:1000],
            "concurrency": process.concurrency,
            "started_at": int(process.started_at * 1000),
            "heartbeat_at": now_ms(),
        }
        with self.engine.begin() as conn:
            upsert(conn, processes, [row])
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
        return [Claim(r.id, f"{token}:{r.seq}", r.queue, r.payload or b"") for r in found]

    def _held(self, conn: sa.Connection, process_id: str, token: str) -> list[Any]:
        """Claims a previous fetch made but whose reply never came back (connection lost)."""
        query = sa.select(*_CLAIMED).where(
            jobs.c.claimed_by == process_id,
            jobs.c.claim_token.startswith(f"{token}:", autoescape=True),
            jobs.c.state == "claimed",
        )
        return sorted(conn.execute(query).all(), key=lambda r: (r.priority, r.seq))

    def _take_ready(
        self, conn: sa.Connection, queues: list[str], limit: int, process_id: str, token: str
    ) -> list[Any]:
        """Claim up to ``limit`` ready jobs, queue by queue in the given order; block those whose
        concurrency key is full, and release the locks of unique jobs ``until="started"``."""
        now = now_ms()
        claim = claim_values(process_id, token, now)
        found: list[Any] = []
        for queue in [None] if queues == ["*"] else queues:
            for _ in range(_ROUNDS):
                want = limit - len(found)
                if want <= 0:
                    break
                rows = self._pick(conn, queue, want, claim)
                blocked = 0
                if any(r.concurrency_key is not None for r in rows):
                    rows, blocked = flow.block(conn, rows, now)
                found += sorted(rows, key=lambda r: (r.priority, r.seq))
                if not blocked:
                    break
        started = [(r.unique_key, r.job_id) for r in found if r.unique_until == "started"]
        flow.release(conn, started)
        return found

    def _pick(self, conn: sa.Connection, queue: str | None, want: int, claim: Any) -> list[Any]:
        pick = pick_ready(queue, want, self.skip_locked)
        if self.returning:
            return list(conn.execute(claiming(pick, claim)).all())
        seqs = [seq for (seq,) in conn.execute(pick).all()]
        if not seqs:
            return []
        rows = conn.execute(sa.select(*_CLAIMED).where(jobs.c.seq.in_(seqs))).all()
        conn.execute(sa.update(jobs).where(jobs.c.seq.in_(seqs)).values(claim))
        return list(rows)

    def _release_statement(self) -> Any:
        return (
            sa.update(jobs)
            .where(jobs.c.state == "claimed")
            .values(state="ready", claimed_by=None, claim_token=None, claimed_at=None)
        )

    def release(self, process_id: str, claims: list[Claim]) -> None:
        readied = 0
        with self.engine.begin() as conn:
            info = self._info(conn, {c.id for c in claims if holds(c)})
            freed = []
            for claim in claims:
                done = conn.execute(self._release_statement().where(self._guard(claim)))
                if done.rowcount == 1 and claim.id in info:
                    freed.append(info[claim.id])
            readied = flow.settled(conn, freed, now_ms())
        if readied:
            self.adapter.wake_local()

    def retry_entry(self, job: Any, adapter: Any) -> Any | None:
        from jobframe_sql.adapter import SQLAdapter, row

        if not isinstance(adapter, SQLAdapter) or adapter.engine.url != self.engine.url:
            return None
        return row(job, job.scheduled_at)

    def wake(self) -> None:
        """An idle fetch waits at most the fetch timeout; nothing to interrupt."""

    # -- flow control ---------------------------------------------------------------------------

    def reserve(self, key: str, interval: float) -> float:
        now_us = int(time.time() * 1_000_000)
        start = in_transaction(self.engine, lambda conn: flow.reserve(conn, key, interval, now_us))
        return start / 1_000_000

    def defer(self, process_id: str, claim: Claim, at: float, payload: bytes) -> None:
        ms = now_ms()
        with self.engine.begin() as conn:
            info = self._info(conn, {claim.id} if holds(claim) else set())
            later = {"state": "scheduled", "run_at": math.ceil(at * 1000), "payload": payload}
            moved = conn.execute(
                sa.update(jobs)
                .where(self._guard(claim))
                .values(claimed_by=None, claim_token=None, claimed_at=None, **later)
            ).rowcount
            if moved:
                bump_stats(conn, {("throttled", day_and_minute(ms)[1]): 1})
                readied = flow.settled(conn, info.values(), ms)  # its slot is free again
        if moved and readied:
            self.adapter.wake_local()

    def cancelled(self, process_id: str, tokens: list[str]) -> set[str]:
        query = sa.select(jobs.c.claim_token).where(
            jobs.c.claimed_by == process_id,
            jobs.c.state == "claimed",
            jobs.c.cancel_requested.is_(True),
        )
        with self.engine.connect() as conn:
            flagged = set(conn.execute(query).scalars())
        return flagged & set(tokens)
