"""Which keyspace holds a job, by its ``job_id`` (status, results, progress, cancel).

A job's index entry, record and progress live in its queue's keyspace. The hot path pays
nothing for finding them again: this process remembers the queue of every job it enqueued or
fetched (a bounded map, `REMEMBERED` entries, oldest dropped first). A job this process never
saw costs one probe: ``HEXISTS ids``, ``HEXISTS jobs`` (a job stored under its job_id) and
``EXISTS rec:``/``prog:`` in every keyspace, sent as one pipeline that redis-py splits per master
(one round trip per master, not per queue); the answer is remembered. Nothing is written at
enqueue for it: an index in the root slot would be a second write on another master for every
job, and could disagree with the job's own slot after a failover.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobframe_redis.cluster.keyspaces import Keyspaces
    from jobframe_redis.connection import Store

REMEMBERED = 10_000


class Locator:
    def __init__(self, spaces: Keyspaces) -> None:
        self.spaces = spaces
        self.queues: dict[str, str] = {}
        self.lock = threading.Lock()

    def remember(self, job_id: str, queue: str) -> None:
        queues = self.queues
        if job_id in queues:
            return
        with self.lock:
            queues[job_id] = queue
            if len(queues) > REMEMBERED:
                del queues[next(iter(queues))]

    def find(self, job_id: str) -> Store | None:
        """The keyspace that knows ``job_id`` (the root for a record of a job no queue holds),
        or None when none does."""
        queue = self.queues.get(job_id)
        if queue is not None:
            return self.spaces.of(queue)
        stores = self.spaces.all()
        with self.spaces.client.pipeline(transaction=False) as pipe:
            for store in stores:
                base = store.keys.base
                pipe.hexists(store.keys.ids, job_id)
                pipe.hexists(store.keys.jobs, job_id)  # stored under its job_id
                pipe.exists(f"{base}rec:{job_id}", f"{base}prog:{job_id}")
            replies = pipe.execute()
        for index, store in enumerate(stores):
            if any(replies[3 * index : 3 * index + 3]):
                name = self.spaces.queue_of(store)
                if name is not None:
                    self.remember(job_id, name)
                return store
        return None
