"""`RecurringStore`: how a backend claims a recurring task's tick and enqueues its job in one step.

However many schedulers run (every ``jobframe work`` runs one), on however many hosts, each tick
of a task is enqueued once: the scheduler that gets there first claims it, the others are refused
and write nothing. A backend keeps, per task, the latest tick claimed (a high-water mark), so a
claim is "if ``tick`` is later than the task's mark, move the mark to ``tick`` and enqueue the job,
in one atomic step" (a Lua script on Redis; one transaction on a row whose key is the task's name
on SQL; a lock in process). The mark also makes catching up safe: a scheduler only ever claims the
latest due tick, and a tick older than one already claimed can never be claimed, so missed ticks
never come back as a burst.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobframe.job.base import Job


@dataclass(frozen=True)
class RecurringRun:
    """The latest tick a scheduler claimed for one task, and the job it enqueued for it."""

    #: the task's name
    task: str
    #: the tick's instant (UTC, whole seconds); equals the job's ``scheduled_at``
    tick: datetime
    #: the enqueued job's ``job_id``
    job_id: str
    #: when the job was enqueued (UTC)
    enqueued_at: datetime
    #: the backend's id of the job (``job.provider_job_id``), which `Inspector.job` takes; None
    #: when the backend has none
    provider_id: str | None = None


class RecurringStore(abc.ABC):
    """The recurring part of a backend, given by `QueueAdapter.recurring` when its
    ``capabilities.recurring`` is True.

    Both methods are safe to call from several threads and processes at once.
    """

    @abc.abstractmethod
    def claim(self, task: str, tick: datetime, job: Job) -> bool:
        """Claim ``tick`` of ``task`` and enqueue ``job`` for it, as one atomic step.

        ``tick`` is a timezone-aware UTC datetime in whole seconds, equal to ``job.scheduled_at``;
        ``job`` is frozen (``job.serialize()`` is its payload, ``recurring_task`` set). When
        ``tick`` is later than every tick claimed for ``task`` so far, the backend stores
        ``job`` as *ready* on its queue (not scheduled: its tick is due), sets
        ``job.provider_job_id`` if it has its own ids, records ``tick`` with the job's
        ``job_id``, ``provider_job_id`` and ``enqueued_at`` (see `last_runs`), and returns True.
        Otherwise it writes nothing and returns False. With ``capabilities.unique``, a job
        whose unique lock is held by another job (`jobframe.backend.flow`) is refused as
        `QueueAdapter.enqueue` refuses it, raising `jobframe.DuplicateJobError` having written
        nothing (the scheduler then skips that tick); else the lock is taken in the same step.

        Raises:
            Exception: a backend fault. The step is atomic, so either nothing was written
                (a later claim of the same tick can still succeed) or all of it was and only
                the answer was lost (a later claim of that tick is refused): the tick is
                enqueued once either way.
        """

    @abc.abstractmethod
    def last_runs(self) -> dict[str, RecurringRun]:
        """The latest claimed tick of every task that has one, by task name."""


__all__ = ["RecurringRun", "RecurringStore"]
