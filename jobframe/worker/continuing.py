"""Continuations in the worker (`jobframe.job.continuation`): tell each job's checkpoints when
to stop, and re-enqueue a job stopped at one.

A job that entered a step is interrupted at its next checkpoint (`jobframe.errors.Interrupted`)
when the worker shuts down gracefully (SIGTERM: `WorkerContext.stopping`) or when the job
reached its time limit (its ``timeout`` or ``--job-timeout``; `jobframe.worker.time_limits`
then raises `jobframe.JobTimeout` only ``grace`` seconds later, if it is still running). Its
outcome becomes ``done``, with the job re-enqueued at once as a retry entry
(`jobframe.backend.worker.WorkerBackend.retry_entry`), so the backend settles the claim and
writes the re-enqueued job in one step: a crash in between neither loses it nor runs it twice.
The re-enqueued job keeps its ``job_id``, its finished steps and cursor; the interrupted run is
not counted in its ``executions`` and no record is written for it (its live state is enough).
An ``interrupt`` event is published.

A cancel (`jobframe.cancel`) also stops a continuation at a checkpoint, with
`jobframe.Cancelled`: it is settled ``cancelled`` (`jobframe.worker.cancelling`) and not
re-enqueued.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from jobframe import notifications
from jobframe.backend.worker import Outcome
from jobframe.job.continuation import Interruption
from jobframe.worker.execution import INTERRUPTED, handing_off
from jobframe.worker.middleware import Middleware, WorkerContext
from jobframe.worker.time_limits import DEFAULT_GRACE, time_limit

log = logging.getLogger("jobframe.worker")


def interrupted(outcome: Outcome) -> bool:
    """Whether ``outcome`` is a job stopped at a checkpoint (`jobframe.worker.execution`)."""
    return outcome.status == "failed" and (outcome.error or {}).get("reason") == INTERRUPTED


class Continuing(Middleware):
    """Parameters:
    job_timeout: ``--job-timeout`` (a class's ``timeout`` may be less): the deadline at which
        a job in a step is asked to stop at its next checkpoint.
    grace: what `jobframe.worker.time_limits.TimeLimits` waits past that deadline before its
        `jobframe.JobTimeout`; an ``async def perform``'s deadline moves as much.
    """

    def __init__(self, job_timeout: float | None = None, grace: float = DEFAULT_GRACE) -> None:
        self.job_timeout = job_timeout
        self.grace = grace
        self._worker: WorkerContext | None = None
        self._untimed = Interruption(grace=grace)  # shared by the jobs without a time limit

    def bind(self, worker: WorkerContext) -> None:
        self._worker = worker
        self._untimed = Interruption(worker.stopping, None, self.grace)

    def started(self, claim: Any, job: Any) -> None:
        limit = time_limit(job, self.job_timeout)
        if limit is None:
            job._interruption = self._untimed
        else:
            deadline = time.monotonic() + limit
            job._interruption = Interruption(self._untimed.stopping, deadline, self.grace)

    def finished(self, claim: Any, job: Any, outcome: Outcome) -> Outcome:
        if not interrupted(outcome):
            return outcome
        backend = self._worker.backend if self._worker is not None else None
        job.executions = max(0, job.executions - 1)  # the interrupted run is not an attempt
        job.scheduled_at = None  # at once
        try:
            with handing_off(backend) as retries:
                job._enqueue(retrying=True)
        except Exception:
            log.exception(
                "%s (Job ID: %s) was interrupted at a checkpoint but could not be re-enqueued; "
                "it stays failed (retry it from the dead set)",
                type(job).__qualname__, job.job_id,
            )  # fmt: skip
            return outcome
        if not job.successfully_enqueued:
            log.warning(
                "%s (Job ID: %s) was interrupted at a checkpoint and an enqueue callback "
                "aborted its re-enqueue: it will not resume",
                type(job).__qualname__, job.job_id,
            )  # fmt: skip
        job._resumes_later = True  # no record (`jobframe.worker.recording`)
        reason = (outcome.error or {}).get("message", "")
        with notifications.instrument("interrupt", job, message=reason, steps=job.continuation):
            pass
        # No record: the re-enqueued job's live state says where it is.
        return Outcome(
            claim, "done", None, job.executions, tuple(retries), (), outcome.runtime,
            outcome.job_class,
        )  # fmt: skip


__all__ = ["Continuing", "interrupted"]
