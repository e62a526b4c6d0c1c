"""`ClusterRecurring`: the single-node recurring claim, in the keyspace of the task's queue.

A task's mark is a field of ``{<prefix>:<queue>}:recurring``, next to the queue its job goes to,
so the claim and the enqueue stay one script in one slot (recurring.lua, unchanged). Schedulers
on every host claim each tick once as long as the task keeps its queue; a task moved to another
queue starts a new mark there (its first tick there may run although the old queue ran it).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.recurring import RecurringRun, RecurringStore
from jobframe_redis.recurring import RedisRecurring

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe_redis.cluster.adapter import RedisClusterAdapter


class _Space:
    """What `RedisRecurring` reads of its adapter: one keyspace's store and the error words."""

    def __init__(self, adapter: RedisClusterAdapter, queue: str) -> None:
        self.store = adapter.spaces.writing(queue)
        self._failure = adapter._failure


class ClusterRecurring(RecurringStore):
    def __init__(self, adapter: RedisClusterAdapter) -> None:
        self.adapter = adapter
        self._claims: dict[str, RedisRecurring] = {}

    def _of(self, queue: str) -> RedisRecurring:
        claim = self._claims.get(queue)
        if claim is None:
            space: Any = _Space(self.adapter, queue)
            claim = self._claims.setdefault(queue, RedisRecurring(space))
        return claim

    def claim(self, task: str, tick: datetime, job: Job) -> bool:
        """See `RedisRecurring.claim`: the same script in the keyspace of ``job``'s queue."""
        claimed = self._of(job.queue_name).claim(task, tick, job)
        if claimed:
            self.adapter.locator.remember(job.job_id, job.queue_name)
        return claimed

    def last_runs(self) -> dict[str, RecurringRun]:
        """Every task's latest mark over every queue's keyspace."""
        runs: dict[str, RecurringRun] = {}
        for name in self.adapter.spaces.names(fresh=True):
            for task, run in self._of(name).last_runs().items():
                if task not in runs or run.tick > runs[task].tick:
                    runs[task] = run
        return runs


__all__ = ["ClusterRecurring"]
