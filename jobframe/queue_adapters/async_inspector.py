"""`AsyncInspector`: the async adapter's `MemoryStore` through `jobframe.inspection.Inspector`,
so the CLI and the dashboard work on in-process jobs as on Redis or SQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from jobframe import payload_summary
from jobframe.backend.inspector import (
    CancelResult,
    HistoryKind,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.backend.timings import ClassTiming
from jobframe.queue_adapters.memory_store import NO_PRIORITY, Entry, EntryState

if TYPE_CHECKING:
    from jobframe.queue_adapters.async_adapter import AsyncAdapter

#: inspection state -> store state
_STATES: dict[State, EntryState] = {
    "ready": "ready",
    "scheduled": "scheduled",
    "running": "claimed",
    "dead": "dead",
    "blocked": "blocked",
}
_BACK: dict[EntryState, State] = {v: k for k, v in _STATES.items()}


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class AsyncInspector(Inspector):
    """Reads and manages the jobs of one `AsyncAdapter`'s store, under the store's lock."""

    cancels = True

    def __init__(self, adapter: AsyncAdapter) -> None:
        self.adapter = adapter
        self.store = adapter.store

    supports_search: ClassVar[bool] = True

    def _all(
        self,
        state: State,
        queue: str | None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[Entry]:
        wanted = _STATES[state]
        with self.store.lock:
            source = self.store.dead.values() if state == "dead" else self.store.entries.values()
            found = [e for e in source if e.state == wanted and (queue is None or e.queue == queue)]
        if search:
            needle = search.encode()
            found = [e for e in found if needle in e.payload]
        if job_class:
            found = [e for e in found if job_class in (self._summary(e).job_class or "")]
        if state == "dead":
            return found[::-1]  # newest failure first
        key = {
            "ready": lambda e: (e.queue, e.priority, e.seq),  # the order workers take them in
            "scheduled": lambda e: (e.run_at, e.seq),  # next due first
        }.get(state, lambda e: (e.seq,))  # running, blocked: oldest first
        return sorted(found, key=key)

    @staticmethod
    def _summary(entry: Entry) -> payload_summary.PayloadSummary:
        return payload_summary.summarize(entry.payload)

    def _info(self, entry: Entry) -> JobInfo:
        data = self._summary(entry)
        return JobInfo(
            id=entry.id,
            state=_BACK[entry.state],
            queue=entry.queue,
            job_class=data.job_class,
            job_id=data.job_id,
            arguments=data.arguments,
            priority=None if entry.priority == NO_PRIORITY else entry.priority,
            enqueued_at=_time(entry.enqueued_at),
            scheduled_at=_time(entry.run_at) if entry.state == "scheduled" else None,
            executions=data.executions,
            error=payload_summary.error(entry.error),
            raw=entry.payload,
            failed_at=_time(entry.failed_at),
            worker=entry.claimed_by,
        )

    def queues(self) -> list[QueueInfo]:
        now = time.time()
        with self.store.lock:
            names = {q for (_, q), n in self.store.sizes.items() if n} | self.store.paused
            oldest: dict[str, float] = {}
            for entry in self.store.entries.values():
                if entry.state == "ready":
                    oldest[entry.queue] = min(oldest.get(entry.queue, now), entry.run_at)
            sizes = {name: self.store.sizes[("ready", name)] for name in names}
            paused = set(self.store.paused)
        return [
            QueueInfo(name, sizes[name], max(0.0, now - oldest.get(name, now)), name in paused)
            for name in sorted(names)
        ]

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        found = self._all(state, queue, search, job_class)
        return [self._info(e) for e in found[offset : offset + limit]]

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        if search or job_class:
            return len(self._all(state, queue, search, job_class))
        with self.store.lock:
            if state == "dead":
                return sum(1 for e in self.store.dead.values() if queue in (None, e.queue))
            wanted = _STATES[state]
            return sum(
                n for (s, q), n in self.store.sizes.items() if s == wanted and queue in (None, q)
            )

    def pending(self) -> int:
        with self.store.lock:
            return len(self.store.entries)  # ready, scheduled and claimed: one read under the lock

    def job(self, id: str) -> JobInfo | None:
        with self.store.lock:
            entry = self.store.entries.get(id) or self.store.dead.get(id)
        return None if entry is None else self._info(entry)

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Put dead jobs back on their queues (by id, or all of them)."""
        with self.store.lock:
            dead = self.store.dead
            chosen = list(dead) if all else [i for i in dict.fromkeys(ids or []) if i in dead]
            entries = [dead.pop(i) for i in chosen]
            self.store.make_ready(entries)
        if entries:
            self.adapter.ensure_started()
        return len(entries)

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make scheduled jobs ready at once (by id, or all of them)."""
        wanted = set(ids or [])
        with self.store.lock:
            entries = [
                e
                for e in self.store.entries.values()
                if e.state == "scheduled" and (all or e.id in wanted)
            ]
            self.store.make_ready(entries)
        return len(entries)

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete dead (or scheduled, ready or blocked) jobs for good (by id, or all of them);
        a waiting job's unique lock is released.

        Raises:
            ValueError: ``state`` is ``running``: a running job is finished by its worker.
        """
        if state == "running":
            raise ValueError("running jobs cannot be discarded; their worker reports the outcome")
        wanted = set(ids or [])
        with self.store.lock:
            if state == "dead":
                chosen = [i for i in self.store.dead if all or i in wanted]
                for id in chosen:
                    self.store.unindex(self.store.dead.pop(id))
                return len(chosen)
            doomed = [
                e
                for e in self.store.entries.values()
                if e.state == _STATES[state] and (all or e.id in wanted)
            ]
            self.store.drop_ended(doomed, "discarded")
            self.store.changed.notify_all()
            return len(doomed)

    def cancel(self, job_id: str) -> CancelResult:
        return self.store.cancel(job_id)

    def pause(self, queue: str) -> None:
        with self.store.lock:
            self.store.paused.add(queue)
            self.store.changed.notify_all()

    def resume(self, queue: str) -> None:
        self.store.resume(queue)

    def clear(self, queue: str) -> int:
        """Delete the ready jobs of ``queue``."""
        with self.store.lock:
            doomed = [
                e for e in self.store.entries.values() if e.queue == queue and e.state == "ready"
            ]
            self.store.drop_ended(doomed, "discarded")
            self.store.changed.notify_all()
            return len(doomed)

    def workers(self) -> list[WorkerInfo]:
        with self.store.lock:
            running: dict[str, list[str]] = {}
            for entry in self.store.entries.values():
                if entry.state == "claimed" and entry.claimed_by is not None:
                    running.setdefault(entry.claimed_by, []).append(entry.id)
            processes = list(self.store.processes.values())
        return [
            WorkerInfo(
                id=p.info.id,
                hostname=p.info.hostname,
                pid=p.info.pid,
                queues=list(p.info.queues),
                concurrency=p.info.concurrency,
                started_at=datetime.fromtimestamp(p.info.started_at, UTC),
                heartbeat_at=datetime.fromtimestamp(p.beat_at, UTC),
                running=sorted(running.get(p.info.id, [])),
            )
            for p in processes
        ]

    def stats(self, day: str | None = None) -> Stats:
        """Jobs ``processed`` (run to their end, failed ones included) and ``failed`` on ``day``
        (``YYYY-MM-DD``, UTC; default today)."""
        day = day or time.strftime("%Y-%m-%d", time.gmtime())
        with self.store.lock:
            counters = self.store.counters
            return {
                "processed": counters.get(("processed", day), 0),
                "failed": counters.get(("failed", day), 0),
            }

    def history(self, kind: HistoryKind, since_minute: int | None = None) -> dict[int, int]:
        """Per-minute counts (epoch minute -> jobs) of ``kind`` since ``since_minute``
        (default: the last 24 hours)."""
        since = int(time.time() // 60) - 1440 if since_minute is None else since_minute
        with self.store.lock:
            counters = dict(self.store.counters)
        return {
            int(p): n
            for (k, p), n in counters.items()
            if k == kind and "-" not in p and int(p) >= since
        }

    def timings(
        self, since_minute: int, until_minute: int | None = None, job_class: str | None = None
    ) -> list[ClassTiming]:
        """Run times per job class and minute from ``since_minute`` to ``until_minute``
        (default: now), of every class or of ``job_class``; minutes without runs left out."""
        until = int(time.time() // 60) if until_minute is None else until_minute
        with self.store.lock:
            return self.store.timings.read(since_minute, until, job_class)
