"""The recurring tasks of an application: those declared with `recurring` on job classes, and
those of the configuration (``[tool.jobframe.recurring.NAME]``, per environment too), which win
over a declared task of the same name (an environment can change a schedule without code)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from jobframe import config
from jobframe.errors import ConfigurationError
from jobframe.recurrence.task import KEYS, RecurringTask, import_job

if TYPE_CHECKING:
    from jobframe.job.base import Job

J = TypeVar("J", bound="type[Job]")

_lock = threading.Lock()
_declared: dict[str, RecurringTask] = {}


def recurring(
    schedule: str,
    *,
    name: str | None = None,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: int | None = None,
    timezone: str = "UTC",
    catch_up: str = "last",
) -> Callable[[J], J]:
    """Run a job class on a schedule: ``@jobframe.recurring("0 3 * * *", args=(30,))``.

    Stack it for several schedules of one class (give each its own ``name``). The default name
    is the job's registered name. Checked when the class is decorated.

    Raises:
        ConfigurationError: a bad schedule, time zone, option or argument (naming the task), or
            a name another class already uses.
    """

    def decorate(job_class: J) -> J:
        task_name = name or job_class.job_class_name()
        task = RecurringTask.build(
            task_name, job_class, schedule, args, kwargs, queue, priority, timezone, catch_up,
            source=f"@jobframe.recurring on {job_class.__module__}.{job_class.__qualname__}",
        )  # fmt: skip
        with _lock:
            other = _declared.get(task_name)
            if other is not None and other.job_class is not job_class:
                raise ConfigurationError(
                    f"recurring task {task_name!r} ({task.source}) is already declared by "
                    f"{other.source}: give one of them another name="
                )
            _declared[task_name] = task
        return job_class

    return decorate


def from_settings(settings: config.Settings | None = None) -> dict[str, RecurringTask]:
    """The tasks of the configuration, each imported and checked.

    Raises:
        ConfigurationError: a task that cannot run, named with the file it came from.
    """
    settings = settings or config.settings()
    tasks: dict[str, RecurringTask] = {}
    for name, table in settings.recurring.items():
        source = settings.source_of(f"recurring.{name}")
        where = f"recurring task {name!r} ({source})"
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{where} must be a table with job and schedule")
        unknown = sorted(set(table) - set(KEYS))
        if unknown:
            raise ConfigurationError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}"
            )
        if "schedule" not in table or "job" not in table:
            raise ConfigurationError(f"{where} needs job = 'module:Class' and schedule = '...'")
        tasks[name] = RecurringTask.build(
            name,
            import_job(table["job"], where),
            table["schedule"],
            table.get("args", ()),
            table.get("kwargs"),
            table.get("queue"),
            table.get("priority"),
            table.get("timezone", "UTC"),
            table.get("catch_up", "last"),
            source=source,
        )
    return tasks


def tasks(settings: config.Settings | None = None) -> list[RecurringTask]:
    """Every recurring task, by name: the declared ones, then the configuration's over them."""
    with _lock:
        found = dict(_declared)
    found.update(from_settings(settings))
    return [found[name] for name in sorted(found)]


def forget(name: str | None = None) -> None:
    """Drop a declared task (every one when ``name`` is None): for tests that declare some."""
    with _lock:
        if name is None:
            _declared.clear()
        else:
            _declared.pop(name, None)


__all__ = ["forget", "from_settings", "recurring", "tasks"]
