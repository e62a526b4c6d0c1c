"""A job for the worker processes of `test_supervisor`: stuck in one C call, past any timeout."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jobframe


class StuckJob(jobframe.Job):
    """Writes its process id to ``marker``, then sleeps in one call: an exception raised in its
    thread (`jobframe.JobTimeout`) waits until ``time.sleep`` returns."""

    job_name = "tests.worker.StuckJob"

    def perform(self, marker: str, seconds: float = 60.0) -> None:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(seconds)
