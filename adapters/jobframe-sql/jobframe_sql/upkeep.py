"""`Upkeep`: the SQL worker backend's `maintain` (promotion, the reaper, blocked jobs of keys with
room, pruning of finished jobs (`jobframe_sql.pruning`), of expired records and batches, and of
run times past their retention), a part of `jobframe_sql.worker_backend.SQLWorkerBackend`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.results import JobRecord
from jobframe.backend.timings import RETENTION_MINUTES
from jobframe.tracking.chains import broken_records
from jobframe_sql import flow, pruning, timings
from jobframe_sql import records as record_sql
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import jobs, processes

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

#: how long an unused semaphore or rate limiter row is kept (ms); it is made again when needed
IDLE_KEY_MS = 86_400_000


def history_ttl() -> float:
    """How long records the backend writes itself (poison pills, cancelled jobs) are kept: the
    ``history_ttl`` setting (one day when it is 0: `jobframe.tracking.records.kept_ttl`)."""
    from jobframe.tracking.records import kept_ttl

    return kept_ttl()


class Upkeep:
    adapter: SQLAdapter
    engine: sa.Engine
    finished_retention_ms: int
    prune_every: float
    _next_prune: float
    _prune_more = False  # the last pass stopped at its time budget with rows left

    def _release_statement(self) -> Any:
        raise NotImplementedError

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        now = now_ms()
        counts = {"promoted": 0, "reaped": 0, "requeued": 0, "dead": 0, "pruned": 0}
        written = record_sql.Written()
        with self.engine.begin() as conn:
            due = sa.and_(jobs.c.state == "scheduled", jobs.c.run_at <= now)
            flow.release_leaving(conn, due, until="scheduled")  # ready now: "scheduled" passed
            promoted = conn.execute(sa.update(jobs).where(due).values(state="ready")).rowcount
            counts["promoted"] = promoted
            expired = sa.select(processes.c.id).where(
                processes.c.heartbeat_at < now - int(heartbeat_timeout * 1000)
            )
            freed: list[Any] = []
            for (process_id,) in conn.execute(expired).all():
                counts["reaped"] += 1
                held = self._flowed(conn, process_id)
                poisoned, poison = self._reap(conn, process_id, max_crashes, now)
                counts["dead"] += poisoned
                written.add(poison)
                counts["requeued"] += conn.execute(
                    self._release_statement()
                    .where(jobs.c.claimed_by == process_id)
                    .values(crashes=jobs.c.crashes + 1)
                ).rowcount
                conn.execute(sa.delete(processes).where(processes.c.id == process_id))
                dead = [(r.unique_key, r.job_id) for r in held if r.crashes + 1 >= max_crashes]
                flow.release(conn, dead)
                freed += held
            readied = flow.settled(conn, freed, now)
        with self.engine.begin() as conn:
            readied += flow.unblock_with_room(conn, now)  # lapsed slots, lost wake-ups
        counts["unblocked"] = readied
        if written.finals or written.callbacks:
            self.adapter.results().written(written)
        if readied:
            self.adapter.wake_local()
        if time.monotonic() >= self._next_prune:
            # A pass over a long history stops after its time budget (`jobframe_sql.pruning`)
            # and the next tick goes on: the heartbeat waits on this thread meanwhile.
            continuing = self._prune_more
            before = now - self.finished_retention_ms
            pruned, self._prune_more = pruning.prune(self.engine, before, budget=pruning.BUDGET)
            counts["pruned"] = pruned
            self._next_prune = time.monotonic() + (0 if self._prune_more else self.prune_every)
            if not continuing:
                with self.engine.begin() as conn:
                    flow.prune(conn, now, now - IDLE_KEY_MS)
                counts["purged"] = self.purge_results()
                counts["purged"] += timings.purge(self.engine, now // 60000 - RETENTION_MINUTES)
                counts["purged"] += pruning.prune_stats(self.engine, now)
        return counts

    def purge_results(self, limit: int = 1000) -> int:
        """Delete expired records, progress and finished batches, ``limit`` rows a pass (each
        pass its own short transactions), until none is left."""
        store = self.adapter.results()
        total = 0
        while True:
            done = store.purge(limit)
            total += done
            if done < limit:
                return total

    @staticmethod
    def _flowed(conn: sa.Connection, process_id: str) -> list[Any]:
        """The claims of a dead process that hold a unique lock or a concurrency slot."""
        query = sa.select(*flow.INFO, jobs.c.crashes).where(
            jobs.c.claimed_by == process_id,
            jobs.c.state == "claimed",
            sa.or_(jobs.c.unique_key.is_not(None), jobs.c.concurrency_key.is_not(None)),
        )
        return list(conn.execute(query).all())

    def _reap(
        self, conn: sa.Connection, process_id: str, max_crashes: int, now: int
    ) -> tuple[int, record_sql.Written]:
        """Jobs of a dead process that crashed it ``max_crashes`` times go to failed (poison),
        each with a ``dead`` record counted in its batch. Returns how many, and the records'
        wake-ups."""
        error = {
            "class": "jobframe.WorkerCrashed",
            "message": f"worker process {process_id} stopped heartbeating",
            "reason": f"poison pill: its worker died {max_crashes} times while running it",
        }
        poison = sa.and_(
            jobs.c.claimed_by == process_id,
            jobs.c.state == "claimed",
            jobs.c.crashes + 1 >= max_crashes,
        )
        query = sa.select(jobs.c.job_id, jobs.c.batch_id, jobs.c.payload).where(poison)
        if conn.dialect.name != "sqlite":  # a second reaper waits, then finds none
            query = query.with_for_update()
        found = conn.execute(query).all()
        if not found:
            return 0, record_sql.Written()
        dead = conn.execute(
            sa.update(jobs)
            .where(poison)
            .values(
                state="failed",
                crashes=max_crashes,
                error=json.dumps({**error, "attempts": max_crashes}),
                finished_at=now,
                claimed_by=None,
                claim_token=None,
            )
        ).rowcount
        data = json.dumps({"error": error}).encode()
        ttl = history_ttl()
        dead_records = [
            JobRecord(job_id, "dead", data, ttl, batch_id=batch_id, notify=True)
            for job_id, batch_id, _ in found
            if job_id is not None  # a raw payload's row: no job id to keep a record by
        ]
        # a chain link's later links, recorded cancelled in this same transaction
        for *_, payload in found:
            dead_records += broken_records(None if payload is None else bytes(payload), "dead")
        return int(dead), record_sql.write(conn, dead_records, now)

    def prune(self, before_ms: int, batch: int = pruning.BATCH) -> int:
        """Delete every finished job older than ``before_ms``, a batch per transaction."""
        return pruning.prune(self.engine, before_ms, batch, pause=0, budget=None)[0]


__all__ = ["Upkeep"]
