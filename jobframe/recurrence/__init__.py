"""Recurring tasks: cron schedules that enqueue a job once per tick, however many schedulers run.

- `recurring` (``@jobframe.recurring(...)``) declares a task on a job class;
  ``[tool.jobframe.recurring.NAME]`` declares one in configuration.
- `tasks` lists them, checked; `Scheduler` enqueues their ticks through the backend's
  `jobframe.backend.RecurringStore`; `run_now` enqueues one out of schedule.
- `Schedule` reads cron expressions (with cronsim), macros and ``every N minutes``.
"""

from jobframe.recurrence.overview import TaskStatus, overview
from jobframe.recurrence.registry import forget, recurring, tasks
from jobframe.recurrence.schedule import Schedule, ScheduleError
from jobframe.recurrence.scheduler import Scheduler, run_now, scheduling_adapter, store_of
from jobframe.recurrence.task import RecurringTask

__all__ = [
    "RecurringTask",
    "Schedule",
    "ScheduleError",
    "Scheduler",
    "TaskStatus",
    "forget",
    "overview",
    "recurring",
    "run_now",
    "scheduling_adapter",
    "store_of",
    "tasks",
]
