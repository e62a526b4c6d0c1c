"""`MemoryRecurring`: the `RecurringStore` of the in-process adapters (async, inline, test).

The tick marks live in the adapter's process, so schedulers in that process (threads) share
them and claim each tick once; a lock makes "compare the mark, enqueue, move the mark" one step.
Other processes keep their own marks: the in-process adapters are for one process.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobframe.backend.recurring import RecurringRun, RecurringStore

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job


class MemoryRecurring(RecurringStore):
    """Tick marks in a dict, behind a lock; a claim enqueues through ``adapter.enqueue``."""

    def __init__(self, adapter: QueueAdapter) -> None:
        self.adapter = adapter
        self._lock = threading.Lock()
        self._runs: dict[str, RecurringRun] = {}

    def claim(self, task: str, tick: datetime, job: Job) -> bool:
        with self._lock:
            last = self._runs.get(task)
            if last is not None and tick <= last.tick:
                return False
            self.adapter.enqueue(job)  # raises, having written nothing, before the mark moves
            enqueued = job.enqueued_at or datetime.now(UTC)
            self._runs[task] = RecurringRun(task, tick, job.job_id, enqueued, job.provider_job_id)
            return True

    def last_runs(self) -> dict[str, RecurringRun]:
        with self._lock:
            return dict(self._runs)


_stores_lock = threading.Lock()


def memory_recurring(adapter: QueueAdapter) -> MemoryRecurring:
    """The one `MemoryRecurring` of ``adapter`` (made on first use), for the in-process adapters'
    `QueueAdapter.recurring`."""
    with _stores_lock:
        store = adapter.__dict__.get("_memory_recurring")
        if store is None:
            store = adapter.__dict__["_memory_recurring"] = MemoryRecurring(adapter)
        assert isinstance(store, MemoryRecurring)
        return store


__all__ = ["MemoryRecurring", "memory_recurring"]
