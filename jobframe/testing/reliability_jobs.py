"""Jobs for reliability tests of an adapter with real worker processes (see
`jobframe.testing.workers`). Worker subprocesses import this module by name
(``jobframe work jobframe.testing.reliability_jobs``); the tests import it too, to enqueue. The
Redis and SQL suites use it, and so can a third-party adapter's.

Each run appends a ``start`` line and, unless its process dies first, an ``end`` line to the
journal file given as the first argument: job_id, provider id (the stored job), pid, executions
and time. Wire names are fixed (``job_name``) so they do not depend on how the module was imported.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from jobframe.job.base import Job
from jobframe.job.exceptions import retry_on
from jobframe.testing.conformance_jobs import read, record

__all__ = ["ChaosJob", "Flaky", "KillerJob", "RecordJob", "SleepJob", "read", "record"]


def _line(job: Job, journal: str, event: str, **extra: Any) -> None:
    record(journal, event=event, job_id=job.job_id, pid=os.getpid(), executions=job.executions,
           provider_id=job.provider_job_id, t=time.time(), **extra)  # fmt: skip


class RecordJob(Job):
    """Records one ``end`` line and nothing else (cheap: for the bulk tests)."""

    job_name = "jobframe.reliability.RecordJob"

    def perform(self, journal: str, tag: str = "") -> None:
        _line(self, journal, "end", tag=tag)


class SleepJob(Job):
    """Sleeps ``seconds`` in small steps between a ``start`` and an ``end`` line."""

    job_name = "jobframe.reliability.SleepJob"

    def perform(self, journal: str, seconds: float, tag: str = "") -> None:
        _line(self, journal, "start", tag=tag)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        _line(self, journal, "end", tag=tag)


class KillerJob(Job):
    """A poison pill: SIGKILLs the worker process that runs it."""

    job_name = "jobframe.reliability.KillerJob"

    def perform(self, journal: str) -> None:
        _line(self, journal, "start")
        os.kill(os.getpid(), signal.SIGKILL)


class Flaky(Exception):
    """Raised by `ChaosJob` on purpose, to be retried."""


@retry_on(Flaky, wait=0, attempts=3, jitter=0)
class ChaosJob(Job):
    """A short job for the chaos test; ``fail_once`` makes its first execution raise `Flaky`."""

    job_name = "jobframe.reliability.ChaosJob"

    def perform(self, journal: str, seconds: float, fail_once: bool = False) -> None:
        _line(self, journal, "start")
        failing = fail_once and self.executions <= 1
        try:
            time.sleep(seconds)
            if failing:
                raise Flaky(f"{self.job_id} fails its first execution on purpose")
        finally:
            _line(self, journal, "end", failed=failing)
