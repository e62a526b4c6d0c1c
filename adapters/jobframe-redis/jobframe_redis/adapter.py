"""`RedisAdapter`: enqueue into Redis with one script call per job or per batch."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.payload import check_raw
from jobframe.errors import DuplicateJobError, EnqueueError, InvalidOptionError
from jobframe.job.queue_priority import PRIORITY_RANGE
from jobframe.redact import mask_secrets, mask_url
from jobframe_redis.connection import Store, dump

if TYPE_CHECKING:
    from jobframe.doctor import Problem
    from jobframe.job.base import Job
    from jobframe_redis.inspector import RedisInspector
    from jobframe_redis.recurring import RedisRecurring
    from jobframe_redis.results import RedisResults
    from jobframe_redis.worker_backend import RedisWorkerBackend

BULK_CHUNK = 1000

#: What the enqueue scripts take per job: id, queue, priority, run at (epoch ms, 0: now),
#: payload, job_id and batch id ("" for none: the scripts then read them from the payload).
Entry = tuple[str, str, int, int, bytes, str, str]

#: A job_id that may be the stored id itself: no separator the keys' members use ('|', ':').
_PLAIN_ID = re.compile(r"[0-9A-Za-z_.-]{1,64}")


def stored_id(job: Job) -> str:
    """The id a job is stored under: its own job_id on its first enqueue, so `status` finds it in
    ``{p}:jobs`` without a ``{p}:ids`` entry (112 B per waiting job, measured); a new provider id
    for a retry or a re-enqueue (the job it repeats may still be stored under the job_id)."""
    if job.executions == 0 and job.provider_job_id is None and _PLAIN_ID.fullmatch(job.job_id):
        return job.job_id
    return new_id()


def entry(job: Job, at: datetime | None) -> Entry:
    priority = 0 if job.priority is None else job.priority
    if priority not in PRIORITY_RANGE:  # the core checks it too (validate_priority): a backstop
        raise InvalidOptionError(
            f"the redis adapter takes priorities from -2048 to 2047, got {priority}."
        )
    if "|" in job.queue_name:
        raise InvalidOptionError(f"queue names may not contain '|' (got {job.queue_name!r}).")
    job.provider_job_id = stored_id(job)
    run_at = 0 if at is None else int(at.timestamp() * 1000)
    payload = dump(job.serialize())
    batch = job.batch_id or ""
    return (job.provider_job_id, job.queue_name, priority, run_at, payload, job.job_id, batch)


def duplicate(job: Job) -> DuplicateJobError:
    """The error for ``job``, which ENQUEUE refused: another job holds its unique lock."""
    job.provider_job_id = None  # nothing of it was stored
    key = job.flow.unique.key if job.flow is not None and job.flow.unique is not None else ""
    return DuplicateJobError(
        f"{type(job).__name__} {job.job_id} was not enqueued: an equal job holds its unique "
        f"lock {key!r}, until that job reaches its `until` point or the lock lapses.",
        key,
    )


class EntryEnqueuing:
    """`enqueue`, `enqueue_at` and `enqueue_raw` as one script entry each, for the single-node
    adapter and the cluster's: the subclass sends an entry with ``_send_one``."""

    def _send_one(self, item: Entry) -> Any:
        raise NotImplementedError

    def enqueue(self, job: Job) -> None:
        """Raises: DuplicateJobError: ``@jobframe.unique`` and an equal job holds the lock."""
        if isinstance(self._send_one(entry(job, None)), list):
            raise duplicate(job)

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        """Raises: DuplicateJobError: ``@jobframe.unique`` and an equal job holds the lock."""
        if isinstance(self._send_one(entry(job, timestamp)), list):
            raise duplicate(job)

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Store ``payload`` as is as a ready job on ``queue`` (see `QueueAdapter.enqueue_raw`)."""
        name, data = check_raw(queue, payload)
        if "|" in name:
            raise InvalidOptionError(f"queue names may not contain '|' (got {name!r}).")
        id = new_id()
        # job_id and batch unknown: the script reads them from the payload, if it has them
        if isinstance(self._send_one((id, name, 0, 0, data, "", "")), list):
            # a payload that asks for a unique lock another job holds (its "flow")
            raise DuplicateJobError(
                "the raw payload was not enqueued: an equal job holds the unique lock its "
                "'flow' names.",
            )
        return id


class RedisAdapter(EntryEnqueuing, QueueAdapter):
    """Options: ``url`` (default ``redis://127.0.0.1:6379/0``), ``prefix`` (default
    ``jobframe``), and redis-py client options (``socket_timeout``...)."""

    name = "redis"
    capabilities = Capabilities(
        bulk=True,
        raw_payloads=True,
        durable=True,
        pause=True,
        recurring=True,
        unique=True,
        concurrency_limits=True,
        rate_limits=True,
        expiry=True,
        timeouts=True,
        cancel=True,
        results=True,
        batches=True,
        chains=True,
        continuations=True,
        timings=True,
    )

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "jobframe", **options: Any
    ) -> None:
        super().__init__(url=url, prefix=prefix, **options)
        self.store = Store(url, prefix, **options)
        self._results: RedisResults | None = None

    def _send_one(self, item: Entry) -> Any:
        try:
            return self.store.enqueue_one(item)
        except redis.RedisError as exc:
            raise EnqueueError(self._failure("the job", exc)) from exc

    def enqueue_each(self, jobs: Sequence[Job]) -> list[Exception | None]:
        """One pipeline of ENQUEUE calls, each acknowledged on its own: a refused job (a held
        unique lock, a script error) fails alone, a lost connection fails the jobs it carried."""
        if self.store.wire is None:
            return super().enqueue_each(jobs)
        outcomes: list[Exception | None] = [None] * len(jobs)
        sending: list[int] = []
        entries: list[Entry] = []
        for index, job in enumerate(jobs):
            try:
                entries.append(entry(job, job.scheduled_at))
            except Exception as exc:
                outcomes[index] = exc
            else:
                sending.append(index)
        try:
            replies = self.store.enqueue_many(entries) if entries else []
        except redis.RedisError as exc:
            replies = [exc] * len(entries)
        for index, reply in zip(sending, replies, strict=True):
            if isinstance(reply, redis.RedisError):
                error = EnqueueError(self._failure("the job", reply))
                error.__cause__ = reply
                outcomes[index] = error
            elif isinstance(reply, list):
                outcomes[index] = duplicate(jobs[index])
        return outcomes

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        entries = [entry(job, job.scheduled_at) for job in jobs]
        if len(entries) <= BULK_CHUNK:
            replies = [self._send(entries)]
        else:
            replies = self._send_chunks(entries)
        refused: set[int] = set()
        for chunk, reply in enumerate(replies):
            if isinstance(reply, list):  # 1-based positions in that chunk
                refused.update(chunk * BULK_CHUNK + int(n) - 1 for n in reply)
        for index, job in enumerate(jobs):
            if index in refused:
                job.enqueue_error = duplicate(job)
            else:
                job.successfully_enqueued = True
        return len(jobs) - len(refused)

    def _send(self, entries: list[Entry]) -> Any:
        store = self.store
        try:
            return store.run(store.enqueue, store.enqueue_keys, store.enqueue_args(entries))
        except redis.RedisError as exc:
            raise EnqueueError(self._failure("the job(s)", exc)) from exc

    def _send_chunks(self, entries: list[Entry]) -> list[Any]:
        """Large batches: several script calls in one pipeline (one round trip, not atomic)."""
        store = self.store
        try:
            with store.client.pipeline(transaction=False) as pipe:
                for start in range(0, len(entries), BULK_CHUNK):
                    chunk = entries[start : start + BULK_CHUNK]
                    store.enqueue(
                        keys=store.enqueue_keys, args=store.enqueue_args(chunk), client=pipe
                    )
                return list(pipe.execute())
        except redis.RedisError as exc:
            raise EnqueueError(self._failure("the jobs", exc)) from exc

    def _failure(self, what: str, exc: Exception) -> str:
        url = self.store.url
        return f"Redis at {mask_url(url)} did not take {what}: {mask_secrets(str(exc), url)}"

    def worker_backend(self) -> RedisWorkerBackend:
        from jobframe_redis.worker_backend import RedisWorkerBackend

        return RedisWorkerBackend(self.store)

    def inspector(self) -> RedisInspector:
        from jobframe_redis.inspector import RedisInspector

        return RedisInspector(self.store)

    def recurring(self) -> RedisRecurring:
        """Tick marks in Redis, claimed with the job's enqueue in one script: schedulers in
        every process and on every host that share this server and prefix claim each tick once."""
        from jobframe_redis.recurring import RedisRecurring

        return RedisRecurring(self)

    def results(self) -> RedisResults:
        """Status, records, progress and batches under this adapter's prefix (one store per
        adapter; see `jobframe_redis.results`)."""
        if self._results is None:
            from jobframe_redis.results import RedisResults

            self._results = RedisResults(self.store)
        return self._results

    def check(self) -> list[Problem]:
        """Whether the server keeps jobs across a restart (AOF or RDB save points) and never
        evicts them (``maxmemory-policy noeviction``); see `jobframe_redis.doctor`."""
        from jobframe_redis.doctor import check

        return check(self.store.client)

    def shutdown(self, timeout: float | None = None) -> None:
        self.store.close()
