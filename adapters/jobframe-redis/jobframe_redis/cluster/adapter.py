"""`RedisClusterAdapter`: jobframe on a Redis Cluster, one hash tag (one slot) per queue.

See `jobframe_redis.cluster.keyspaces` for the layout and docs/redis.md ("Redis Cluster") for
what works per slot and what this adapter does not declare.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis.exceptions import RedisClusterException

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.errors import (
    ConfigurationError,
    EnqueueError,
)
from jobframe.redact import mask_secrets, mask_url
from jobframe_redis.adapter import BULK_CHUNK, Entry, EntryEnqueuing, entry
from jobframe_redis.cluster.keyspaces import Keyspaces
from jobframe_redis.cluster.locator import Locator
from jobframe_redis.connection import Store
from jobframe_redis.wire import pack

if TYPE_CHECKING:
    from jobframe.doctor import Problem
    from jobframe.job.base import Job
    from jobframe_redis.cluster.inspector import ClusterInspector
    from jobframe_redis.cluster.recurring import ClusterRecurring
    from jobframe_redis.cluster.results import ClusterResults
    from jobframe_redis.cluster.worker_backend import ClusterWorkerBackend

DURABLE = ("replicas",)


class RedisClusterAdapter(EntryEnqueuing, QueueAdapter):
    """Options: ``url`` (``redis+cluster://host:port[,host:port...]``), ``prefix`` (default
    ``jobframe``), ``durable`` (``"replicas"``: every enqueue waits until a replica has it,
    see `WAIT`), ``durable_timeout`` (seconds that wait may take, default 1), and redis-py
    client options (``socket_timeout``...).

    Not declared (they need one atomic step across queues, which would be a multi-slot script):
    ``unique`` and ``concurrency_limits`` (their locks are per key, whatever the queue),
    ``batches`` and ``chains`` (a batch's or a chain's jobs may sit on several queues).
    """

    name = "redis-cluster"
    capabilities = Capabilities(
        bulk=True,
        raw_payloads=True,
        durable=True,
        pause=True,
        recurring=True,
        rate_limits=True,
        expiry=True,
        timeouts=True,
        cancel=True,
        results=True,
        continuations=True,
        timings=True,
    )

    def __init__(
        self,
        url: str = "redis+cluster://127.0.0.1:7000",
        prefix: str = "jobframe",
        durable: str | None = None,
        durable_timeout: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(url=url, prefix=prefix, **options)
        if durable not in (None, "", "none", *DURABLE):
            raise ConfigurationError(
                f"the redis-cluster adapter's durable option is {durable!r}: use 'replicas' "
                "(each enqueue waits until a replica has the job) or leave it out."
            )
        self.spaces = Keyspaces(url, prefix, **options)
        self.locator = Locator(self.spaces)
        self.durable = durable in DURABLE
        self.wait_ms = max(1, int(durable_timeout * 1000))
        self._results: ClusterResults | None = None

    # -- enqueue -------------------------------------------------------------------------------

    def _send_one(self, item: Entry) -> Any:
        queue = item[1]
        try:
            store = self.spaces.writing(queue)
            command = store.enqueue_command(item)
            wire: Any = store.wire
            if not self.durable:
                reply = wire.request(command)
            else:
                reply, acks = wire.exchange(command, pack(("WAIT", 1, self.wait_ms)), 2)
                self._check_acks(acks, 1)
        except redis.exceptions.NoScriptError:
            self._load(store)
            return self._send_one(item)
        except (redis.RedisError, RedisClusterException) as exc:
            raise EnqueueError(self._failure("the job", exc)) from exc
        if item[5]:
            self.locator.remember(item[5], queue)
        return reply

    def _load(self, store: Store) -> None:
        wire: Any = store.wire
        try:
            wire.call("SCRIPT", "LOAD", store.enqueue.script)
        except (redis.RedisError, RedisClusterException) as exc:
            raise EnqueueError(self._failure("the job", exc)) from exc

    def _check_acks(self, acks: Any, jobs: int) -> None:
        if isinstance(acks, Exception) or int(acks) < 1:
            raise EnqueueError(
                f"the Redis Cluster at {mask_url(self.spaces.url)} stored {jobs} job(s) on a "
                f"master but no replica acknowledged them within {self.wait_ms} ms "
                "(durable = 'replicas'): a failover now could lose them. Check that every "
                "master has a live replica, or raise durable_timeout. The job(s) may still run: "
                f"enqueue again only if a duplicate is harmless. ({acks})"
            )

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        """Grouped per queue: one script call per queue and chunk, each in its queue's slot
        (atomic per queue and chunk, not across queues)."""
        by_queue: dict[str, list[tuple[int, Entry]]] = {}
        for index, job in enumerate(jobs):
            item = entry(job, job.scheduled_at)
            by_queue.setdefault(item[1], []).append((index, item))
        for queue, items in by_queue.items():
            store = self.spaces.writing(queue) if items else None
            assert store is not None
            for start in range(0, len(items), BULK_CHUNK):
                chunk = items[start : start + BULK_CHUNK]
                self._send_chunk(store, [item for _, item in chunk])
                for index, item in chunk:
                    jobs[index].successfully_enqueued = True
                    if item[5]:
                        self.locator.remember(item[5], queue)
        return len(jobs)

    def _send_chunk(self, store: Store, entries: list[Entry]) -> None:
        try:
            args = store.enqueue_args(entries)
            if not self.durable:
                store.run(store.enqueue, store.enqueue_keys, args)
                return
            keys = store.enqueue_keys
            command = pack(("EVALSHA", store.enqueue.sha, len(keys), *keys, *args))
            wire: Any = store.wire
            try:
                _, acks = wire.exchange(command, pack(("WAIT", 1, self.wait_ms)), 2)
            except redis.exceptions.NoScriptError:
                wire.call("SCRIPT", "LOAD", store.enqueue.script)
                _, acks = wire.exchange(command, pack(("WAIT", 1, self.wait_ms)), 2)
            self._check_acks(acks, len(entries))
        except (redis.RedisError, RedisClusterException) as exc:
            raise EnqueueError(self._failure("the jobs", exc)) from exc

    def _failure(self, what: str, exc: Exception) -> str:
        url = self.spaces.url
        return (
            f"the Redis Cluster at {mask_url(url)} did not take {what}: "
            f"{mask_secrets(str(exc), url)}"
        )

    # -- the other parts -----------------------------------------------------------------------

    def worker_backend(self) -> ClusterWorkerBackend:
        from jobframe_redis.cluster.worker_backend import ClusterWorkerBackend

        return ClusterWorkerBackend(self)

    def inspector(self) -> ClusterInspector:
        from jobframe_redis.cluster.inspector import ClusterInspector

        return ClusterInspector(self)

    def recurring(self) -> ClusterRecurring:
        """Each task's mark sits in its job's queue keyspace, claimed with the enqueue in one
        script (a task that moves to another queue starts a new mark there)."""
        from jobframe_redis.cluster.recurring import ClusterRecurring

        return ClusterRecurring(self)

    def results(self) -> ClusterResults:
        if self._results is None:
            from jobframe_redis.cluster.results import ClusterResults

            self._results = ClusterResults(self)
        return self._results

    def check(self) -> list[Problem]:
        """`jobframe_redis.doctor.check` on every master."""
        from jobframe_redis.doctor import check

        problems: list[Problem] = []
        for node in self.spaces.client.get_primaries():
            client = redis.Redis(host=node.host, port=node.port, **_auth(self.spaces))
            try:
                problems += check(client)
            finally:
                client.close()
        return problems

    def wipe(self) -> int:
        """Delete every key of this prefix on every master (tests); how many were deleted."""
        client = self.spaces.client
        found = 0
        for pattern in ("{" + self.spaces.prefix + "}*", "{" + self.spaces.prefix + ":*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            for key in keys:
                found += int(client.delete(key))
        return found

    def shutdown(self, timeout: float | None = None) -> None:
        self.spaces.close()


def _auth(spaces: Keyspaces) -> dict[str, Any]:
    from jobframe_redis.cluster.keyspaces import parse_url

    _, user, password = parse_url(spaces.url)
    return {"username": user, "password": password, "socket_timeout": 5}
