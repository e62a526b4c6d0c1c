"""Jobs the batch and chain conformance tests enqueue (`jobframe.testing.conformance.batches`,
``.chains``, ``.batches_processes``). Worker processes import this module by name
(``WorkerHarness.start(imports=[BATCH_JOBS])``).

Each run appends one JSON line to the journal named by its first argument (see
`jobframe.testing.conformance_jobs.record`), so a test sees runs in other processes too.
"""

from __future__ import annotations

import os
import time
from typing import Any

from jobframe.job.base import Job
from jobframe.job.exceptions import discard_on
from jobframe.testing.conformance_jobs import record

#: the module name a worker process imports to run these jobs
BATCH_JOBS = "jobframe.testing.batch_jobs"


class BatchDiscarded(Exception):
    """Raised by `BatchJob` in mode ``discard``: ``discard_on`` drops the job."""


def _line(job: Job, journal: str, tag: str, **extra: Any) -> None:
    record(journal, tag=tag, job_id=job.job_id, batch_id=job.batch_id, pid=os.getpid(),
           executions=job.executions, t=time.time(), **extra)  # fmt: skip


@discard_on(BatchDiscarded)
class BatchJob(Job):
    """One job of a batch. ``mode``: ``ok``; ``fail`` (raises, no retry: failed, dead set);
    ``discard``; ``fail_unless`` (fails while the file ``arg`` does not exist); ``children``
    (enqueues ``arg`` more ``ok`` jobs while it performs: they join its batch); ``sleep``
    (records a ``start:<tag>`` line, then sleeps ``arg`` seconds)."""

    job_name = "jobframe.conformance.BatchJob"

    def perform(self, journal: str, tag: str, mode: str = "ok", arg: Any = None) -> None:
        if mode == "sleep":
            _line(self, journal, f"start:{tag}", mode=mode)
            time.sleep(float(arg))
        if mode == "children":
            for i in range(int(arg)):
                BatchJob.perform_later(journal, f"{tag}.child-{i}")
        _line(self, journal, tag, mode=mode)
        if mode == "fail" or (mode == "fail_unless" and not os.path.exists(str(arg))):
            raise RuntimeError(f"batch job {tag} fails on purpose")
        if mode == "discard":
            raise BatchDiscarded(f"batch job {tag} is discarded on purpose")


class BatchCallbackJob(Job):
    """A batch callback: records its kind and the batch it fired for."""

    job_name = "jobframe.conformance.BatchCallbackJob"

    def perform(self, journal: str, kind: str) -> None:
        _line(self, journal, f"callback:{kind}", callback_batch_id=self.callback_batch_id)


class LinkJob(Job):
    """A chain link: records its tag, index and its predecessor's result, returns ``value``;
    raises when ``fail`` is set."""

    job_name = "jobframe.conformance.LinkJob"

    def perform(self, journal: str, tag: str, value: Any = None, fail: bool = False) -> Any:
        info = self.chain_info or {}
        previous = self.previous_result() if info.get("previous") else None
        _line(self, journal, tag, index=info.get("index"), previous=previous)
        if fail:
            raise RuntimeError(f"chain link {tag} fails on purpose")
        return value


class StoredLinkJob(LinkJob):
    """A `LinkJob` that stores its result itself (the last link of a chain keeps it then)."""

    job_name = "jobframe.conformance.StoredLinkJob"
    store_result = True


__all__ = ["BATCH_JOBS", "BatchCallbackJob", "BatchDiscarded", "BatchJob", "LinkJob",
           "StoredLinkJob"]  # fmt: skip
