"""What ``jobframe work`` and ``jobframe scheduler`` check about the recurring tasks at start.

A bad task (schedule, time zone, job, arguments) raises its `ConfigurationError` when the tasks
are loaded; `check_tasks` adds what only the adapter can tell: a ``priority`` it cannot honour.
An adapter that cannot run recurring tasks at all is not an error for a worker (it still works
jobs, and says once that the tasks will not run) but is for ``jobframe scheduler``, which has
nothing else to do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobframe.backend.capabilities import unsupported
from jobframe.errors import ConfigurationError
from jobframe.recurrence.registry import tasks
from jobframe.recurrence.scheduler import Scheduler

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.recurrence.task import RecurringTask

logger = logging.getLogger("jobframe.recurring")


def check_tasks(adapter: QueueAdapter) -> list[RecurringTask]:
    """Every recurring task, checked against ``adapter``.

    Raises:
        ConfigurationError: a task that cannot run (from loading it), or one with a
            ``priority`` on an adapter that does not order jobs by priority; each names the task.
    """
    found = tasks()
    if type(adapter).capabilities.priority:
        return found
    for task in found:
        if task.priority is not None:
            where = f"recurring task {task.name!r}" + (f" ({task.source})" if task.source else "")
            refusal = unsupported(adapter, "priority")
            raise ConfigurationError(f"{where} sets priority = {task.priority}, but {refusal}")
    return found


def unsupported_message(adapter: QueueAdapter, found: Sequence[RecurringTask]) -> str:
    """Why ``found`` will not run on ``adapter`` (which lacks ``Capabilities.recurring``), and
    the fix."""
    names = ", ".join(task.name for task in found)
    refusal = unsupported(adapter, "recurring")
    return f"{len(found)} recurring task(s) will not run ({names}): {refusal}"


def worker_scheduler(adapter: QueueAdapter) -> Scheduler | None:
    """The scheduler a worker runs beside its job threads: None when there are no tasks, or
    when ``adapter`` cannot run them (then one WARNING says so and names the tasks).

    Raises:
        ConfigurationError: a task that cannot run (see `check_tasks`).
    """
    found = check_tasks(adapter)
    if not found:
        return None
    if not type(adapter).capabilities.recurring:
        logger.warning(
            "%s The worker goes on working jobs; `jobframe work --no-recurring` says the tasks "
            "are not meant to run here.",
            unsupported_message(adapter, found),
        )
        return None
    return Scheduler(adapter, found)


__all__ = ["check_tasks", "unsupported_message", "worker_scheduler"]
