"""Django `TaskResult` s made from what jobframe keeps about a job (DESIGN.md 6.4).

A task's result id is ``<job_id>.<provider id>``: the ``job_id`` finds the job's status and
record (`jobframe.job_status`, from any process), and the provider id finds its stored payload
while it waits or runs (`jobframe.backend.Inspector.job`), before any record exists. A finished
task's record carries its path and arguments (``TaskJob._record_fields``), so its result is read
in one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobframe import arguments
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.payload import load_payload
from jobframe.backend.results import JobState, JobStatus
from jobframe.contrib.django import task_paths
from jobframe.contrib.django.tasks_api import (
    Task,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
)
from jobframe.errors import DeserializationError, JobframeError, UnsupportedError
from jobframe.queue_adapters.test import TestAdapter
from jobframe.tracking import records
from jobframe.tracking.status import status_of, store_of

if TYPE_CHECKING:
    from jobframe.contrib.django.tasks import JobframeBackend

#: the Django status of each jobframe status (`jobframe.JobStatus`)
STATUSES: dict[JobStatus, TaskResultStatus] = {
    "scheduled": TaskResultStatus.READY,
    "ready": TaskResultStatus.READY,
    "retrying": TaskResultStatus.READY,
    "running": TaskResultStatus.RUNNING,
    "succeeded": TaskResultStatus.SUCCESSFUL,
    "failed": TaskResultStatus.FAILED,
    "dead": TaskResultStatus.FAILED,
    "discarded": TaskResultStatus.FAILED,
    "cancelled": TaskResultStatus.FAILED,
}
#: the error class a record names when the job itself raised none (a poison pill, a cancel)
_NO_CLASS = {"cancelled": "jobframe.errors.Cancelled"}
#: an unknown worker in ``worker_ids`` (jobframe records the last attempt's worker only)
UNKNOWN_WORKER = "unknown"
#: the record key that holds a task's path and arguments
RECORD_KEY = "django_task"


def result_id(job_id: str, provider_job_id: str | None) -> str:
    """A task result's id: the job's ``job_id`` and, when it has one, its provider id."""
    return f"{job_id}.{provider_job_id}" if provider_job_id else job_id


def make(
    task: Task[..., Any],
    id: str,
    status: TaskResultStatus,
    *,
    args: Iterable[Any],
    kwargs: dict[str, Any],
    enqueued_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    errors: Iterable[TaskError] = (),
    worker_ids: Iterable[str] = (),
) -> TaskResult[..., Any]:
    """A `TaskResult` whose ``args`` and ``kwargs`` are the task's own values.

    Django's constructor reduces them to JSON and refuses other types; jobframe's serializers
    carry more (datetimes, tuples, models by GlobalID), so they are set after construction, as
    Django's own backends set a result's fields.
    """
    result: TaskResult[..., Any] = TaskResult(
        task=task,
        id=id,
        status=status,
        enqueued_at=enqueued_at,
        started_at=started_at,
        finished_at=finished_at,
        last_attempted_at=started_at,
        args=[],
        kwargs={},
        backend=task.backend,
        errors=list(errors),
        worker_ids=list(worker_ids),
    )
    object.__setattr__(result, "args", list(args))
    object.__setattr__(result, "kwargs", dict(kwargs))
    return result


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _errors(status: JobStatus, data: dict[str, Any]) -> list[TaskError]:
    """The record's error as Django's `TaskError` (a failed task has one; jobframe keeps the
    error of the last attempt)."""
    if STATUSES.get(status) != TaskResultStatus.FAILED:
        return []
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    assert isinstance(error, dict)
    path = error.get("class") or _NO_CLASS.get(status, "jobframe.errors.JobframeError")
    from jobframe.contrib.django.task_job import reported_error

    text = error.get("traceback") or error.get("message") or error.get("reason") or status
    path, text = reported_error(str(path), str(text))
    return [TaskError(exception_class_path=path, traceback=text)]


def _described(
    backend: JobframeBackend, job_id: str, provider_id: str, data: dict[str, Any]
) -> tuple[list[Any], dict[str, Any], dict[str, Any]] | None:
    """The task job's wire arguments and its payload's fields: from the record, else from the
    stored payload (a job that has not ended yet), else None."""
    described = data.get(RECORD_KEY)
    if isinstance(described, dict):
        return described.get("arguments", []), described.get("kwargs", {}), {}
    payload = _payload(backend.adapter(), job_id, provider_id)
    if not isinstance(payload, dict) or payload.get("job_class") not in _task_job_names():
        return None
    return payload.get("arguments", []), payload.get("kwargs", {}), payload


def _payload(adapter: QueueAdapter, job_id: str, provider_id: str) -> Any:
    """The stored payload of a job that has not ended, or None."""
    if isinstance(adapter, TestAdapter):  # it keeps what tests enqueued, with no inspector
        return next((e.payload for e in adapter.enqueued_jobs if e.job_id == job_id), None)
    inspector = adapter.inspector()
    info = inspector.job(provider_id) if inspector is not None and provider_id else None
    if info is None or info.job_id != job_id or info.raw is None:
        return None
    try:
        return load_payload(info.raw)
    except JobframeError:
        return None


def _task_job_names() -> set[str]:
    from jobframe.contrib.django.task_job import AsyncTaskJob, TaskJob

    return {TaskJob.job_class_name(), AsyncTaskJob.job_class_name()}


def fetch(backend: JobframeBackend, id: str) -> TaskResult[..., Any]:
    """The result of the task ``id`` (`result_id`), read from the backend's adapter.

    Raises:
        TaskResultDoesNotExist: no task has this id (or its record expired).
        NotImplementedError: the adapter keeps no status (``capabilities.results`` is false).
    """
    job_id, _, provider_id = str(id).partition(".")
    try:
        store = store_of(backend.adapter())
    except UnsupportedError as exc:
        raise NotImplementedError(
            f"This backend does not support retrieving or refreshing results: {exc}"
        ) from exc
    for _ in range(3):
        state = store.status(job_id)
        data = records.decode(state.record.data) if state.record is not None else {}
        status = status_of(state)
        if status == "unknown":
            raise TaskResultDoesNotExist(id)
        described = _described(backend, job_id, provider_id, data)
        if described is not None or state.state is None:
            break
        # It ended between the two reads (its payload is gone): its record is there now.
    if described is None:
        raise TaskResultDoesNotExist(id)
    wire_args, _, payload = described
    task, args, kwargs = _task_and_arguments(backend, id, wire_args)
    times = _times_and_workers(state, data, payload)
    result = make(
        task, id, STATUSES[status], args=args, kwargs=kwargs, errors=_errors(status, data), **times
    )
    if status == "succeeded" and data.get("has_result"):
        object.__setattr__(result, "_return_value", records.result_of(data))
    return result


def _task_and_arguments(
    backend: JobframeBackend, id: str, wire_args: list[Any]
) -> tuple[Task[..., Any], Any, Any]:
    """The task (with the options it was enqueued with) and its arguments, from the task
    job's wire arguments ``[path, options, args, kwargs]``."""
    try:
        path, options, wire_task_args, wire_task_kwargs = wire_args
        path = arguments.deserialize_value(path)
        options = arguments.deserialize_value(options)
    except (DeserializationError, ValueError, TypeError) as exc:
        raise TaskResultDoesNotExist(f"{id}: it is not a task's ({exc})") from exc
    try:
        args = arguments.deserialize_value(wire_task_args)
        kwargs = arguments.deserialize_value(wire_task_kwargs)
    except DeserializationError:
        # e.g. a model passed by GlobalID whose row is gone: the result still exists, with
        # its arguments as they were stored
        args, kwargs = wire_task_args, wire_task_kwargs
    task = task_paths.resolve(path, backend.task_modules()).using(
        priority=options.get("priority"),
        queue_name=options.get("queue_name"),
        run_after=options.get("run_after"),
        backend=options.get("backend"),
    )
    return task, args, kwargs


def _times_and_workers(
    state: JobState, data: dict[str, Any], payload: dict[str, Any]
) -> dict[str, Any]:
    """``enqueued_at``, ``started_at``, ``finished_at`` and ``worker_ids`` from the job's last
    record, its running attempt's progress, or its stored payload (before any record)."""
    running = state.state == "running"
    live = state.state is not None and state.state != "dead"
    attempts = data.get("attempts") if not live else None
    if attempts is None:  # it waits or runs: the payload counts the runs that ended
        attempts = int(payload.get("executions") or data.get("attempts") or 0) + running
    worker = (data.get(RECORD_KEY) or {}).get("worker") or UNKNOWN_WORKER
    started = records.decode(state.progress).get("started_at") if running else None
    return {
        "enqueued_at": _moment(data.get("enqueued_at")) or _iso(payload.get("enqueued_at")),
        "started_at": _moment(started if running else data.get("started_at")),
        "finished_at": None if live else _moment(data.get("finished_at")),
        "worker_ids": [UNKNOWN_WORKER] * max(attempts - 1, 0) + [worker] * (attempts > 0),
    }


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["RECORD_KEY", "STATUSES", "UNKNOWN_WORKER", "fetch", "make", "result_id"]
