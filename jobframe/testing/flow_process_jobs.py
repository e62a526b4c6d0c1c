"""Jobs of the flow-control process tests (`jobframe.testing.conformance.flow_processes`); the
test's ``jobframe work`` processes import this module. Each run appends its start and end times
to a journal, so the test sees how many runs of a key overlapped, across processes."""

from __future__ import annotations

import os
import time

from jobframe.job.base import Job
from jobframe.job.flow_control import limits_concurrency, rate_limit
from jobframe.testing.conformance_jobs import record

MODULE = __name__


def _run(job: Job, journal: str, key: str, seconds: float) -> None:
    start = time.time()
    if seconds:
        time.sleep(seconds)
    record(journal, job_id=job.job_id, tag=key, start=start, end=time.time(), pid=os.getpid())


@limits_concurrency(to=2, key=lambda journal, key, seconds=0.02: key, duration=60)
class TwoPerKeyJob(Job):
    """At most two at once per ``key``; a slot outlives any run of this test."""

    job_name = "jobframe.conformance.TwoPerKeyJob"

    def perform(self, journal: str, key: str, seconds: float = 0.02) -> None:
        _run(self, journal, key, seconds)


@limits_concurrency(to=2, key=lambda journal, key, seconds=0.02: key, duration=5)
class TwoPerKeyBrieflyJob(Job):
    """As `TwoPerKeyJob`, but a slot lapses after 5 s: a SIGKILLed worker's slots free soon."""

    job_name = "jobframe.conformance.TwoPerKeyBrieflyJob"

    def perform(self, journal: str, key: str, seconds: float = 0.02) -> None:
        _run(self, journal, key, seconds)


@rate_limit("50/second", key=lambda journal, key: key)
class FiftyPerSecondJob(Job):
    """At most 50 starts a second per ``key``, one every 20 ms."""

    job_name = "jobframe.conformance.FiftyPerSecondJob"

    def perform(self, journal: str, key: str) -> None:
        _run(self, journal, key, 0)
