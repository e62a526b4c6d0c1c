"""What ``jobframe recurring list`` and the dashboard's Recurring page show of each task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from jobframe.recurrence.scheduler import store_of

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.recurring import RecurringRun
    from jobframe.recurrence.task import RecurringTask

#: `TaskStatus.last_state` of a last run's job the inspector no longer holds: it ran and
#: finished (backends keep finished jobs only as counts), or was discarded.
GONE = "finished"


@dataclass(frozen=True)
class TaskStatus:
    """One task with its next tick and its last claimed tick."""

    task: RecurringTask
    #: the next tick after now (UTC)
    next_run: datetime
    #: the latest tick claimed by any scheduler, or None if none was yet
    last_run: RecurringRun | None
    #: the state of that tick's job as the backend's inspector sees it (``ready``,
    #: ``scheduled``, ``running``, ``dead``), `GONE` when it holds the job no more, None when
    #: there is no last run or no inspector to ask
    last_state: str | None


def overview(
    adapter: QueueAdapter, tasks: Sequence[RecurringTask], now: datetime | None = None
) -> list[TaskStatus]:
    """The status of each of ``tasks`` on ``adapter``, in the order given.

    Raises:
        UnsupportedError: the adapter cannot run recurring tasks.
    """
    now = now or datetime.now(UTC)
    runs = store_of(adapter).last_runs()
    inspector = adapter.inspector()
    found = []
    for task in tasks:
        run = runs.get(task.name)
        state: str | None = None
        if run is not None and inspector is not None:
            info = inspector.job(run.provider_id or run.job_id)
            state = info.state if info is not None else GONE
        found.append(TaskStatus(task, task.schedule.next_after(now), run, state))
    return found


__all__ = ["GONE", "TaskStatus", "overview"]
