"""Jobs of the RabbitMQ tests; worker subprocesses import this module (``jobframe work
rabbitmq_jobs``). Each run appends JSON lines to the journal file it is given."""

from __future__ import annotations

import os
import time

import jobframe
from jobframe.testing.conformance_jobs import read, record

__all__ = ["RecordJob", "SleepJob", "read"]


class RecordJob(jobframe.Job):
    job_name = "rabbitmq_tests.RecordJob"

    def perform(self, journal: str, tag: str) -> None:
        record(
            journal,
            event="end",
            tag=tag,
            job_id=self.job_id,
            priority=self.priority,
            pid=os.getpid(),
            ran_at=time.time(),
        )


class SleepJob(jobframe.Job):
    job_name = "rabbitmq_tests.SleepJob"

    def perform(self, journal: str, seconds: float) -> None:
        record(journal, event="start", job_id=self.job_id, pid=os.getpid(), at=time.time())
        time.sleep(seconds)  # the job's work: long enough to be killed in the middle
        record(journal, event="end", job_id=self.job_id, pid=os.getpid(), at=time.time())


class FailingJob(jobframe.Job):
    job_name = "rabbitmq_tests.FailingJob"

    def perform(self, journal: str) -> None:
        raise ValueError("fails on purpose")
