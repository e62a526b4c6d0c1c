"""Jobs of the RabbitMQ tests; worker subprocesses import this module (``jobframe work
rabbitmq_jobs``). Each run appends JSON lines to the journal file it is given."""

from __future__ import annotations

import os
import time

import jobframe
from jobframe.testing.conformance_jobs import read, record

__all__ = ["FailingJob", "RecordJob", "read"]


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


class FailingJob(jobframe.Job):
    job_name = "rabbitmq_tests.FailingJob"

    def perform(self, journal: str) -> None:
        raise ValueError("fails on purpose")
