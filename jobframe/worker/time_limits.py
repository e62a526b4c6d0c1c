"""Time limits: a job runs at most its class's ``timeout`` (``flow.timeout``) or the worker's
``--job-timeout``, whichever is smaller, and then gets `jobframe.JobTimeout` inside it, so
``retry_on``, ``discard_on`` and ``rescue_from`` handle it like any error; a ``timeout`` event
is published.

An ``async def perform`` is cancelled at its deadline (`jobframe.job.execution.perform_deadline`).
A thread job gets the exception raised in its thread (`jobframe.worker.watchdog`); one that does
not stop within ``grace`` seconds (stuck in a C call) is abandoned: the worker process exits
without releasing it, its supervisor starts a new one, and the reaper gives the job back as a
crash (counted toward ``max_crashes``).

A job in a step of a continuation is first asked to stop at its next checkpoint
(`jobframe.worker.continuing`); its `jobframe.JobTimeout` comes ``grace`` seconds after its
deadline, if it still runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from jobframe import notifications
from jobframe.backend.worker import Claim, Outcome
from jobframe.job.execution import is_async, perform_deadline
from jobframe.worker.middleware import Middleware, WorkerContext
from jobframe.worker.watchdog import Watchdog

log = logging.getLogger("jobframe.worker")

#: seconds a thread job gets to stop after its `JobTimeout` before its process is recycled
DEFAULT_GRACE = 10.0


def time_limit(job: Any, job_timeout: float | None) -> float | None:
    """The seconds ``job`` may run: the smaller of its ``flow.timeout`` and ``job_timeout``."""
    flow = job.flow
    own: float | None = flow.timeout if flow is not None else None
    if own is None or job_timeout is None:
        return job_timeout if own is None else own
    return min(own, job_timeout)


class TimeLimits(Middleware):
    def __init__(self, job_timeout: float | None = None, grace: float = DEFAULT_GRACE) -> None:
        self.job_timeout = job_timeout
        self._watchdog = Watchdog(grace)
        self._worker: WorkerContext | None = None
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], tuple[Claim, Any, float]] = {}

    def bind(self, worker: WorkerContext) -> None:
        self._worker = worker

    def started(self, claim: Claim, job: Any) -> None:
        limit = time_limit(job, self.job_timeout)
        if limit is None:
            return
        key = (claim.id, claim.token)
        with self._lock:
            self._jobs[key] = (claim, job, limit)
        soft = lambda: bool(job.stops_at_checkpoints)  # noqa: E731
        if is_async(type(job).perform):
            # Called inside the job's own task: the deadline is that task's alone.
            perform_deadline.set((asyncio.get_running_loop().time() + limit, limit))
            self._watchdog.start(key, time.monotonic() + limit, None, soft)
        else:
            self._watchdog.start(key, time.monotonic() + limit, threading.get_ident(), soft)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        key = (claim.id, claim.token)
        if key not in self._jobs:
            # No time limit (`started` watched nothing), or found stuck by `tick`, which took
            # it from the watchdog and from here: nothing to forget, and no locks to take.
            return outcome
        self._watchdog.finish(key)
        with self._lock:
            self._jobs.pop(key, None)
        return outcome

    def tick(self, now: float) -> None:
        overdue, stuck = self._watchdog.check(now)
        for key in overdue:
            with self._lock:
                entry = self._jobs.get(key)
            if entry is not None:
                claim, job, limit = entry
                with notifications.instrument("timeout", job, limit=limit):
                    pass
        for key in stuck:
            with self._lock:
                entry = self._jobs.pop(key, None)
            if entry is not None and self._worker is not None:
                claim, job, limit = entry
                log.error(
                    "%s (Job ID: %s) did not stop within %.1fs of its time limit (%.1fs); "
                    "leaving this worker process so a new one replaces it; the job will be "
                    "taken back as a crash",
                    type(job).__qualname__, job.job_id, self._watchdog.grace, limit,
                )  # fmt: skip
                self._worker.abandon(claim)
