"""`SQLInspector`: queues, jobs by state, failed jobs, workers and counters, for the CLI and
the dashboard (`jobframe.backend.Inspector`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe import payload_summary
from jobframe.backend.inspector import (
    CancelResult,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.backend.payload import PayloadError, load_payload
from jobframe.backend.results import JobRecord
from jobframe.backend.timings import ClassTiming
from jobframe.tracking.chains import broken_records
from jobframe_sql import flow, timings
from jobframe_sql import records as record_sql
from jobframe_sql.engine import bump_stats, day_and_minute, now_ms
from jobframe_sql.schema import jobs, pauses, processes, stats
from jobframe_sql.upkeep import history_ttl

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

#: inspection state -> row state
_STATES = {
    "ready": "ready",
    "scheduled": "scheduled",
    "running": "claimed",
    "dead": "failed",
    "blocked": "blocked",
}
#: the row states of jobs not started yet, which `SQLInspector.cancel` removes
_WAITING = ("ready", "scheduled", "blocked")
_BACK = {v: k for k, v in _STATES.items()}


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


#: in the payload of a chain link with links after it (compact JSON: `dump_payload`); no LIKE
#: wildcard in it; bytes, as the payload column is binary on every dialect
_LINKED = b'"chain":[{'


def _linked(conn: sa.Connection) -> Any:
    """The rows whose payload is a chain link with links after it, filtered by the server."""
    if conn.dialect.name == "sqlite":  # its LIKE never matches a blob pattern (measured)
        return sa.func.instr(jobs.c.payload, sa.literal(_LINKED, sa.LargeBinary)) > 0
    return jobs.c.payload.op("LIKE")(sa.literal(b"%" + _LINKED + b"%", sa.LargeBinary))


def _break_chains(conn: sa.Connection, selected: Any, ended: str) -> record_sql.Written:
    """Write the ``cancelled`` records of the chain links after the ``selected`` rows, which
    are being deleted ``ended`` in ``conn``'s transaction. Only the payloads of chain links
    with a successor come back (the server filters: a clear of a large queue transfers no
    payload), locked so that no worker claims a row between this read and the delete."""
    query = sa.select(jobs.c.payload).where(selected, _linked(conn))
    if conn.dialect.name != "sqlite":  # SQLite: the transaction's write lock keeps them
        query = query.with_for_update()
    rows = conn.execute(query)
    found = [r for (payload,) in rows for r in broken_records(_bytes(payload), ended)]
    return record_sql.write(conn, found, now_ms())


def _bytes(payload: Any) -> bytes | None:
    """A payload column's value as bytes (some drivers return a memoryview)."""
    return None if payload is None else bytes(payload)


def _chunks(ids: list[str] | None, size: int = 1000) -> list[list[str] | None]:
    ids = list(dict.fromkeys(ids or []))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _error(text: str | None) -> dict[str, Any] | None:
    """A failed job's error record (JSON written by the worker), safe to show."""
    try:
        return payload_summary.error(load_payload(text.encode())) if text else None
    except PayloadError:
        return None


class SQLInspector(Inspector):
    cancels = True

    def __init__(self, adapter: SQLAdapter) -> None:
        self.adapter = adapter
        self.engine = adapter.engine

    def queues(self) -> list[QueueInfo]:
        with self.engine.connect() as conn:
            names = conn.execute(sa.select(jobs.c.queue).distinct()).scalars().all()
            paused = set(conn.execute(sa.select(pauses.c.queue)).scalars())
            ready = {
                q: (n, oldest)
                for q, n, oldest in conn.execute(
                    sa.select(jobs.c.queue, sa.func.count(), sa.func.min(jobs.c.run_at))
                    .where(jobs.c.state == "ready")
                    .group_by(jobs.c.queue)
                )
            }
        now = time.time()
        result = []
        for name in sorted({*names, *paused}):
            size, oldest = ready.get(name, (0, None))
            latency = max(0.0, now - oldest / 1000) if oldest else 0.0
            result.append(QueueInfo(name, int(size), latency, name in paused))
        return result

    supports_search = True

    def _payload_text(self) -> Any:
        """The stored payload as text, for searching arguments, on each database."""
        name = self.engine.dialect.name
        if name == "postgresql":
            return sa.func.encode(jobs.c.payload, "escape")  # never fails on undecodable bytes
        return sa.cast(jobs.c.payload, sa.Text if name == "sqlite" else sa.String)

    def _where(
        self,
        state: State,
        queue: str | None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[Any]:
        clauses: list[Any] = [jobs.c.state == _STATES[state]]
        if queue is not None:
            clauses.append(jobs.c.queue == queue)
        if search:
            clauses.append(self._payload_text().contains(search, autoescape=True))
        if job_class:
            clauses.append(jobs.c.job_class.contains(job_class, autoescape=True))
        return clauses

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        # Every order ends in the unique `seq`, so pages never overlap or skip rows.
        order: tuple[Any, ...] = {
            "ready": (jobs.c.queue, jobs.c.priority, jobs.c.seq),  # the order workers claim in
            "scheduled": (jobs.c.run_at, jobs.c.seq),  # next due first
            "running": (jobs.c.claimed_at, jobs.c.seq),
            "dead": (jobs.c.finished_at.desc(), jobs.c.seq.desc()),  # newest failure first
            "blocked": (jobs.c.seq,),  # the order they are let go in, per key
        }[state]
        query = sa.select(jobs).where(*self._where(state, queue, search, job_class))
        query = query.order_by(*order)
        with self.engine.connect() as conn:
            rows = conn.execute(query.offset(offset).limit(limit)).all()
        return [self._info(r) for r in rows]

    def _info(self, row: Any) -> JobInfo:
        data = payload_summary.summarize(row.payload)
        return JobInfo(
            id=row.id,
            state=_BACK.get(row.state, "ready"),  # type: ignore[arg-type]
            queue=row.queue,
            job_class=row.job_class or data.job_class,
            job_id=row.job_id or data.job_id,
            arguments=data.arguments,
            priority=row.priority,
            enqueued_at=_ms(row.enqueued_at),
            scheduled_at=_ms(row.run_at) if row.state == "scheduled" else None,
            executions=data.executions,
            error=_error(row.error),
            raw=row.payload,
            worker=row.claimed_by,
            failed_at=_ms(row.finished_at) if row.state == "failed" else None,
        )

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        with self.engine.connect() as conn:
            where = self._where(state, queue, search, job_class)
            query = sa.select(sa.func.count()).select_from(jobs).where(*where)
            return int(conn.execute(query).scalar_one())

    def pending(self) -> int:
        states = (*_WAITING, _STATES["running"])
        query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.state.in_(states))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())  # one statement: one snapshot

    def job(self, id: str) -> JobInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == id)).first()
        return None if row is None or row.state == "finished" else self._info(row)

    @staticmethod
    def _selected(row_state: str, ids: list[str] | None, all: bool) -> Any:
        where = jobs.c.state == row_state
        return where if all else sa.and_(where, jobs.c.id.in_(ids or []))

    def _make_ready(self, row_state: str, ids: list[str] | None, all: bool, **values: Any) -> int:
        """Move the selected rows to ``ready`` now, in batches of 1,000 ids, and wake workers."""
        chunks: list[list[str] | None] = [None] if all else _chunks(ids)
        done = 0
        with self.engine.begin() as conn:
            for chunk in chunks:
                selected = self._selected(row_state, chunk, all)
                if row_state == "scheduled":
                    flow.release_leaving(conn, selected, until="scheduled")
                done += conn.execute(
                    sa.update(jobs).where(selected).values(state="ready", run_at=now_ms(), **values)
                ).rowcount  # rows turning ready wake workers (a trigger on PostgreSQL)
        if done:
            self.adapter.wake_local()
        return int(done)

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Put failed jobs back on their queues (by id, or all of them)."""
        cleared = {"error": None, "crashes": 0, "finished_at": None, "claim_token": None}
        return self._make_ready("failed", ids, all, claimed_at=None, **cleared)

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make scheduled jobs ready at once (by id, or all of them)."""
        return self._make_ready("scheduled", ids, all)

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete failed (or scheduled, or ready) jobs for good (by id, or all of them).

        Raises:
            ValueError: ``state`` is ``running``: a running job is finished by its worker.
        """
        if state == "running":
            raise ValueError("running jobs cannot be discarded; their worker reports the outcome")
        chunks: list[list[str] | None] = [None] if all else _chunks(ids)
        done = 0
        written = record_sql.Written()
        with self.engine.begin() as conn:
            for chunk in chunks:
                selected = self._selected(_STATES[state], chunk, all)
                if state != "dead":  # a dead link stopped its chain when it died
                    written.add(_break_chains(conn, selected, "discarded"))
                flow.release_leaving(conn, selected)
                done += conn.execute(sa.delete(jobs).where(selected)).rowcount
        self.adapter.results().written(written)
        return int(done)

    def cancel(self, job_id: str) -> CancelResult:
        """Remove the job's waiting row (ready, scheduled or blocked), release its unique lock
        and write its ``cancelled`` record (counted in its batch), or flag its running row for
        `SQLWorkerBackend.cancelled`."""
        written = record_sql.Written()
        flagged = 0
        with self.engine.begin() as conn:
            waiting = conn.execute(
                sa.select(jobs.c.seq, jobs.c.unique_key, jobs.c.batch_id, jobs.c.payload).where(
                    jobs.c.job_id == job_id, jobs.c.state.in_(_WAITING)
                )
            ).all()
            removed = 0
            batch_id = None
            broken: list[JobRecord] = []
            for seq, key, batch, payload in waiting:
                # Guarded by its state: a row a worker claimed meanwhile is running, not removed.
                gone = conn.execute(
                    sa.delete(jobs).where(jobs.c.seq == seq, jobs.c.state.in_(_WAITING))
                ).rowcount
                if gone:
                    removed += gone
                    batch_id = batch_id or batch
                    flow.release(conn, [(key, job_id)])
                    broken = broken or broken_records(_bytes(payload), "cancelled")
            if removed:
                now = now_ms()
                bump_stats(conn, {("cancelled", day_and_minute(now)[1]): removed})
                record = JobRecord(job_id, "cancelled", b"{}", history_ttl(), batch_id, True)
                written = record_sql.write(conn, [record, *broken], now)
            else:
                flag = sa.update(jobs).where(jobs.c.job_id == job_id, jobs.c.state == "claimed")
                flagged = conn.execute(flag.values(cancel_requested=True)).rowcount
        if removed:
            self.adapter.results().written(written)
            return "cancelled"
        return "running" if flagged else "unknown"

    def pause(self, queue: str) -> None:
        try:
            with self.engine.begin() as conn:
                known = sa.select(pauses.c.queue).where(pauses.c.queue == queue)
                if conn.execute(known).first() is None:
                    conn.execute(sa.insert(pauses).values(queue=queue))
        except sa.exc.IntegrityError:
            pass  # paused at the same moment by someone else: paused either way

    def resume(self, queue: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(pauses).where(pauses.c.queue == queue))
            if self.adapter.notify:
                conn.execute(sa.text("SELECT pg_notify('jobframe_jobs', '')"))
        self.adapter.wake_local()

    def clear(self, queue: str) -> int:
        with self.engine.begin() as conn:
            selected = sa.and_(jobs.c.state == "ready", jobs.c.queue == queue)
            written = _break_chains(conn, selected, "discarded")
            flow.release_leaving(conn, selected)
            done = int(conn.execute(sa.delete(jobs).where(selected)).rowcount)
        self.adapter.results().written(written)
        return done

    def workers(self) -> list[WorkerInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(processes).order_by(processes.c.started_at)).all()
            held = conn.execute(
                sa.select(jobs.c.claimed_by, jobs.c.id).where(jobs.c.state == "claimed")
            ).all()
        running: dict[str, list[str]] = {}
        for owner, id in held:
            running.setdefault(owner, []).append(id)
        return [
            WorkerInfo(
                id=r.id,
                hostname=r.hostname,
                pid=r.pid,
                queues=r.queues.split(","),
                concurrency=r.concurrency,
                started_at=_ms(r.started_at),  # type: ignore[arg-type]
                heartbeat_at=_ms(r.heartbeat_at),  # type: ignore[arg-type]
                running=sorted(running.get(r.id, [])),
            )
            for r in rows
        ]

    def stats(self, day: str | None = None) -> Stats:
        day = day or day_and_minute(now_ms())[0]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(stats.c.kind, stats.c.count).where(stats.c.period == day))
            found = {kind: int(count) for kind, count in rows}
        return {"processed": found.get("processed", 0), "failed": found.get("failed", 0)}

    def history(self, kind: str, since_minute: int | None = None) -> dict[int, int]:
        """Per-minute counts (epoch minute -> jobs) of ``kind`` (`HistoryKind`)."""
        since = since_minute if since_minute is not None else now_ms() // 60000 - 1440
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(stats.c.period, stats.c.count).where(
                    stats.c.kind == kind, ~stats.c.period.contains("-")
                )
            )
            return {int(p): int(c) for p, c in rows if int(p) >= since}

    def timings(
        self, since_minute: int, until_minute: int | None = None, job_class: str | None = None
    ) -> list[ClassTiming]:
        """Per class and minute, from ``jobframe_timings`` (`jobframe_sql.timings`): one range
        read of its key; by minute, then class."""
        until = now_ms() // 60000 if until_minute is None else until_minute
        with self.engine.connect() as conn:
            return timings.read(conn, since_minute, until, job_class)
