"""`RecurringTask`: one named schedule that enqueues one job class with fixed arguments."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from jobframe import arguments
from jobframe.errors import ConfigurationError, JobframeError
from jobframe.job.configured import apply_options, validate_options
from jobframe.recurrence.schedule import Schedule, ScheduleError

if TYPE_CHECKING:
    from jobframe.job.base import Job

CatchUp = Literal["last", "none"]
CATCH_UP: tuple[CatchUp, ...] = ("last", "none")
#: 1-128 characters: letters, digits and ``_ - . :``, as a queue name (it is stored as a key)
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
#: the keys a task may have in ``[tool.jobframe.recurring.NAME]``
KEYS = ("job", "schedule", "args", "kwargs", "queue", "priority", "timezone", "catch_up")


@dataclass(frozen=True)
class RecurringTask:
    """A validated recurring task. Build one with `jobframe.recurring` or in configuration;
    `RecurringTask.build` checks everything a scheduler will need, so a bad task fails at
    start-up, not at its first tick."""

    name: str
    job_class: type[Job]
    schedule: Schedule
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    priority: int | None = None
    catch_up: CatchUp = "last"
    #: where the task was declared, for messages ("@jobframe.recurring on app.jobs.Cleanup")
    source: str = ""

    @classmethod
    def build(
        cls,
        name: str,
        job_class: type[Job],
        schedule: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        queue: str | None = None,
        priority: int | None = None,
        timezone: str = "UTC",
        catch_up: str = "last",
        source: str = "",
    ) -> RecurringTask:
        """A task, checked: its name, schedule, time zone, options, and that its arguments fit
        ``perform`` and serialize.

        Raises:
            ConfigurationError: what is wrong, naming the task and where it was declared.
        """
        where = f"recurring task {name!r}" + (f" ({source})" if source else "")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigurationError(
                f"{where}: a task name must be 1-128 ASCII letters, digits and _ - . :"
            )
        if catch_up not in CATCH_UP:
            raise ConfigurationError(
                f"{where}: catch_up must be 'last' (enqueue the latest missed tick once) or "
                f"'none' (skip missed ticks), got {catch_up!r}"
            )
        if not isinstance(args, list | tuple) or not isinstance(kwargs or {}, Mapping):
            raise ConfigurationError(f"{where}: args must be a list and kwargs a table")
        try:
            parsed = Schedule(schedule, timezone)
            validate_options({"queue": queue, "priority": priority})
            job_class(*args, **dict(kwargs or {}))  # the arguments fit `perform`
            arguments.serialize(tuple(args), dict(kwargs or {}))
        except (ScheduleError, JobframeError, TypeError) as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
        return cls(
            name=name,
            job_class=job_class,
            schedule=parsed,
            args=tuple(args),
            kwargs=dict(kwargs or {}),
            queue=queue,
            priority=priority,
            catch_up=catch_up,
            source=source,
        )

    @property
    def timezone(self) -> str:
        return self.schedule.timezone

    def job(self, tick: datetime | None) -> Job:
        """A new job for ``tick`` (None: a run out of schedule), carrying the task's name."""
        job = self.job_class(*self.args, **dict(self.kwargs))
        apply_options(job, validate_options({"queue": self.queue, "priority": self.priority}))
        job.recurring_task = self.name
        job.scheduled_at = tick
        return job


def import_job(path: object, where: str) -> type[Job]:
    """The job class named ``module:Class`` (trusted configuration, imported at start-up).

    Raises:
        ConfigurationError: not that form, not importable, or not a job class.
    """
    from jobframe.job.base import Job

    if not isinstance(path, str) or path.count(":") != 1:
        raise ConfigurationError(
            f"{where}: job must be 'module:Class' (e.g. 'app.jobs:CleanupJob'), got {path!r}"
        )
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"{where}: cannot import {module_name!r}: {exc}") from None
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
    if not (isinstance(target, type) and issubclass(target, Job)):
        raise ConfigurationError(f"{where}: {path!r} is not a job class")
    return target


__all__ = ["CATCH_UP", "KEYS", "CatchUp", "RecurringTask", "import_job"]
