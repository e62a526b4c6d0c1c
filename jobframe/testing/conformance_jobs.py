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

from jobframe.job.base import Job
from jobframe.job.exceptions import discard_on, retry_on


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
