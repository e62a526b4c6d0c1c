"""`RedisRecurring`: the Redis adapter's `RecurringStore`.

A task's mark (its latest claimed tick, with the job enqueued for it) is a field of the
``{p}:recurring`` hash. A claim is one script: ``recurring.lua`` compares the tick with the mark
and, unless another job holds the job's ``@jobframe.unique`` lock, moves it; then the shared
enqueue (``enqueue.lua``, in `scripts.ENQUEUE_HEAD`) takes that lock and stores the job as a
ready job, so a recurring job has the keys, priority order, hand-off to an idle worker, job_id
index, batch count and payload of any other job. The
script text is assembled once, at import: one copy of the enqueue logic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING

import redis

from jobframe.backend.recurring import RecurringRun, RecurringStore
from jobframe.errors import EnqueueError
from jobframe_redis import scripts
from jobframe_redis.adapter import duplicate, entry
from jobframe_redis.connection import now_ms

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe_redis.adapter import RedisAdapter

CLAIM = (
    scripts.ENQUEUE_HEAD
    + "\n"
    + resources.files(__package__).joinpath("recurring.lua").read_text(encoding="utf-8")
)


def _mark(tick: datetime, enqueued_ms: int, provider_id: str, job_id: str) -> str:
    """A task's mark as stored: its tick first, as the script compares it."""
    return f"{int(tick.timestamp())}|{enqueued_ms}|{provider_id}|{job_id}"


def _text(value: bytes | str) -> str:
    """A reply as text (the client returns bytes; its stubs allow str too)."""
    return value.decode() if isinstance(value, bytes) else value


def _run(task: str, mark: str) -> RecurringRun:
    tick, enqueued, provider_id, job_id = mark.split("|", 3)
    return RecurringRun(
        task=task,
        tick=datetime.fromtimestamp(int(tick), UTC),
        job_id=job_id,
        enqueued_at=datetime.fromtimestamp(int(enqueued) / 1000, UTC),
        provider_id=provider_id,
    )


class RedisRecurring(RecurringStore):
    """Tick marks in ``{p}:recurring``; a claim and its enqueue are one Lua script."""

    def __init__(self, adapter: RedisAdapter) -> None:
        self.adapter = adapter
        store = adapter.store
        self.store = store
        self.script = store.client.register_script(CLAIM)
        self.keys = [*store.enqueue_keys, store.keys.recurring]

    def claim(self, task: str, tick: datetime, job: Job) -> bool:
        """Claim ``tick`` of ``task`` and enqueue ``job`` as ready, in one script call (see
        `RecurringStore.claim`).

        Raises:
            InvalidOptionError: the job's priority or queue name does not fit Redis.
            DuplicateJobError: ``@jobframe.unique`` and an equal job holds the lock; nothing
                was written (not the tick's mark either).
            EnqueueError: Redis did not answer or refused; nothing was written.
        """
        id, queue, priority, _, payload, job_id, batch = entry(job, None)
        enqueued = job.enqueued_at
        enqueued_ms = now_ms() if enqueued is None else int(enqueued.timestamp() * 1000)
        args = [
            self.store.stem,
            now_ms(),
            id,
            queue,
            priority,
            0,
            payload,
            job_id,
            batch,
            task,
            int(tick.timestamp()),
            _mark(tick, enqueued_ms, id, job.job_id),
        ]
        try:
            reply = self.store.run(self.script, self.keys, args)
        except redis.RedisError as exc:
            raise EnqueueError(self.adapter._failure(f"the claim of task {task!r}", exc)) from exc
        if isinstance(reply, list):  # @jobframe.unique: an equal job holds the lock
            raise duplicate(job)
        if int(reply) < 0:  # the tick is claimed already
            job.provider_job_id = None  # no job of that id was stored
            return False
        return True

    def last_runs(self) -> dict[str, RecurringRun]:
        """Every task's mark, read with one HGETALL."""
        runs: dict[str, RecurringRun] = {}
        for field, mark in self.store.client.hgetall(self.store.keys.recurring).items():
            task = _text(field)
            runs[task] = _run(task, _text(mark))
        return runs


__all__ = ["RedisRecurring"]
