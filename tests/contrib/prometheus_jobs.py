"""Jobs of the Prometheus tests, one per outcome; each records the process that ran it."""

from __future__ import annotations

import json
import os
import time

from jobframe import Job, discard_on, retry_on


class Flaky(Exception):
    """Raised by `FlakyJob` on its first execution."""


class Dropped(Exception):
    """Raised by `DroppedJob`, which discards it."""


def _record(journal: str, job: Job) -> None:
    with open(journal, "a") as file:
        file.write(json.dumps({"job_id": job.job_id, "pid": os.getpid()}) + "\n")


class QuickJob(Job):
    """Runs 50 ms (long enough that both processes of a pair take some)."""

    job_name = "prom.QuickJob"

    def perform(self, journal: str) -> None:
        time.sleep(0.05)
        _record(journal, self)


@retry_on(Flaky, wait=0, attempts=2, jitter=0)
class FlakyJob(Job):
    """Fails once, then succeeds."""

    job_name = "prom.FlakyJob"

    def perform(self, journal: str) -> None:
        _record(journal, self)
        if self.executions <= 1:
            raise Flaky("first execution fails on purpose")


@discard_on(Dropped)
class DroppedJob(Job):
    """Discarded."""

    job_name = "prom.DroppedJob"

    def perform(self, journal: str) -> None:
        _record(journal, self)
        raise Dropped("dropped on purpose")


class FailingJob(Job):
    """Fails for good (no retry)."""

    job_name = "prom.FailingJob"

    def perform(self, journal: str) -> None:
        _record(journal, self)
        raise RuntimeError("fails on purpose")
