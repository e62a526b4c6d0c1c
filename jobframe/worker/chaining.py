"""Batches and chains in the worker, as `Middleware`.

- While a job of a batch performs, the jobs it enqueues join its batch (the batch context of
  `jobframe.tracking.batches`), so the batch waits for the work its jobs fan out.
- When a chain link succeeds, the next link is enqueued in the same atomic step as the link's
  outcome: it is handed to `WorkerBackend.retry_entry` and written with ``Outcome.retries``,
  as a retry is. When a link ends for good without succeeding, the ``cancelled`` records of
  the links after it go into ``Outcome.records``, written in that step too.

It reads how the job ended from the job's own record in ``Outcome.records`` (put there by the
recording middleware, which must act before it: this middleware comes first in the list, and
``finished`` runs in reverse order). Without records (a backend without ``results``) it reads
the outcome: ``done`` is success.
"""

from __future__ import annotations

import logging
from typing import Any

from jobframe.backend.results import FINAL
from jobframe.backend.worker import Claim, Outcome, WorkerBackend, with_records
from jobframe.job.enqueuing import retry_handoff
from jobframe.tracking import chains
from jobframe.tracking.batches import OpenBatch, current_batch
from jobframe.worker.middleware import Middleware, WorkerContext

log = logging.getLogger("jobframe.worker")

#: what a worker outcome means for a chain when no record says it
_BY_OUTCOME = {"done": "succeeded", "failed": "failed", "dead": "dead", "expired": "discarded",
               "cancelled": "cancelled"}  # fmt: skip


class Chaining(Middleware):
    """Batch context for child jobs, and the next link of a chain (see the module doc)."""

    def __init__(self) -> None:
        self._backend: WorkerBackend | None = None

    def bind(self, worker: WorkerContext) -> None:
        self._backend = worker.backend

    def started(self, claim: Claim, job: Any) -> None:
        batch_id = job.batch_id
        current_batch.set(None if batch_id is None else OpenBatch(batch_id))

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        current_batch.set(None)
        if job.chain_info is None or not job.chain:
            return outcome
        status = _status(job, outcome)
        if status == "succeeded":
            return self._next(job, outcome)
        if status in FINAL:
            records = chains.cancelled_records(job, status)
            return with_records(outcome, *records)
        return outcome  # retrying: the chain goes on after the retry

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        """A link settled unperformed (expired: ``discarded``; a payload that cannot become a
        job: ``dead``) stops its chain, as a link that ran and failed does."""
        if job is None:
            return with_records(outcome, *chains.broken_records(claim.payload, "dead"))
        if job.chain_info is None or not job.chain:
            return outcome
        status = _status(job, outcome)
        if status not in FINAL:
            return outcome
        return with_records(outcome, *chains.cancelled_records(job, status))

    def _next(self, job: Any, outcome: Outcome) -> Outcome:
        link = chains.next_link(job)
        if link is None:
            return outcome
        backend = self._backend
        entries: list[Any] = []

        def handoff(new: Any, adapter: Any) -> bool:
            entry = backend.retry_entry(new, adapter) if backend is not None else None
            if entry is None:
                return False  # another adapter: enqueued through it, now
            entries.append(entry)
            return True

        token = retry_handoff.set(handoff)
        try:
            link._enqueue(retrying=True)
        except Exception:  # the link's outcome stands; the chain stops here, said loudly
            log.exception("enqueueing link %s of a chain failed: the chain stops", link.job_id)
            return outcome
        finally:
            retry_handoff.reset(token)
        return with_records(outcome, retries=tuple(entries))


def _status(job: Any, outcome: Outcome) -> str:
    """How the job ended: its own record's status, else the outcome's."""
    for record in outcome.records:
        if record.job_id == job.job_id:
            return record.status
    if outcome.status == "done" and outcome.retries:
        return "retrying"
    return _BY_OUTCOME.get(outcome.status, "failed")


__all__ = ["Chaining"]
