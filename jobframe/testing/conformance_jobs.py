"""Jobs the adapter conformance suite enqueues. Workers import this module to run them.

Each run appends one JSON line to a journal file named by the job, so the suite can observe jobs
performed in another process (a Redis or SQL worker) as well as in this one.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from jobframe.errors import JobTimeout
from jobframe.job.base import Job
from jobframe.job.exceptions import discard_on, retry_on
from jobframe.job.flow_control import limits_concurrency, rate_limit, unique


def record(journal: str, **entry: Any) -> None:
    """Append one line atomically (several worker processes may write at once)."""
    line = (json.dumps(entry, sort_keys=True, default=repr) + "\n").encode()
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)


def read(journal: str | Path) -> list[dict[str, Any]]:
    """Every line written so far, read under the writers' lock so none is seen half-written."""
    try:
        fd = os.open(journal, os.O_RDONLY)
    except FileNotFoundError:
        return []
    with os.fdopen(fd, "rb") as file:
        fcntl.flock(fd, fcntl.LOCK_SH)
        text = file.read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class ConformanceFlaky(Exception):
    """Raised by `RecordingJob` on purpose to exercise retries."""


@retry_on(ConformanceFlaky, wait=0, attempts=3, jitter=0)
class RecordingJob(Job):
    """Records its arguments, queue, priority and attempt; fails the first ``fail_times`` runs."""

    job_name = "jobframe.conformance.RecordingJob"

    def perform(
        self, journal: str, tag: str, *values: Any, fail_times: int = 0, raise_always: bool = False
    ) -> None:
        record(
            journal,
            tag=tag,
            job_id=self.job_id,
            queue=self.queue_name,
            priority=self.priority,
            executions=self.executions,
            values=repr(values),
            ran_at=time.time(),
            scheduled_at=self.scheduled_at.isoformat() if self.scheduled_at else None,
            recurring_task=self.recurring_task,
        )
        if raise_always:
            raise RuntimeError(f"conformance job {tag} fails on purpose")
        if self.executions <= fail_times:
            raise ConformanceFlaky(f"attempt {self.executions} of {tag} fails on purpose")


def _entry(job: Job, journal: str, tag: str, **extra: Any) -> None:
    record(journal, tag=tag, job_id=job.job_id, executions=job.executions, ran_at=time.time(),
           provider_id=job.provider_job_id, **extra)  # fmt: skip


@retry_on(ConformanceFlaky, wait=1.5, attempts=2, jitter=0)
class BackoffJob(Job):
    """Fails its first run; its retry must wait the 1.5 s that ``retry_on`` asks for."""

    job_name = "jobframe.conformance.BackoffJob"

    def perform(self, journal: str, tag: str) -> None:
        _entry(self, journal, tag)
        if self.executions == 1:
            raise ConformanceFlaky(f"the first run of {tag} fails on purpose")


class ConformanceDiscarded(Exception):
    """Raised by `DiscardedJob`, whose ``discard_on`` drops it without a retry or a dead job."""


@discard_on(ConformanceDiscarded)
class DiscardedJob(Job):
    job_name = "jobframe.conformance.DiscardedJob"

    def perform(self, journal: str, tag: str) -> None:
        _entry(self, journal, tag)
        raise ConformanceDiscarded(f"{tag} is discarded on purpose")


class AsyncRecordingJob(Job):
    """An ``async def perform``: the worker must await it (and it sees a running loop)."""

    job_name = "jobframe.conformance.AsyncRecordingJob"

    async def perform(self, journal: str, tag: str) -> None:
        await asyncio.sleep(0.01)
        _entry(self, journal, tag, in_loop=asyncio.get_running_loop().is_running())


# -- flow control (jobframe.testing.conformance.flow) ---------------------------------------------


def _wait_for_file(path: str | None, timeout: float = 30.0) -> None:
    """Block until ``path`` exists (the test creates it to let the job end), at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while path and not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)  # another process (the test) creates the file: no event to share


@unique(key=lambda journal, key, **_: key)
class UniqueJob(Job):
    """Unique by ``key`` until finished; ``hold`` names a file the run waits for."""

    job_name = "jobframe.conformance.UniqueJob"

    def perform(self, journal: str, key: str, hold: str | None = None, fail: bool = False) -> None:
        _entry(self, journal, key, phase="start")
        _wait_for_file(hold)
        if fail:
            raise RuntimeError(f"unique job {key} fails on purpose")


@unique(key=lambda journal, key, **_: key, on_conflict="raise")
class UniqueRaisingJob(Job):
    job_name = "jobframe.conformance.UniqueRaisingJob"

    def perform(self, journal: str, key: str) -> None:
        _entry(self, journal, key)


@unique(key=lambda journal, key, **_: key, until="started")
class UniqueUntilStartedJob(Job):
    job_name = "jobframe.conformance.UniqueUntilStartedJob"

    def perform(self, journal: str, key: str, hold: str | None = None) -> None:
        _entry(self, journal, key, phase="start")
        _wait_for_file(hold)


@unique(key=lambda journal, key, **_: key, until="scheduled")
class UniqueUntilScheduledJob(Job):
    job_name = "jobframe.conformance.UniqueUntilScheduledJob"

    def perform(self, journal: str, key: str) -> None:
        _entry(self, journal, key)


@unique(key=lambda journal, key, **_: key, for_=1.0)
class UniqueBrieflyJob(Job):
    """Its lock lapses after one second, whatever became of the job."""

    job_name = "jobframe.conformance.UniqueBrieflyJob"

    def perform(self, journal: str, key: str) -> None:
        _entry(self, journal, key)


@retry_on(ConformanceFlaky, wait=1.0, attempts=2, jitter=0)
@unique(key=lambda journal, key, **_: key)
class UniqueFlakyJob(Job):
    """Fails its first run; the lock stays with it through its retry."""

    job_name = "jobframe.conformance.UniqueFlakyJob"

    def perform(self, journal: str, key: str) -> None:
        _entry(self, journal, key)
        if self.executions == 1:
            raise ConformanceFlaky(f"the first run of {key} fails on purpose")


def _overlap_entry(job: Job, journal: str, key: str, seconds: float) -> None:
    start = time.time()
    time.sleep(seconds)
    _entry(job, journal, key, start=start, end=time.time(), pid=os.getpid())


@limits_concurrency(to=2, key=lambda journal, key, seconds=0.2: key, duration=30)
class LimitedJob(Job):
    """At most two run at once per ``key``; each records when it ran."""

    job_name = "jobframe.conformance.LimitedJob"

    def perform(self, journal: str, key: str, seconds: float = 0.2) -> None:
        _overlap_entry(self, journal, key, seconds)


@limits_concurrency(to=1, group="conformance-shared", duration=30)
class SharedLimitJobA(Job):
    job_name = "jobframe.conformance.SharedLimitJobA"

    def perform(self, journal: str, key: str, seconds: float = 0.2) -> None:
        _overlap_entry(self, journal, key, seconds)


@limits_concurrency(to=1, group="conformance-shared", duration=30)
class SharedLimitJobB(Job):
    job_name = "jobframe.conformance.SharedLimitJobB"

    def perform(self, journal: str, key: str, seconds: float = 0.2) -> None:
        _overlap_entry(self, journal, key, seconds)


@limits_concurrency(to=1, key=lambda journal, key, hold=None: key, duration=30)
class HeldLimitJob(Job):
    """One at a time per ``key``; each run waits for the file ``hold``."""

    job_name = "jobframe.conformance.HeldLimitJob"

    def perform(self, journal: str, key: str, hold: str | None = None) -> None:
        _entry(self, journal, key, phase="start")
        _wait_for_file(hold)


@rate_limit("10/second", key=lambda journal, key: key)
class RatedJob(Job):
    """At most ten starts a second per ``key``."""

    job_name = "jobframe.conformance.RatedJob"

    def perform(self, journal: str, key: str) -> None:
        _entry(self, journal, key, start=time.time())


class ExpiringJob(Job):
    job_name = "jobframe.conformance.ExpiringJob"
    expires_in = 0.3

    def perform(self, journal: str, tag: str) -> None:
        _entry(self, journal, tag)


class CancellableJob(Job):
    """Runs until cancelled (checking every 10 ms), for at most 30 s."""

    job_name = "jobframe.conformance.CancellableJob"

    def perform(self, journal: str, tag: str) -> None:
        _entry(self, journal, tag, phase="start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.check_cancelled()
            time.sleep(0.01)
        _entry(self, journal, tag, phase="not cancelled")


@discard_on(JobTimeout)
class TimedJob(Job):
    """Sleeps longer than its ``timeout``: stopped with JobTimeout, then discarded."""

    job_name = "jobframe.conformance.TimedJob"
    timeout = 0.5

    def perform(self, journal: str, tag: str, seconds: float = 10.0) -> None:
        _entry(self, journal, tag, phase="start")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)
        _entry(self, journal, tag, phase="not stopped")


@discard_on(JobTimeout)
class AsyncTimedJob(Job):
    job_name = "jobframe.conformance.AsyncTimedJob"
    timeout = 0.5

    async def perform(self, journal: str, tag: str, seconds: float = 10.0) -> None:
        _entry(self, journal, tag, phase="start")
        await asyncio.sleep(seconds)
        _entry(self, journal, tag, phase="not stopped")


class ContinuationFlaky(Exception):
    """Raised by `ImportRowsJob` on purpose, to show a retry resuming at its checkpoint."""


@retry_on(ContinuationFlaky, wait=0, attempts=2, jitter=0)
class ImportRowsJob(Job):
    """A continuation: a ``download`` step, then ``rows`` rows (the cursor is the next row), each
    journaled with the pid that handled it and paced ``pace`` seconds (work, not a wait). The
    first run fails at row ``fail_at`` (before handling it), to be retried."""

    job_name = "jobframe.conformance.ImportRowsJob"

    def perform(self, journal: str, rows: int, pace: float = 0.0, fail_at: int = -1) -> None:
        self.journal, self.rows, self.pace, self.fail_at = journal, rows, pace, fail_at
        self.step("download", self.download)
        self.step("rows", self.import_rows, cursor=0)
        _entry(self, journal, "end", pid=os.getpid())

    def download(self, step: Any) -> None:
        _entry(self, self.journal, "download", pid=os.getpid())

    def import_rows(self, step: Any) -> None:
        for n in range(step.cursor, self.rows):
            if n == self.fail_at and self.executions == 1:
                raise ContinuationFlaky(f"row {n} fails on the first run, on purpose")
            _entry(self, self.journal, "row", row=n, pid=os.getpid())
            if self.pace:
                time.sleep(self.pace)
            step.advance()
