"""Batches: ``with jobframe.batch(on_success=..., on_complete=...) as b:`` around enqueues.

Every job enqueued inside the block (``perform_later``, ``enqueue``, ``set(...).perform_later``,
``aperform_later``, `jobframe.perform_all_later`, a `jobframe.chain`) carries the batch's id
(``job.batch_id``, payload key ``batch_id``), and the backend counts it in the batch in the same
step as the enqueue. So does every job enqueued *by a job of the batch while it performs* in a
worker (`jobframe.worker.chaining`): a job that fans out more work keeps its batch open, as
Sidekiq's child jobs do. When the block ends the batch is sealed; once it is sealed and no job
of it is pending, the backend enqueues ``on_complete`` once, and ``on_success`` once when every
job succeeded (none failed, dead, discarded or cancelled; a job retried from the dead set that
then succeeds makes it true later, and it fires then).

Decisions (as users of Sidekiq batches expect):

- The batch is sealed when the block ends **also when it raises**: the jobs enqueued before the
  error are real jobs and will run, so their callbacks fire; the error propagates.
- A nested ``with jobframe.batch()`` opens a batch of its own: the jobs enqueued in the inner
  block count in the inner batch only (the outer batch does not wait for it).
- A callback job is not in the batch it fired for (``batch_id`` is None); it reads that batch's
  id from ``self.callback_batch_id`` (None for any other job) and its counts with
  `batch_status`.
- Every job of a batch must use the adapter the batch was opened on (the configured one, or
  ``adapter=``); another adapter is refused at enqueue, as is an adapter without
  ``Capabilities.batches``.
- A job held for a commit (`jobframe.after_commit`) is counted when the commit writes it: open
  the batch around the commit (or after it), or the batch may finish without it.
- A finished batch and its counts are kept ``history_ttl`` seconds (default one day).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobframe import queue_adapters
from jobframe.backend.capabilities import unsupported
from jobframe.backend.ids import new_id
from jobframe.backend.payload import dump_payload
from jobframe.backend.results import BatchCallback, BatchInfo, ResultStore
from jobframe.errors import InvalidOptionError
from jobframe.tracking.records import kept_ttl

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job


@dataclass(frozen=True)
class OpenBatch:
    """The batch new enqueues join: the block's (its adapter known) or, in a worker, the batch of
    the job performing (``adapter`` None: the job's own)."""

    id: str
    adapter: QueueAdapter | None = None


#: The batch jobs enqueued now join (None: none). Set by `batch` and by the worker's chaining
#: middleware around a batch job's perform.
current_batch: ContextVar[OpenBatch | None] = ContextVar("jobframe_batch", default=None)


def join(job: Job) -> None:
    """Give a new job the open batch's id (called for every enqueue, so keep it cheap)."""
    if job.batch_id is None:
        found = current_batch.get()
        if found is not None:
            job.batch_id = found.id


@contextmanager
def performing(job: Job) -> Iterator[None]:
    """While ``job`` performs in this thread, the jobs it enqueues join its batch (or none)."""
    batch_id = job.batch_id
    token = current_batch.set(None if batch_id is None else OpenBatch(batch_id))
    try:
        yield
    finally:
        current_batch.reset(token)


def check(job: Job, adapter: QueueAdapter) -> None:
    """Refuse a batch job on an adapter without batches, or not the batch's adapter.

    Raises:
        UnsupportedError: ``adapter`` does not declare ``Capabilities.batches``.
        InvalidOptionError: the batch was opened on another adapter.
    """
    if not adapter.capabilities.batches:
        raise unsupported(adapter, "batches")
    found = current_batch.get()
    if found is not None and found.id == job.batch_id and found.adapter not in (None, adapter):
        raise InvalidOptionError(
            f"{type(job).__qualname__} uses the adapter {adapter!r}, but its batch "
            f"{found.id} was opened on {found.adapter!r}: every job of a batch must use the "
            "batch's adapter (jobframe.batch(adapter=...))."
        )


def _store(adapter: QueueAdapter) -> ResultStore:
    store = adapter.results() if adapter.capabilities.batches else None
    if store is None:
        raise unsupported(adapter, "batches")
    return store


class Batch:
    """A batch opened by `batch`: its ``id``, and its counts read fresh from the backend on each
    access (`status`, `total`, `pending`, ...)."""

    def __init__(self, id: str, adapter: QueueAdapter, description: str | None) -> None:
        self.id = id
        self.adapter = adapter
        self.description = description

    def status(self) -> BatchInfo:
        """The batch's counts now (`jobframe.backend.results.BatchInfo`).

        Raises:
            LookupError: the batch expired (a finished batch is kept ``history_ttl`` seconds).
        """
        info = _store(self.adapter).batch(self.id)
        if info is None:
            raise LookupError(f"batch {self.id} is unknown (expired?)")
        return info

    @property
    def total(self) -> int:
        """Jobs counted in the batch so far."""
        return self.status().total

    @property
    def pending(self) -> int:
        """Jobs of the batch not finished yet (waiting, running or retrying)."""
        return self.status().pending

    @property
    def succeeded(self) -> int:
        """Jobs of the batch that succeeded."""
        return self.status().succeeded

    @property
    def failed(self) -> int:
        """Jobs of the batch that failed for good (in the dead set)."""
        return self.status().failed

    @property
    def dead(self) -> int:
        """Jobs of the batch that could not run (poison pills, unloadable)."""
        return self.status().dead

    @property
    def discarded(self) -> int:
        """Jobs of the batch that ``discard_on`` (or expiry) dropped."""
        return self.status().discarded

    @property
    def cancelled(self) -> int:
        """Jobs of the batch cancelled (`jobframe.cancel`, or later links of a broken chain)."""
        return self.status().cancelled

    def __repr__(self) -> str:
        return f"<jobframe.Batch {self.id} {self.description or ''}>".replace(" >", ">")


def _callback(kind: str, job: Job, batch_id: str, adapter: QueueAdapter) -> BatchCallback:
    """Serialize a callback job now, as it will be enqueued (arguments checked in the caller)."""
    from jobframe.job.enqueuing import _prepare

    if type(job).adapter() is not adapter:
        raise InvalidOptionError(
            f"the {kind} callback {type(job).__qualname__} uses another adapter than its batch "
            f"({adapter!r}): a callback is enqueued by the batch's backend."
        )
    _prepare(job)
    job.batch_id = None
    job.callback_batch_id = batch_id
    if job.flow is None:
        job.flow = job.compute_flow()
    job.enqueued_at = job.now()
    job._payload_cache = None
    payload = dump_payload(job.serialize())
    priority = job.priority
    return BatchCallback(new_id(), job.queue_name, 0 if priority is None else priority, payload,
                         job.job_id)  # fmt: skip


@contextmanager
def batch(
    on_success: Job | None = None,
    on_complete: Job | None = None,
    description: str | None = None,
    adapter: QueueAdapter | None = None,
) -> Iterator[Batch]:
    """Open a batch; every job enqueued in the block counts in it (see the module doc).

    Parameters:
        on_success: a job (built, not enqueued) enqueued once when every job of the batch
            succeeded.
        on_complete: a job enqueued once when every job of the batch finished, however.
        description: shown by ``jobframe batches`` and the dashboard.
        adapter: the backend keeping the batch (default: the configured adapter).
    Raises:
        UnsupportedError: the adapter does not declare ``Capabilities.batches``.
        SerializationError: a callback's arguments cannot be serialized; no batch was opened.
    """
    adapter = queue_adapters.get(adapter)
    store = _store(adapter)
    batch_id = new_id()
    callbacks = {
        kind: _callback(kind, job, batch_id, adapter)
        for kind, job in (("on_success", on_success), ("on_complete", on_complete))
        if job is not None
    }
    info = BatchInfo(
        batch_id,
        description,
        time.time(),
        callbacks={kind: cb.job_id for kind, cb in callbacks.items()},
    )
    store.open_batch(info, callbacks, kept_ttl())
    token = current_batch.set(OpenBatch(batch_id, adapter))
    try:
        yield Batch(batch_id, adapter, description)
    finally:
        current_batch.reset(token)
        store.seal_batch(batch_id)


def batch_status(batch_id: str, adapter: QueueAdapter | None = None) -> BatchInfo | None:
    """A batch's counts (`jobframe.backend.results.BatchInfo`), or None when unknown or
    expired, from any process.

    Raises:
        UnsupportedError: the adapter does not declare ``Capabilities.batches``.
    """
    return _store(queue_adapters.get(adapter)).batch(batch_id)


__all__ = ["Batch", "OpenBatch", "batch", "batch_status", "current_batch",
           "performing"]  # fmt: skip
