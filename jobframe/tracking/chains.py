"""Chains: ``jobframe.chain(FetchJob(url), ParseJob(), StoreJob()).perform_later()``.

Each link runs after the previous one succeeded. Only the first link is enqueued by
`Chain.perform_later`; it carries the serialized links after it (payload key ``chain``) and
where it stands (``chain_info``: ``previous``, ``index``, ``length``, ``ids``). Every link's
``job_id`` is assigned up front, so ``chain.jobs[-1].result(timeout=60)`` works at once.

In a worker (`jobframe.worker.chaining`) the next link is enqueued in the same atomic step as
its predecessor's outcome (the retry hand-off), so a crash neither loses nor doubles it. When a
link ends for good without succeeding (failed, dead, discarded, cancelled), the links after it
are recorded ``cancelled`` and never run. On the inline and test adapters the core does the
same right after the link performed (`follow`).

Decisions: a chain passes nothing implicitly; a link reads its predecessor's return value with
``self.previous_result()`` (every link with a successor stores its result, whatever its
``store_result``). A link retried by ``retry_on`` is still the same link: the chain goes on when
the retry succeeds; so does a failed link retried from the dead set that then succeeds (the links
recorded ``cancelled`` run after all). A chain enqueued inside ``with jobframe.batch()`` counts
every link in that batch as it is enqueued (links never enqueued, cancelled ones, are not
counted). A link the backend ends without running it (a waiting link removed by
`jobframe.cancel` or discarded, a poison pill sent dead by the reaper) records the rest
``cancelled`` too: the backend builds those records from the link's payload (`broken_records`)
and writes them in the step that ends the link. Limits: later links are not checked against
their adapter's capabilities (only the first link's enqueue is): build a chain of jobs on one
adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobframe.backend.results import JobRecord
from jobframe.errors import DeserializationError, InvalidOptionError, UnknownJobError

if TYPE_CHECKING:
    from jobframe.job.base import Job


class Chain:
    """Jobs that run one after the other, each once the previous one succeeded (see
    `jobframe.tracking.chains`). Build it with `jobframe.chain`."""

    def __init__(self, jobs: list[Job]) -> None:
        if not jobs:
            raise InvalidOptionError("jobframe.chain() needs at least one job")
        if len({id(job) for job in jobs}) != len(jobs):
            raise InvalidOptionError("jobframe.chain(): the same job object appears twice")
        #: the links, in order; each is the handle of its job (``job_id``, ``status()``, ...)
        self.jobs = list(jobs)

    @property
    def ids(self) -> list[str]:
        """Every link's ``job_id``, in order."""
        return [job.job_id for job in self.jobs]

    def _link(self) -> Job:
        """Put the chain keys on the links; returns the first, ready to enqueue.

        Raises:
            SerializationError: a link's arguments cannot be serialized; nothing was enqueued.
        """
        from jobframe.job.enqueuing import _prepare

        ids = self.ids
        length = len(self.jobs)
        payloads: list[dict[str, Any]] = []
        for index in range(length - 1, -1, -1):
            job = self.jobs[index]
            _prepare(job)
            previous = ids[index - 1] if index else None
            job.chain_info = {"previous": previous, "index": index, "length": length, "ids": ids}
            job.chain = None  # the rest travels in the first link's payload only
            if index:
                job._payload_cache = None
                payloads.insert(0, job.serialize())
        first = self.jobs[0]
        first.chain = payloads
        return first

    def perform_later(self) -> list[Job]:
        """Enqueue the first link; returns every link's job (the handles, ids already final).

        Raises:
            UnsupportedError: the adapter does not declare ``Capabilities.chains``.
            SerializationError: a link's arguments cannot be serialized; nothing was enqueued.
            EnqueueError: the backend refused or is unreachable; nothing was enqueued.
        """
        self._link().enqueue()
        return list(self.jobs)

    async def aperform_later(self) -> list[Job]:
        """`perform_later` for coroutines (the write runs in a worker thread)."""
        await self._link().aenqueue()
        return list(self.jobs)

    def __repr__(self) -> str:
        names = " -> ".join(type(job).__qualname__ for job in self.jobs)
        return f"<jobframe.Chain {names}>"


def chain(*jobs: Job) -> Chain:
    """A chain of jobs (built, not enqueued): ``jobframe.chain(A(x), B(), C()).perform_later()``.

    Raises:
        InvalidOptionError: no job, or the same job object twice.
    """
    return Chain(list(jobs))


def next_link(job: Job) -> Job | None:
    """The link after ``job``, built from its payload and ready to enqueue; None at the end."""
    from jobframe.job.base import Job as JobBase

    rest, info = job.chain, job.chain_info
    if not rest or info is None:
        return None
    link: Job = JobBase.deserialize(rest[0])
    link.chain = rest[1:]
    link.chain_info = {**(link.chain_info or info), "previous": job.job_id}
    link.batch_id = job.batch_id
    link.enqueued_at = None  # enqueued now, not when the chain was built
    return link


def has_successor(job: Job) -> bool:
    """Whether ``job`` is a chain link with a link after it (it then stores its result)."""
    return bool(job.chain)


def cancelled_records(job: Job, reason: str) -> list[JobRecord]:
    """``cancelled`` records for the links after ``job``, which ended ``reason`` (failed, dead,
    discarded, cancelled). Those links were never enqueued: no batch counts them."""
    return _broken(job.job_id, job.chain or [], reason)


def broken_records(payload: bytes | dict[str, Any] | None, reason: str) -> list[JobRecord]:
    """`cancelled_records` for a link the backend ends itself (a waiting link cancelled or
    discarded, a poison pill sent dead), from its stored payload: the backend writes them in
    the step that ends the link. Empty for a job that is no chain link with a successor, and
    for a payload that cannot be read (a raw payload: the backend's own record says why)."""
    if payload is None:
        return []
    if isinstance(payload, bytes):
        if b'"chain":[{' not in payload:
            return []  # no successor: the common case costs one substring search, no decode
        from jobframe.backend.payload import load_payload

        try:
            payload = load_payload(payload, max_bytes=len(payload))
        except DeserializationError:  # unreadable: no chain to stop
            return []
    if not isinstance(payload, dict):
        return []
    rest, job_id = payload.get("chain"), payload.get("job_id")
    if not rest or not isinstance(rest, list) or not isinstance(job_id, str):
        return []
    return _broken(job_id, rest, reason)


def _broken(job_id: str, rest: list[Any], reason: str) -> list[JobRecord]:
    from jobframe.job.base import Job as JobBase
    from jobframe.tracking.records import build

    error = {
        "class": "jobframe.ChainBroken",
        "message": f"the chain stopped: link {job_id} before it ended {reason}",
        "reason": "chain broken",
    }
    found: list[JobRecord] = []
    for payload in rest:
        try:
            link: Job = JobBase.deserialize(payload)
        except (UnknownJobError, DeserializationError):  # not importable here (a dashboard)
            found += _bare(payload, error)
            continue
        link.batch_id = None
        found.append(build(link.job_id, "cancelled", link, error=error))
    return found


def _bare(payload: Any, error: dict[str, Any]) -> list[JobRecord]:
    """The record of a link whose class is not importable here, from its payload's fields."""
    from jobframe.tracking.records import build

    if not isinstance(payload, dict) or not isinstance(payload.get("job_id"), str):
        return []
    extra = {"job_class": payload.get("job_class"), "queue": payload.get("queue_name"),
             "attempts": 0}  # fmt: skip
    return [build(payload["job_id"], "cancelled", error=error, extra=extra)]


__all__ = ["Chain", "broken_records", "cancelled_records", "chain", "has_successor", "next_link"]
