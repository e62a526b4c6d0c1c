"""`ClusterInspector`: the single-node `RedisInspector` of each queue's keyspace, merged.

Every read and every action runs in one keyspace at a time (one slot, the single-node code
unchanged): a queue's page or count asks its own keyspace; "every queue" asks each in turn
and merges (dead jobs newest first, scheduled ones soonest first). A job found by its backend
id is looked for in each keyspace (one ``HEXISTS`` per queue: the dashboard's path, not a hot
one); by its ``job_id`` through the `Locator`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.inspector import (
    CancelResult,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.backend.timings import ClassTiming
from jobframe_redis.connection import Store
from jobframe_redis.inspector import RedisInspector

if TYPE_CHECKING:
    from jobframe_redis.cluster.adapter import RedisClusterAdapter

_EPOCH = datetime.fromtimestamp(0, UTC)


def _order(state: State) -> Any:
    """How rows of several queues are merged: as each queue's own list is sorted."""
    if state == "dead":
        return lambda info: -(info.failed_at or _EPOCH).timestamp()
    if state == "scheduled":
        return lambda info: (info.scheduled_at or _EPOCH).timestamp()
    return None


class ClusterInspector(Inspector):
    cancels = True

    def __init__(self, adapter: RedisClusterAdapter) -> None:
        self.adapter = adapter
        self.spaces = adapter.spaces
        self._inspectors: dict[str, RedisInspector] = {}

    def of(self, store: Store) -> RedisInspector:
        inspector = self._inspectors.get(store.keys.prefix)
        if inspector is None:
            inspector = self._inspectors.setdefault(store.keys.prefix, RedisInspector(store))
        return inspector

    def _queue(self, queue: str) -> RedisInspector:
        return self.of(self.spaces.of(queue))

    def _each(self) -> list[RedisInspector]:
        """The inspector of every queue's keyspace (the root holds no jobs)."""
        return [self._queue(name) for name in self.spaces.names(fresh=True)]

    def queues(self) -> list[QueueInfo]:
        found = [info for each in self._each() for info in each.queues()]
        names = set(self.spaces.names())
        return sorted((q for q in found if q.name in names), key=lambda q: q.name)

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        if queue is not None:
            return self._queue(queue).jobs(state, queue, offset, limit, search, job_class)
        rows = [
            info
            for each in self._each()
            for info in each.jobs(state, None, 0, offset + limit, search, job_class)
        ]
        order = _order(state)
        if order is not None:
            rows.sort(key=order)
        return rows[offset : offset + limit]

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        if queue is not None:
            return self._queue(queue).count(state, queue, search, job_class)
        return sum(each.count(state, None, search, job_class) for each in self._each())

    def pending(self) -> int:
        """The sum of each keyspace's atomic count (not one read across queues)."""
        return sum(each.pending() for each in self._each())

    def _owner(self, id: str) -> RedisInspector | None:
        names = self.spaces.names(fresh=True)
        with self.spaces.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hexists(self.spaces.of(name).keys.jobs, id)
            found = pipe.execute()
        for name, there in zip(names, found, strict=True):
            if there:
                return self._queue(name)
        return None

    def _grouped(self, ids: list[str]) -> dict[str, tuple[RedisInspector, list[str]]]:
        groups: dict[str, tuple[RedisInspector, list[str]]] = {}
        for id in ids:
            owner = self._owner(id)
            if owner is not None:
                groups.setdefault(owner.keys.prefix, (owner, []))[1].append(id)
        return groups

    def job(self, id: str) -> JobInfo | None:
        owner = self._owner(id)
        return None if owner is None else owner.job(id)

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        if all:
            return sum(each.retry(None, True) for each in self._each())
        return sum(o.retry(group) for o, group in self._grouped(ids or []).values())

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        if state == "running":
            raise ValueError("running jobs cannot be discarded; their worker reports the outcome")
        if all:
            return sum(each.discard(None, True, state) for each in self._each())
        return sum(o.discard(group, False, state) for o, group in self._grouped(ids or []).values())

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        if all:
            return sum(each.run_now(None, True) for each in self._each())
        return sum(o.run_now(group) for o, group in self._grouped(ids or []).values())

    def cancel(self, job_id: str) -> CancelResult:
        store = self.adapter.locator.find(job_id)
        if store is None or self.spaces.queue_of(store) is None:
            return "unknown"
        return self.of(store).cancel(job_id)

    def pause(self, queue: str) -> None:
        self.of(self.spaces.writing(queue)).pause(queue)

    def resume(self, queue: str) -> None:
        self._queue(queue).resume(queue)

    def clear(self, queue: str) -> int:
        return self._queue(queue).clear(queue)

    def workers(self) -> list[WorkerInfo]:
        """Each process registered in the root, with the jobs it holds in every keyspace."""
        merged: dict[str, WorkerInfo] = {}
        running: dict[str, set[str]] = {}
        for each in [self.of(self.spaces.root), *self._each()]:
            for info in each.workers():
                known = merged.get(info.id)
                if known is None or info.heartbeat_at > known.heartbeat_at:
                    merged[info.id] = info
                running.setdefault(info.id, set()).update(info.running)
        return [_with_running(info, sorted(running[id])) for id, info in sorted(merged.items())]

    def stats(self, day: str | None = None) -> Stats:
        total: dict[str, int] = {}
        for each in self._each():
            for name, count in each.stats(day).items():
                total[name] = total.get(name, 0) + int(count)  # type: ignore[call-overload]
        return Stats(processed=total.get("processed", 0), failed=total.get("failed", 0))

    def history(self, kind: Any, since_minute: int | None = None) -> dict[int, int]:
        found: dict[int, int] = {}
        for each in [self.of(self.spaces.root), *self._each()]:
            for minute, count in each.history(kind, since_minute).items():
                found[minute] = found.get(minute, 0) + count
        return found

    def timings(
        self, since_minute: int, until_minute: int | None = None, job_class: str | None = None
    ) -> list[ClassTiming]:
        merged: dict[tuple[int, str], ClassTiming] = {}
        for each in self._each():
            for timing in each.timings(since_minute, until_minute, job_class):
                key = (timing.minute, timing.job_class)
                merged[key] = merged[key] + timing if key in merged else timing
        return [merged[key] for key in sorted(merged)]


def _with_running(info: WorkerInfo, running: list[str]) -> WorkerInfo:
    from dataclasses import replace

    return replace(info, running=running)
