"""Jobs the results part of the conformance suite (`jobframe.testing.conformance.results`)
enqueues; its worker processes import this module (``workers.start(imports=[RESULTS_JOBS])``)."""

from __future__ import annotations

import os
import time
from typing import Any

from jobframe.job.base import Job
from jobframe.job.exceptions import discard_on, retry_on
from jobframe.testing.conformance_jobs import record

RESULTS_JOBS = "jobframe.testing.results_jobs"


class ValueJob(Job):
    """Returns ``value`` after ``sleep`` seconds; journals when it returned (``returned_at``),
    so the suite measures how soon a waiter wakes after it."""

    job_name = "jobframe.results.ValueJob"
    store_result = True

    def perform(self, journal: str, value: Any, sleep: float = 0.0) -> Any:
        if sleep:
            time.sleep(sleep)
        record(journal, tag="value", job_id=self.job_id, returned_at=time.time())
        return value


class UnstoredJob(Job):
    """Returns a value it does not store."""

    job_name = "jobframe.results.UnstoredJob"

    def perform(self) -> int:
        return 42


class FailingJob(Job):
    """Raises, with no retry: ``failed``."""

    job_name = "jobframe.results.FailingJob"
    store_result = True

    def perform(self) -> None:
        raise RuntimeError("the results job fails on purpose")


class Dropped(Exception):
    """`DroppedJob` raises it; ``discard_on`` takes it."""


@discard_on(Dropped)
class DroppedJob(Job):
    """Raises what ``discard_on`` takes: ``discarded``."""

    job_name = "jobframe.results.DroppedJob"
    store_result = True

    def perform(self) -> None:
        raise Dropped("dropped on purpose")


class Later(Exception):
    """`RetriedJob` raises it; ``retry_on`` takes it, with a retry an hour later."""


@retry_on(Later, wait=3600, attempts=2, jitter=0)
class RetriedJob(Job):
    """Fails its first attempt; its retry waits an hour: ``retrying`` meanwhile."""

    job_name = "jobframe.results.RetriedJob"
    store_result = True

    def perform(self) -> None:
        raise Later("retried on purpose")


class UnstorableJob(Job):
    """Returns a value no serializer takes: the job fails."""

    job_name = "jobframe.results.UnstorableJob"
    store_result = True

    def perform(self) -> Any:
        return object()


class ProgressJob(Job):
    """Reports 0.5, waits (up to 30 s) for the file ``gate`` to exist, reports 0.9, returns."""

    job_name = "jobframe.results.ProgressJob"
    store_result = True

    def perform(self, journal: str, gate: str) -> str:
        self.progress(0.5, "half way")
        record(journal, tag="progress", job_id=self.job_id)
        deadline = time.monotonic() + 30
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)  # another process opens the gate: a file is what both see
        self.progress(0.9, "almost")
        return "through"


__all__ = [
    "RESULTS_JOBS",
    "DroppedJob",
    "FailingJob",
    "ProgressJob",
    "RetriedJob",
    "UnstorableJob",
    "UnstoredJob",
    "ValueJob",
]
