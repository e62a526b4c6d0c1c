"""The Recurring page: each recurring task with its schedule, next and last run, and "run now".

It reads the tasks of the process serving the dashboard (`jobframe.recurrence.tasks`: the
classes it imported and its configuration), and their last runs from the adapter's
`jobframe.backend.RecurringStore`. A backend without one still lists the tasks, saying that it
cannot run them; a task that cannot be built (a bad schedule in the configuration) is shown as
the error it is, not a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

from jobframe import recurrence
from jobframe.errors import ConfigurationError, UnsupportedError
from jobframe.recurrence import TaskStatus
from jobframe.recurrence.overview import GONE

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job


@dataclass(frozen=True)
class RecurringPage:
    """What the Recurring page shows."""

    rows: list[TaskStatus] = field(default_factory=list)
    #: the adapter cannot run recurring tasks: why (names the adapters that can)
    unsupported: str | None = None
    #: the tasks could not be listed: the `ConfigurationError`'s message, naming the task
    problem: str | None = None


def page(adapter: QueueAdapter, now: datetime | None = None) -> RecurringPage:
    """The tasks of this process with their status on ``adapter``; never raises for a bad task
    or a backend without recurring support (a backend outage does raise)."""
    now = now or datetime.now(UTC)
    try:
        tasks = recurrence.tasks()
    except ConfigurationError as exc:
        return RecurringPage(problem=str(exc))
    try:
        return RecurringPage(recurrence.overview(adapter, tasks, now))
    except UnsupportedError as exc:
        # The schedules still read; nothing was claimed, so there is no last run to show.
        rows = [TaskStatus(task, task.schedule.next_after(now), None, None) for task in tasks]
        return RecurringPage(rows, unsupported=str(exc))


def run(adapter: QueueAdapter, name: str) -> Job:
    """Enqueue the job of the task called ``name`` now, out of schedule, on ``adapter``.

    Raises:
        HTTPException: 404 no such task; 409 the tasks cannot be built (the message names the
            bad one); 501 the adapter cannot run recurring tasks (a run out of schedule would
            be the task's only one, so it is refused rather than look as if the task worked).
        EnqueueError: the backend failed; nothing was enqueued.
    """
    try:
        task = next((task for task in recurrence.tasks() if task.name == name), None)
    except ConfigurationError as exc:
        raise HTTPException(409, f"{exc}. Fix the task, then try again.") from exc
    if task is None:
        raise HTTPException(404, f"No recurring task named {name[:128]!r} in this process.")
    try:
        recurrence.store_of(adapter)
    except UnsupportedError as exc:
        raise HTTPException(501, str(exc)) from exc
    return recurrence.run_now(task)


__all__ = ["GONE", "RecurringPage", "page", "run"]
