"""The inline adapter: ``perform_later`` performs the job at once, in the caller's thread.

For development and scripts. Errors surface in the caller. Jobs cannot be scheduled for later;
retries asked for by ``retry_on`` run immediately instead of after their delay.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.errors import InvalidOptionError
from jobframe.hookspecs import hookimpl
from jobframe.recurrence.memory import MemoryRecurring, memory_recurring

if TYPE_CHECKING:
    from jobframe.job.base import Job


class InlineAdapter(QueueAdapter):
    name = "inline"
    capabilities = Capabilities(
        delay=False, priority=False, performs_in_caller=True, recurring=True
    )

    def enqueue(self, job: Job) -> None:
        job.execute(job.serialize())

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        # Never reached through the job layer (capabilities.delay is False): for direct callers.
        raise InvalidOptionError("the inline adapter runs jobs at once; use async, redis or sql")

    def recurring(self) -> MemoryRecurring:
        """Tick marks kept in this process: schedulers in it claim each tick once."""
        return memory_recurring(self)


@hookimpl
def register_adapters(register: Any) -> None:
    register("inline", InlineAdapter)
