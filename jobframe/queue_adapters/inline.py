"""The inline adapter: ``perform_later`` performs the job at once, in the caller's thread.

For development and scripts. Errors surface in the caller. Jobs cannot be scheduled for later;
retries asked for by ``retry_on`` run immediately instead of after their delay. Each job's record
(status, stored result) is kept in memory (`MemoryResults`), so ``job.status()`` and
``job.result()`` answer as on any backend.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.errors import InvalidOptionError
from jobframe.hookspecs import hookimpl
from jobframe.queue_adapters.memory_batches import BatchedResults
from jobframe.queue_adapters.memory_results import MemoryResults, perform_recorded
from jobframe.recurrence.memory import MemoryRecurring, memory_recurring

if TYPE_CHECKING:
    from jobframe.job.base import Job


class InlineAdapter(QueueAdapter):
    name = "inline"
    capabilities = Capabilities(
        delay=False,
        priority=False,
        performs_in_caller=True,
        recurring=True,
        results=True,
        batches=True,
        chains=True,
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._results = BatchedResults(owner=self)

    def enqueue(self, job: Job) -> None:
        batch_id = getattr(job, "batch_id", None)  # set by jobframe.tracking.batches
        if batch_id is not None:
            with self._results.lock:
                self._results._count_enqueue(job.job_id, batch_id)
        perform_recorded(self._results, job.serialize())

    def results(self) -> MemoryResults:
        """The records of the jobs performed here: ``job.result()`` answers at once, as the
        job ran in ``perform_later``."""
        return self._results

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        # Never reached through the job layer (capabilities.delay is False): for direct callers.
        raise InvalidOptionError("the inline adapter runs jobs at once; use async, redis or sql")

    def recurring(self) -> MemoryRecurring:
        """Tick marks kept in this process: schedulers in it claim each tick once."""
        return memory_recurring(self)


@hookimpl
def register_adapters(register: Any) -> None:
    register("inline", InlineAdapter)
