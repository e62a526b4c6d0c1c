"""`JobframeBackend`: Django's task framework (``django.tasks``, DEP 14) on jobframe's backends.

```python
TASKS = {
    "default": {
        "BACKEND": "jobframe.contrib.django.tasks.JobframeBackend",
        "QUEUES": ["default", "emails"],
        "OPTIONS": {"ADAPTER": "redis", "ADAPTER_OPTIONS": {"url": "redis://127.0.0.1:6379/0"}},
    }
}
```

``@task`` functions are enqueued as `jobframe.contrib.django.task_job.TaskJob` jobs on the
adapter the options name (default: jobframe's configured adapter) and run in ``jobframe work``.
Their results, status and errors are jobframe's (see ``docs/django-tasks.md``).
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from collections.abc import Iterable
from typing import Any, ParamSpec, TypeVar, cast

from jobframe import arguments, queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.contrib.django import task_paths, task_results
from jobframe.contrib.django.task_job import AsyncTaskJob, TaskJob, job_class_for
from jobframe.contrib.django.tasks_api import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultStatus,
    task_enqueued,
)
from jobframe.errors import ConfigurationError, JobframeError, SerializationError
from jobframe.redact import mask_secrets

P = ParamSpec("P")
R = TypeVar("R")
#: the OPTIONS keys the backend reads
OPTIONS = frozenset({"ADAPTER", "ADAPTER_OPTIONS", "MODULES", "RESULT_TTL"})


class JobframeBackend(BaseTaskBackend):
    """A Django task backend whose tasks are jobframe jobs.

    OPTIONS: ``ADAPTER`` (a jobframe adapter name or instance; default the configured one),
    ``ADAPTER_OPTIONS`` (its options, e.g. ``url``, when ``ADAPTER`` is a name), ``MODULES``
    (module prefixes outside the installed apps where tasks may live), ``RESULT_TTL`` (seconds a
    result is kept; default jobframe's one day).

    Django priorities (-100..100, higher first) become jobframe priorities by sign
    (jobframe runs lower first); ``run_after`` becomes ``wait_until``.
    """

    supports_async_task = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        unknown = set(self.options) - OPTIONS
        if unknown:
            raise ConfigurationError(
                f"TASKS[{alias!r}]['OPTIONS'] has unknown key(s) {', '.join(sorted(unknown))}: "
                f"the jobframe backend reads {', '.join(sorted(OPTIONS))}."
            )
        spec = self.options.get("ADAPTER")
        if spec is not None and not isinstance(spec, str | QueueAdapter):
            raise ConfigurationError(
                f"TASKS[{alias!r}]['OPTIONS']['ADAPTER'] must be a jobframe adapter name or "
                f"instance, got {spec!r}."
            )
        self._spec: str | QueueAdapter | None = spec
        modules = self.options.get("MODULES", ())
        if isinstance(modules, str) or not all(isinstance(m, str) for m in modules):
            raise ConfigurationError(
                f"TASKS[{alias!r}]['OPTIONS']['MODULES'] must be a list of module names."
            )
        self._modules = list(modules)
        self._result_ttl = self.options.get("RESULT_TTL")

    # -- what this backend supports follows its adapter's declared capabilities -------------

    @property
    def supports_defer(self) -> bool:  # type: ignore[override]
        return self._capabilities().delay

    @property
    def supports_priority(self) -> bool:  # type: ignore[override]
        return self._capabilities().priority

    @property
    def supports_get_result(self) -> bool:  # type: ignore[override]
        return self._capabilities().results

    def _capabilities(self) -> Capabilities:
        # Django reads these flags when a module's @task functions are defined: an adapter that
        # cannot be built yet must not break that import (enqueue raises the real error).
        try:
            return self.adapter().capabilities
        except JobframeError:
            return Capabilities(results=True)

    def adapter(self) -> QueueAdapter:
        """The jobframe adapter tasks go to: the instance or name ``OPTIONS['ADAPTER']`` gives
        (built once with ``ADAPTER_OPTIONS`` when there are some), else jobframe's configured
        adapter, looked up each time so configuration changes apply."""
        spec = self._spec
        if isinstance(spec, str) and self.options.get("ADAPTER_OPTIONS"):
            spec = _built(spec, self.options["ADAPTER_OPTIONS"])
        return queue_adapters.get(spec)  # a test's queue_adapters.override() wins, as for jobs

    def task_modules(self) -> list[str]:
        """Module prefixes a task may be found under: the installed apps and ``MODULES``."""
        return task_paths.allowed_modules(self._modules)

    # -- enqueue --------------------------------------------------------------------------------

    def enqueue(
        self, task: Task[P, R], args: Iterable[Any], kwargs: dict[str, Any]
    ) -> TaskResult[P, R]:
        """Enqueue ``task`` as a jobframe job and return its READY result.

        Raises:
            InvalidTask: the task is invalid for this backend (Django's checks), or a worker
                could not find it by its path.
            TypeError: the arguments do not fit the task function's signature.
            SerializationError: an argument cannot be serialized (a `TypeError` too).
            EnqueueError: the adapter could not take the job.
        """
        self.validate_task(task)
        task_paths.check_importable(task, self.task_modules())
        args, kwargs = list(args), dict(kwargs)
        _bind(task, args, kwargs)
        try:
            arguments.serialize(args, kwargs)
        except SerializationError as exc:
            raise SerializationError(f"task {task.module_path}: {exc}") from exc
        job = self._job(task, args, kwargs)
        job.enqueue(**self._job_options(task))
        result = task_results.make(
            task,
            task_results.result_id(job.job_id, job.provider_job_id),
            TaskResultStatus.READY,
            args=args,
            kwargs=kwargs,
            enqueued_at=job.enqueued_at,
        )
        job._task_result = result  # held for a commit: its id is completed then
        task_enqueued.send(sender=type(self), task_result=result)
        if job.adapter().capabilities.performs_in_caller and self.supports_get_result:
            result = self.get_result(result.id)  # inline: it has run already
        return cast("TaskResult[P, R]", result)

    def _job(self, task: Task[..., Any], args: list[Any], kwargs: dict[str, Any]) -> TaskJob:
        options = {
            "backend": self.alias,
            "queue_name": task.queue_name,
            "priority": task.priority,
            "run_after": task.run_after,
        }
        job = job_class_for(task)(task.module_path, options, args, kwargs)
        job._task_adapter = self.adapter()
        return job

    def _job_options(self, task: Task[..., Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"queue": task.queue_name}
        if self.supports_priority:
            # Always given, 0 too: an adapter may run jobs without a priority after all others
            # (the async one does), where Django's default priority is the middle of the range.
            options["priority"] = -task.priority
        if task.run_after is not None:
            options["wait_until"] = task.run_after
        if self._result_ttl is not None:
            options["result_ttl"] = self._result_ttl
        return options

    # -- results ----------------------------------------------------------------------------

    def get_result(self, result_id: str) -> TaskResult[..., Any]:
        """The result of a task by its id, from any process (`task_results.fetch`).

        Raises:
            TaskResultDoesNotExist: no task has this id, or its record expired.
            NotImplementedError: the adapter keeps no results.
        """
        return task_results.fetch(self, result_id)

    def check(self, **kwargs: Any) -> list[Any]:
        """Django system checks: the adapter must exist, and keep results (warning)."""
        from django.core import checks

        try:
            adapter = self.adapter()
        except JobframeError as exc:
            return [checks.Error(str(exc), obj=self.alias, id="jobframe.E101")]
        if not adapter.capabilities.results:
            return [
                checks.Warning(
                    f"the jobframe adapter {adapter.name!r} keeps no results: get_result() and "
                    "TaskResult.refresh() of this backend raise NotImplementedError.",
                    hint="Use the redis, sql or async adapter.",
                    obj=self.alias,
                    id="jobframe.W101",
                )
            ]
        return []


_built_lock = threading.Lock()
#: adapters built from OPTIONS, by name and options: Django makes a backend per thread, and
#: each must not open connections of its own
_built_adapters: dict[tuple[str, str], QueueAdapter] = {}


def _built(name: str, options: dict[str, Any]) -> QueueAdapter:
    """The adapter ``name`` with ``options``, built once per process."""
    key = (name, json.dumps(options, sort_keys=True, default=repr))
    with _built_lock:
        adapter = _built_adapters.get(key)
        if adapter is None:
            adapter = _built_adapters[key] = _lookup(name, options)
    return adapter


def _lookup(name: str, options: dict[str, Any]) -> QueueAdapter:
    """A new adapter; its error says where its options come from, with no password in it."""
    try:
        return queue_adapters.lookup(name, **options)
    except Exception as exc:
        url = options.get("url")
        text = mask_secrets(f"{type(exc).__name__}: {exc}", url if isinstance(url, str) else None)
        error = ConfigurationError(
            f"the {name!r} adapter of a jobframe task backend could not be built from "
            f"TASKS[...]['OPTIONS']['ADAPTER_OPTIONS']: {text}"
        )
    raise error  # outside the handler: the driver's message is not chained in


@functools.lru_cache(maxsize=1024)
def _signature(func: Any) -> inspect.Signature:
    return inspect.signature(func)


def _bind(task: Task[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Fail in the caller, as a direct call would, when arguments don't fit the function."""
    extra = [None] if task.takes_context else []
    try:
        _signature(task.func).bind(*extra, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"task {task.module_path}: {exc}") from None


__all__ = ["AsyncTaskJob", "InvalidTask", "JobframeBackend", "TaskJob"]
