"""Jobs the adapter conformance suite enqueues. Workers import this module to run them.

Each run appends one JSON line to a journal file named by the job, so the suite can observe jobs
performed in another process (a Redis or SQL worker) as well as in this one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from jobframe.job.base import Job
from jobframe.job.exceptions import retry_on


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
        )
        if raise_always:
            raise RuntimeError(f"conformance job {tag} fails on purpose")
        if self.executions <= fail_times:
            raise ConformanceFlaky(f"attempt {self.executions} of {tag} fails on purpose")
