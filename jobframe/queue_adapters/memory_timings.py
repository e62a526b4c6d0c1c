"""`MemoryTimings`: the async adapter's run times per job class and minute
(`jobframe.backend.timings`), counted by `jobframe.queue_adapters.memory_store.MemoryStore.complete`
under the store's lock.

Each (class, minute) holds the fixed counters of `jobframe.backend.timings.ClassTiming`; minutes
older than `jobframe.backend.timings.RETENTION_MINUTES` are dropped when a new minute starts, so
memory stays bounded by the number of classes, whatever the number of jobs.
"""

from __future__ import annotations

from jobframe.backend.timings import BUCKETS_MS, RETENTION_MINUTES, ClassTiming, bucket_of
from jobframe.backend.worker import Outcome

#: outcome statuses counted as failed runs (``dead`` from a worker that buries at once)
FAILED = frozenset({"failed", "dead"})


class MemoryTimings:
    """Per-class, per-minute run-time counters; the caller holds the lock that guards it."""

    def __init__(self) -> None:
        #: (job class, epoch minute) -> [count, failed, total_ms, *buckets]
        self._minutes: dict[tuple[str, int], list[float]] = {}
        self._latest = 0

    def add(self, outcome: Outcome, now: float) -> None:
        """Count one outcome that performed (``outcome.runtime`` is not None), ended at ``now``."""
        assert outcome.runtime is not None
        minute = int(now // 60)
        if minute > self._latest:
            self._latest = minute
            self._purge(minute - RETENTION_MINUTES)
        key = (outcome.job_class or "?", minute)
        row = self._minutes.get(key)
        if row is None:
            row = self._minutes[key] = [0.0] * (3 + len(BUCKETS_MS) + 1)
        ms = outcome.runtime * 1000.0
        row[0] += 1
        if outcome.status in FAILED:
            row[1] += 1
        row[2] += ms
        row[3 + bucket_of(ms)] += 1

    def _purge(self, before: int) -> None:
        for key in [k for k in self._minutes if k[1] < before]:
            del self._minutes[key]

    def read(self, since: int, until: int, job_class: str | None) -> list[ClassTiming]:
        """The timings of the minutes ``since`` to ``until`` (both included), of every class or
        of ``job_class``, ordered by class then minute."""
        return [
            ClassTiming(
                cls,
                minute,
                int(row[0]),
                int(row[1]),
                row[2],
                tuple(int(n) for n in row[3:]),
            )
            for (cls, minute), row in sorted(self._minutes.items())
            if since <= minute <= until and (job_class is None or cls == job_class)
        ]


__all__ = ["MemoryTimings"]
