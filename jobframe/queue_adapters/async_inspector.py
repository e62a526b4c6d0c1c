"""`AsyncInspector`: the async adapter's jobs through `jobframe.backend.Inspector`, so the
CLI and the dashboard work on an in-process thread pool as on Redis or SQL."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobframe import payload_summary
from jobframe.backend.inspector import Inspector, JobInfo, QueueInfo, State, Stats, WorkerInfo

if TYPE_CHECKING:
    from jobframe.queue_adapters.async_adapter import AsyncAdapter, Entry

_STARTED = time.time()


def _seconds(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _arguments_text(entry: Entry) -> str:
    return json.dumps([entry.payload.get("arguments"), entry.payload.get("kwargs")])


class AsyncInspector(Inspector):
    def __init__(self, adapter: AsyncAdapter) -> None:
        self.adapter = adapter

    def _all(
        self,
        state: State,
        queue: str | None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[Entry]:
        with self.adapter._cond:
            source = (
                self.adapter.dead.values() if state == "dead" else self.adapter.entries.values()
            )
            wanted = {"running": "running", "dead": "dead"}.get(state, state)
            found = [e for e in source if e.state == wanted and (queue is None or e.queue == queue)]
        if search:
            found = [e for e in found if search in _arguments_text(e)]
        if job_class:
            found = [e for e in found if job_class in str(e.payload.get("job_class", ""))]
        if state == "dead":
            return found[::-1]  # newest failure first
        return sorted(
            found, key=lambda e: (e.run_at, e.seq) if state == "scheduled" else (e.priority, e.seq)
        )

    def _info(self, entry: Entry) -> JobInfo:
        if entry.raw is not None:  # stored by enqueue_raw: any bytes at all
            data = payload_summary.summarize(entry.raw)
        else:
            data = payload_summary.from_data(entry.payload)
        return JobInfo(
            id=entry.id,
            state="running" if entry.state == "running" else entry.state,  # type: ignore[arg-type]
            queue=entry.queue,
            job_class=data.job_class,
            job_id=data.job_id,
            arguments=data.arguments,
            priority=data.priority,
            enqueued_at=data.enqueued_at,
            scheduled_at=data.scheduled_at,
            executions=data.executions,
            error=payload_summary.error(entry.error),
            raw=entry.raw,
            failed_at=_seconds(entry.failed_at),
            worker=f"{socket.gethostname()}:{os.getpid()}" if entry.state == "running" else None,
        )

    def queues(self) -> list[QueueInfo]:
        with self.adapter._cond:
            entries = list(self.adapter.entries.values())
            paused = set(self.adapter.paused)
        names = sorted({e.queue for e in entries} | paused)
        now = time.time()
        result = []
        for name in names:
            ready = [e for e in entries if e.queue == name and e.state == "ready"]
            oldest = min((e.run_at for e in ready), default=now)
            result.append(QueueInfo(name, len(ready), max(0.0, now - oldest), name in paused))
        return result

    supports_search = True

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
        return len(self._all(state, queue, search, job_class))

    def pending(self) -> int:
        with self.adapter._cond:
            return sum(1 for e in self.adapter.entries.values() if e.state != "dead")

    def job(self, id: str) -> JobInfo | None:
        with self.adapter._cond:
            entry = self.adapter.entries.get(id) or self.adapter.dead.get(id)
        return None if entry is None else self._info(entry)

    def _requeue(self, entries: list[Entry], now: float) -> None:
        for entry in entries:
            entry.run_at, entry.error, entry.failed_at = now, None, None
            self.adapter.entries[entry.id] = entry
            self.adapter._place(entry, now)
        self.adapter._start_threads()
        self.adapter._cond.notify_all()

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Run failed jobs again (by id, or all)."""
        with self.adapter._cond:
            chosen = (
                list(self.adapter.dead) if all else [i for i in ids or [] if i in self.adapter.dead]
            )
            entries = [self.adapter.dead.pop(i) for i in chosen]
            self._requeue(entries, time.time())
        return len(entries)

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make scheduled jobs ready at once."""
        with self.adapter._cond:
            entries = [
                e
                for e in self.adapter.entries.values()
                if e.state == "scheduled" and (all or e.id in (ids or []))
            ]
            self._requeue(entries, time.time())
        return len(entries)

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete failed (or scheduled) jobs for good."""
        with self.adapter._cond:
            if state == "dead":
                chosen = (
                    list(self.adapter.dead)
                    if all
                    else [i for i in ids or [] if i in self.adapter.dead]
                )
                for id in chosen:
                    del self.adapter.dead[id]
                return len(chosen)
            found = [
                e.id
                for e in self.adapter.entries.values()
                if e.state == state and (all or e.id in (ids or []))
            ]
            for id in found:
                del self.adapter.entries[id]
            return len(found)

    def pause(self, queue: str) -> None:
        with self.adapter._cond:
            self.adapter.paused.add(queue)

    def resume(self, queue: str) -> None:
        with self.adapter._cond:
            self.adapter.paused.discard(queue)
            self.adapter._cond.notify_all()

    def clear(self, queue: str) -> int:
        with self.adapter._cond:
            doomed = [
                e.id
                for e in self.adapter.entries.values()
                if e.queue == queue and e.state == "ready"
            ]
            for id in doomed:
                del self.adapter.entries[id]
            return len(doomed)

    def workers(self) -> list[WorkerInfo]:
        running = [e.id for e in self._all("running", None)]
        now = datetime.now(UTC)
        return [
            WorkerInfo(
                id=f"async-{os.getpid()}",
                hostname=socket.gethostname(),
                pid=os.getpid(),
                queues=["*"],
                concurrency=self.adapter.concurrency,
                started_at=datetime.fromtimestamp(_STARTED, UTC),
                heartbeat_at=now,
                running=running,
            )
        ]

    def stats(self, day: str | None = None) -> Stats:
        day = day or time.strftime("%Y-%m-%d", time.gmtime())
        with self.adapter._cond:
            counters = dict(self.adapter.counters)
        return {
            "processed": counters.get(("processed", day), 0),
            "failed": counters.get(("failed", day), 0),
        }

    def history(self, kind: str, since_minute: int | None = None) -> dict[int, int]:
        """Per-minute counts (epoch minute -> jobs) since ``since_minute`` (default: 24 hours)."""
        since = int(time.time() // 60) - 1440 if since_minute is None else since_minute
        with self.adapter._cond:
            counters = dict(self.adapter.counters)
        return {
            int(p): n
            for (k, p), n in counters.items()
            if k == kind and "-" not in p and int(p) >= since
        }
