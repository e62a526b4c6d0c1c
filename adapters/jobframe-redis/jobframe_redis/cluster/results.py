"""`ClusterResults`: the single-node `RedisResults` of the keyspace that holds each job.

A job's record, progress and wake-up list sit in its queue's keyspace, next to the job, so the
scripts that end a job write them in the same slot (complete.lua, unchanged). Which keyspace
that is comes from the `Locator` (free for jobs this process enqueued or fetched; one pipelined
probe, one round trip per master, for the others). A record of a job no queue knows (an inline
run's) goes to the root keyspace. Batches are not declared on a cluster (see the adapter).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from jobframe.backend.results import JobRecord, JobState, ResultStore
from jobframe_redis.connection import Store
from jobframe_redis.results import WAIT_SLICE, RedisResults

if TYPE_CHECKING:
    from jobframe_redis.cluster.adapter import RedisClusterAdapter


class ClusterResults(ResultStore):
    def __init__(self, adapter: RedisClusterAdapter) -> None:
        self.spaces = adapter.spaces
        self.locator = adapter.locator
        self._stores: dict[str, RedisResults] = {}

    def of(self, store: Store) -> RedisResults:
        results = self._stores.get(store.keys.prefix)
        if results is None:
            results = self._stores.setdefault(store.keys.prefix, RedisResults(store))
        return results

    def _where(self, job_id: str) -> RedisResults:
        return self.of(self.locator.find(job_id) or self.spaces.root)

    def status(self, job_id: str) -> JobState:
        return self._where(job_id).status(job_id)

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """`RedisResults.wait` in the job's keyspace; a job no keyspace knows yet (its enqueue
        is on its way) is looked for again every `WAIT_SLICE` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            store = self.locator.find(job_id)
            left = deadline - time.monotonic()
            if store is not None or left <= 0:
                return self.of(store or self.spaces.root).wait(job_id, max(left, 0.0))
            time.sleep(min(WAIT_SLICE, left))

    def progress(self, job_id: str, data: bytes, ttl: float) -> None:
        self._where(job_id).progress(job_id, data, ttl)

    def write(self, records: list[JobRecord]) -> None:
        """One script per keyspace, with its records."""
        groups: dict[str, tuple[RedisResults, list[JobRecord]]] = {}
        for record in records:
            results = self._where(record.job_id)
            groups.setdefault(results.store.keys.prefix, (results, []))[1].append(record)
        for results, group in groups.values():
            results.write(group)


__all__ = ["ClusterResults"]
