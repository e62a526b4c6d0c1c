"""The peers' jobs for `batch.py`: the same body as `batch_jobs.RowJob` (one byte appended to
``$BENCH_BATCH_COUNT``) and a callback that returns when it ran. Imported by their workers."""

from __future__ import annotations

import os
import time
from typing import Any

_count_fd: int | None = None
CELERY_URL = os.environ.get("BENCH_CELERY_URL", "redis://127.0.0.1:6379/9")


def row() -> None:
    global _count_fd
    if _count_fd is None:
        _count_fd = os.open(os.environ["BENCH_BATCH_COUNT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(_count_fd, b".")


def done(*_: Any) -> float:
    return time.time()


try:
    from celery import Celery
except ImportError:  # pragma: no cover - RQ's worker imports this module too
    Celery = None

if Celery is not None:
    app = Celery("batch_peer_jobs", broker=CELERY_URL, backend=CELERY_URL)
    app.conf.update(worker_prefetch_multiplier=4, task_acks_late=False, result_expires=600,
                    worker_hijack_root_logger=False)  # fmt: skip
    celery_row = app.task(name="row", ignore_result=False)(row)
    celery_done = app.task(name="done")(done)
