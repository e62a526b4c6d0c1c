"""Recording: each job a worker ends gets its `JobRecord` in `Outcome.records`, which the
backend writes in the same atomic step as the outcome (`WorkerBackend.complete`), so a crash
never leaves a job finished without its record.

Plugged in only for a backend that declares it writes them (``WorkerBackend.records``, exactly
when its adapter declares ``capabilities.results``). While a job performs, its
``self.progress()`` writes go to its adapter's `ResultStore` (`jobframe.tracking.progress`).

A job that stores its result whose value cannot be serialized ends ``failed`` (not retried: the
same code would return the same value), its error naming the type and the fix.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from jobframe.backend.results import JobRecord, ResultStore
from jobframe.backend.worker import Claim, Outcome, WorkerBackend, with_records
from jobframe.errors import SerializationError
from jobframe.job.results import UNSET
from jobframe.tracking import records
from jobframe.tracking.progress import Progress
from jobframe.worker.middleware import Middleware


def recording_middleware(backend: WorkerBackend) -> list[Middleware]:
    """`Recording` for a backend that writes records, else nothing."""
    return [Recording()] if backend.records else []


def _store_of(job: Any) -> ResultStore | None:
    adapter = job.adapter()
    return adapter.results() if adapter.capabilities.results else None


def track(job: Any) -> Progress:
    """Attach a `Progress` to ``job`` about to perform, writing to its adapter's store (looked
    up on the first write: of 20,000 no-op jobs, the lookup cost 7 us each).

    The progress reaches its job through a weak reference: with the job itself in its lookups'
    closures, every job was a reference cycle (job, progress, closures: 12 objects) that only
    the garbage collector could free (callgrind, a no-op job on Redis: 355,910 -> 344,911
    instructions per job after `gc.freeze`, as `jobframe work` runs; 372,000 -> 342,850
    without it)."""
    ref = weakref.ref(job)
    job._progress = Progress(lambda: _store_of(ref()), job.job_id, lambda: records.ttl_of(ref()))
    return job._progress  # type: ignore[no-any-return]


def error_of(exc: BaseException | None, reason: str) -> dict[str, Any] | None:
    """`jobframe.worker.execution.error_info` of ``exc``, or None."""
    if exc is None:
        return None
    from jobframe.worker.execution import error_info

    return error_info(exc, reason)


def record_for(job: Any, status: Any, error: dict[str, Any] | None) -> JobRecord:
    """The record of ``job``'s attempt that ended with outcome ``status`` (``done``, ...).

    Raises:
        SerializationError: the job stores its result and ``perform`` returned a value that
            cannot be serialized.
    """
    progress: Progress | None = job._progress
    kind = records.record_status(status, job)
    if error is None and kind in ("discarded", "retrying"):
        error = error_of(job._handled_error, "discard_on" if kind == "discarded" else "retry_on")
    result, has_result = None, False
    if kind == "succeeded" and job._stores_result():
        value = None if job._returned is UNSET else job._returned
        result, has_result = records.serialize_result(job, value), True
    return records.build(
        job.job_id,
        kind,
        job,
        error=error,
        started_at=progress.started_at if progress is not None else None,
        progress=progress.last if progress is not None else None,
        result=result,
        has_result=has_result,
    )


def unloadable_record(outcome: Outcome) -> JobRecord | None:
    """The ``dead`` record of a claim whose payload could not become a job, when its payload
    still names a ``job_id`` (else there is nothing to key a record by)."""
    try:
        data = json.loads(outcome.claim.payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    job_id, batch_id = data.get("job_id"), data.get("batch_id")
    if not isinstance(job_id, str) or not job_id:
        return None
    if records.history_ttl() <= 0 and not isinstance(batch_id, str):
        return None  # no history kept, and no batch waits for it
    extra = {"queue": outcome.claim.queue}
    if isinstance(data.get("job_class"), str):
        extra["job_class"] = data["job_class"]
    if isinstance(batch_id, str):
        extra["batch_id"] = batch_id  # counted dead in its batch
    return records.build(job_id, "dead", error=outcome.error, extra=extra)


class Recording(Middleware):
    """Adds each job's record to its outcome; tracks its progress while it performs."""

    def started(self, claim: Claim, job: Any) -> None:
        track(job)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        if job._skips_record() or not records.kept(job):
            return outcome
        try:
            record = record_for(job, outcome.status, outcome.error)
        except SerializationError as exc:
            error = error_of(exc, "result could not be serialized")
            outcome = Outcome(
                claim, "failed", error, outcome.attempts, (), (), outcome.runtime,
                outcome.job_class,
            )  # fmt: skip
            record = record_for(job, "failed", error)
        return with_records(outcome, record)

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        if job is None:
            record = unloadable_record(outcome)
        elif not records.kept(job):
            return outcome
        else:
            error = outcome.error
            if outcome.status == "expired":
                error = {"message": "expired before a worker took it", "reason": "expired"}
            record = record_for(job, outcome.status, error)
        if record is None:
            return outcome
        return with_records(outcome, record)


__all__ = ["Recording", "record_for", "recording_middleware", "track", "unloadable_record"]
