"""The jobs `batch.py` enqueues, imported by its ``jobframe work`` processes (``PYTHONPATH`` is
set to ``benchmarks/``)."""

from __future__ import annotations

import os
import time

import jobframe

_count_fd: int | None = None


class RowJob(jobframe.Job):
    """One row of an import: appends one byte to ``$BENCH_BATCH_COUNT`` (opened once per
    process), which is how the benchmark sees every job done without asking the backend."""

    queue_as = "bench-batch"

    def perform(self) -> None:
        global _count_fd
        if _count_fd is None:
            path = os.environ["BENCH_BATCH_COUNT"]
            _count_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(_count_fd, b".")


class DoneJob(jobframe.Job):
    """The batch's ``on_success`` callback: returns when it ran (stored, so the benchmark's
    ``job_result`` wait is woken by the backend)."""

    queue_as = "bench-batch"
    store_result = True

    def perform(self) -> float:
        return time.time()
