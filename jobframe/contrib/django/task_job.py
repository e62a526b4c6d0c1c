"""The jobframe jobs that carry Django tasks: `TaskJob` (and `AsyncTaskJob` for ``async def``
tasks) perform one task in ``jobframe work`` like any other job.

Their arguments are the task's path, its options (backend alias, queue name, priority,
``run_after``) and the task's own arguments, all through jobframe's serializers. Each run
finds the task by its path (`jobframe.contrib.django.task_paths`: installed apps only), builds
its `TaskContext`, sends Django's ``task_started`` and ``task_finished`` signals, and returns
the task's value as the job's stored result.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from jobframe import arguments, queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.contrib.django import task_paths, task_results
from jobframe.contrib.django.tasks_api import (
    InvalidTask,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultStatus,
    task_backends,
    task_finished,
    task_started,
)
from jobframe.errors import ConfigurationError, SerializationError
from jobframe.job.base import Job
from jobframe.job.callbacks import after_enqueue
from jobframe.job.core import hybridmethod
from jobframe.registry import name_of

#: this process in a result's ``worker_ids``
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class TaskExited(Exception):
    """A task raised `SystemExit` (``sys.exit()``): in a worker that must not end the worker
    thread, so the task fails with this error, recorded as ``builtins.SystemExit``."""


#: where Python's text of a chained exception starts the exception raised from it
_CAUSE = "\n\nThe above exception was the direct cause of the following exception:\n"


def reported_error(path: str, text: str) -> tuple[str, str]:
    """The class path and traceback a task's error is reported with: a `TaskExited` is the
    `SystemExit` it stands for, with that exception's own traceback."""
    if path != name_of(TaskExited):
        return path, text
    return "builtins.SystemExit", text.split(_CAUSE, 1)[0] + "\n"


def ensure_django() -> None:
    """Set Django up in a worker started without it (plain ``jobframe work`` with
    ``DJANGO_SETTINGS_MODULE`` set); ``manage.py jobframe work`` has done it already.

    Raises:
        ConfigurationError: Django is not set up and no settings module is named.
    """
    from django.apps import apps

    if apps.ready:
        return
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise ConfigurationError(
            "a Django task reached a worker in which Django is not set up: start the worker "
            "with `manage.py jobframe work`, or set DJANGO_SETTINGS_MODULE for `jobframe work`."
        )
    import django

    django.setup()


class TaskRun:
    """One run of a task inside a `TaskJob`: its task, result-in-progress and signals."""

    def __init__(
        self, job: TaskJob, path: str, options: dict[str, Any], args: list[Any], kw: dict[str, Any]
    ) -> None:
        from jobframe.contrib.django.tasks import JobframeBackend

        ensure_django()
        alias = str(options.get("backend"))
        backend = task_backends[alias]
        if not isinstance(backend, JobframeBackend):
            raise InvalidTask(
                f"the task {path!r} was enqueued on the backend {alias!r}, which is "
                f"{type(backend).__name__} in this worker's TASKS setting, not "
                "jobframe.contrib.django.tasks.JobframeBackend: give workers the same settings."
            )
        # The job's progress and status writes go to this backend's adapter (in a worker the
        # job knows no adapter of its own: it was not enqueued here).
        job._task_adapter = backend.adapter()
        found = task_paths.resolve(path, backend.task_modules())
        self.task = found.using(
            priority=options.get("priority"),
            queue_name=options.get("queue_name"),
            run_after=options.get("run_after"),
            backend=alias,
        )
        self.args, self.kwargs = args, kw
        now = job.now()
        self.result = task_results.make(
            self.task,
            task_results.result_id(job.job_id, job.provider_job_id),
            TaskResultStatus.RUNNING,
            args=args,
            kwargs=kw,
            enqueued_at=job.enqueued_at,
            started_at=now,
            worker_ids=[task_results.UNKNOWN_WORKER] * (job.executions - 1) + [WORKER_ID],
        )
        job._mark_started()
        task_started.send(sender=type(backend), task_result=self.result)
        self.sender = type(backend)

    def call_args(self) -> list[Any]:
        if self.task.takes_context:
            return [TaskContext(task_result=self.result), *self.args]
        return list(self.args)

    def check_value(self, value: Any) -> None:
        """Refuse a return value jobframe cannot store (it would be lost otherwise).

        Raises:
            SerializationError: names the task, the type and the fix.
        """
        try:
            arguments.serialize_value(value, "the return value")
        except SerializationError as exc:
            raise SerializationError(
                f"the task {self.task.module_path} returned a {type(value).__qualname__}, "
                f"which cannot be stored as its result: {exc} Return JSON data or a value "
                "jobframe serializes (see its arguments docs)."
            ) from exc

    def succeeded(self, value: Any) -> None:
        self._end(TaskResultStatus.SUCCESSFUL)
        object.__setattr__(self.result, "_return_value", value)
        task_finished.send(sender=self.sender, task_result=self.result)

    def failed(self, exc: BaseException) -> None:
        """Record ``exc`` and send ``task_finished`` (call it inside the ``except`` block:
        Django's log receiver adds the traceback from there)."""
        import traceback

        self._end(TaskResultStatus.FAILED)
        path = f"{type(exc).__module__}.{type(exc).__qualname__}"
        text = "".join(traceback.format_exception(exc))
        self.result.errors.append(TaskError(exception_class_path=path, traceback=text))
        task_finished.send(sender=self.sender, task_result=self.result)

    def _end(self, status: TaskResultStatus) -> None:
        from django.utils import timezone

        object.__setattr__(self.result, "status", status)
        object.__setattr__(self.result, "finished_at", timezone.now())


def _class_adapter(cls: type[Job]) -> QueueAdapter:
    return queue_adapters.get(cls.queue_adapter)


def _job_adapter(job: TaskJob) -> QueueAdapter:
    return queue_adapters.get(job._task_adapter or type(job).queue_adapter)


class TaskJob(Job):
    """Performs one Django task (`jobframe.contrib.django.tasks.JobframeBackend` enqueues it)."""

    job_name = "jobframe.contrib.django.TaskJob"
    store_result = True
    #: the adapter its backend names (None: jobframe's configured adapter)
    _task_adapter: QueueAdapter | str | None = None
    #: the result ``enqueue`` returned, while the job may still be held for a commit
    _task_result: TaskResult[..., Any] | None = None

    # A task goes to the adapter its backend names, per job: one class serves every backend.
    adapter = hybridmethod(_class_adapter).instance(_job_adapter)

    def perform(
        self, path: str, options: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        from django.db import close_old_connections

        close_old_connections()  # as around a request: a task starts on a usable connection
        try:
            run = TaskRun(self, path, options, args, kwargs)
            try:
                value = run.task.func(*run.call_args(), **kwargs)
                run.check_value(value)
            except SystemExit as exc:
                run.failed(exc)
                raise TaskExited(str(exc)) from exc
            except Exception as exc:
                run.failed(exc)
                raise
            run.succeeded(value)
            return value
        finally:
            close_old_connections()

    @after_enqueue
    def _name_the_result(self) -> None:
        """A job held until its transaction commits (`jobframe.after_commit`) is stored only
        then: the result ``enqueue`` returned gets the provider id part of its id now."""
        if self._task_result is not None:
            full = task_results.result_id(self.job_id, self.provider_job_id)
            object.__setattr__(self._task_result, "id", full)

    def _mark_started(self) -> None:
        """Make the running attempt's start time readable from other processes (a result's
        ``started_at`` while it runs): the progress write carries it, with no progress."""
        if self._progress is not None:
            self._progress.steps(None)

    def _record_fields(self) -> dict[str, Any]:
        fields = super()._record_fields()
        wire = self._serialized_arguments
        if wire is None:
            wire = arguments.serialize(self.args, self.kwargs)
        fields[task_results.RECORD_KEY] = {
            "arguments": wire[0],
            "kwargs": wire[1],
            "worker": WORKER_ID,
        }
        return fields


class AsyncTaskJob(TaskJob):
    """`TaskJob` for ``async def`` tasks: performed on the worker's event loop."""

    job_name = "jobframe.contrib.django.AsyncTaskJob"

    async def perform(
        self, path: str, options: dict[str, Any], args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        run = TaskRun(self, path, options, args, kwargs)
        try:
            value = await run.task.func(*run.call_args(), **kwargs)
            run.check_value(value)
        except SystemExit as exc:
            run.failed(exc)
            raise TaskExited(str(exc)) from exc
        except Exception as exc:
            run.failed(exc)
            raise
        run.succeeded(value)
        return value


def job_class_for(task: Task[..., Any]) -> type[TaskJob]:
    """The job class that performs ``task``."""
    import inspect

    return AsyncTaskJob if inspect.iscoroutinefunction(task.func) else TaskJob


__all__ = [
    "WORKER_ID",
    "AsyncTaskJob",
    "TaskExited",
    "TaskJob",
    "TaskResult",
    "TaskRun",
    "ensure_django",
    "job_class_for",
    "reported_error",
]
