"""Jobs the per-class timing conformance tests enqueue (`jobframe.testing.conformance.timings`):
each sleeps a known time, so the backend's run-time buckets can be checked. Worker processes
import this module by name (``WorkerHarness.start(imports=[TIMING_JOBS])``).

Each run appends one JSON line to the journal named by its first argument (see
`jobframe.testing.conformance_jobs.record`) *before* it returns, so a test waits for the journal
and then for the backend to count the run.
"""

from __future__ import annotations

import os
import time

from jobframe.job.base import Job
from jobframe.testing.conformance_jobs import record

#: the module name a worker process imports to run these jobs
TIMING_JOBS = "jobframe.testing.timing_jobs"


class TimedFailure(Exception):
    """Raised by a timed job asked to fail (no ``retry_on``: the run fails for good)."""


class TimedJob(Job):
    """Sleeps ``ms`` milliseconds, journals its run, and raises `TimedFailure` if ``fail``."""

    job_name = "jobframe.conformance.TimedJob"

    def perform(self, journal: str, tag: str, ms: float, fail: bool = False) -> None:
        time.sleep(ms / 1000)
        record(journal, tag=tag, job_id=self.job_id, pid=os.getpid(), ms=ms)
        if fail:
            raise TimedFailure(f"timed job {tag} fails on purpose")


class OtherTimedJob(TimedJob):
    """`TimedJob` under another class name: per-class counts and the class filter."""

    job_name = "jobframe.conformance.OtherTimedJob"


__all__ = ["TIMING_JOBS", "OtherTimedJob", "TimedFailure", "TimedJob"]
