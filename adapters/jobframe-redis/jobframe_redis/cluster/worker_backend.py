"""`ClusterWorkerBackend`: a `RedisWorkerBackend` per queue keyspace, driven per slot.

A fetch asks each queue's keyspace in the worker's queue order, one script each (the
single-node FETCH, unchanged), until it has ``limit`` jobs. With nothing anywhere it registers
as an idle fetcher in every keyspace and blocks on all of them at once (one BLPOP per keyspace
on a connection of its own, `ClusterWire.wait_any`): an enqueue hands it a job or wakes it
without any polling, whichever master the queue lives on. Registered in several keyspaces, it
may be handed a job by more than one: the extra claims are kept here and returned by the next
fetch (they are this process's claims in Redis: the reaper gives them back should it die).

Outcomes, releases and deferrals go to the keyspace of the claim's queue; heartbeats to every
keyspace this process fetched from (each one's reaper reads its own); the reaper and the
scheduler (`maintain`) run once per keyspace; rate limits live in the root keyspace.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import redis
from redis.exceptions import RedisClusterException

from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe.worker.execution import current_claim
from jobframe_redis.cluster.keyspaces import NAMES_TTL
from jobframe_redis.connection import Store, now_ms
from jobframe_redis.wire import pack
from jobframe_redis.worker_backend import RedisWorkerBackend, job_id_of

if TYPE_CHECKING:
    from jobframe_redis.cluster.adapter import RedisClusterAdapter


class ClusterWorkerBackend(WorkerBackend):
    throttles = True
    cancels = True
    records = True

    def __init__(self, adapter: RedisClusterAdapter) -> None:
        self.adapter = adapter
        self.spaces = adapter.spaces
        self.backends: dict[str, RedisWorkerBackend] = {}
        self.root = RedisWorkerBackend(self.spaces.root)
        self.process: ProcessInfo | None = None
        self.registered: set[str] = set()
        self.extra: list[Claim] = []
        self.tokens: dict[str, str] = {}  # token of a running claim -> its queue

    def _backend(self, process_id: str | None, queue: str) -> RedisWorkerBackend:
        backend = self.backends.get(queue)
        if backend is None:
            backend = self.backends.setdefault(queue, RedisWorkerBackend(self.spaces.of(queue)))
        if process_id is not None and queue not in self.registered:
            if self.process is not None and self.process.id == process_id:
                backend.register(self.process)
            self.registered.add(queue)
        return backend

    def register(self, process: ProcessInfo) -> None:
        self.process = process
        self.root.register(process)

    def heartbeat(self, process_id: str) -> None:
        stores = [self.spaces.root, *(self.spaces.of(q) for q in sorted(self.registered))]
        ms = now_ms()
        with self.spaces.client.pipeline(transaction=False) as pipe:
            for store in stores:
                pipe.zadd(store.keys.processes, {process_id: ms})
            pipe.execute()

    def deregister(self, process_id: str) -> None:
        self.extra.clear()  # their ids are in the claims sets: released just below
        for queue in sorted(self.registered):
            self._backend(None, queue).deregister(process_id)
        self.root.deregister(process_id)

    # -- fetching ------------------------------------------------------------------------------

    def _queues(self, queues: list[str]) -> list[str]:
        if queues == ["*"]:
            return self.spaces.names()
        return queues

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        names = self._queues(queues)
        if not names:
            # a "*" worker before any queue exists: nothing to block on, so wait out the fetch
            # timeout (bounded by how often the list of queues is read again)
            time.sleep(min(timeout, NAMES_TTL))
            return []
        claims, up = self._round(process_id, names, limit, 0)
        if claims or timeout <= 0 or not up:
            return self._keep(claims, limit)
        if len(up) == 1:
            got = self._backend(process_id, up[0]).fetch(process_id, up, limit, timeout)
            return self._keep(got, limit)
        # Register as an idle fetcher everywhere (a job enqueued meanwhile is claimed here),
        # then block on every keyspace at once.
        claims, up = self._round(process_id, up, limit, timeout)
        if claims or not up:
            return self._keep(claims, limit)
        waits = []
        for name in up:
            store = self.spaces.of(name)
            keys = store.keys
            command = pack(("BLPOP", keys.inbox(process_id), keys.wake, timeout))
            waits.append((store.wire.slot, command))  # type: ignore[union-attr]
        replies = self.spaces.wire.wait_any(waits, timeout)
        for name, reply in zip(up, replies, strict=True):
            if reply is None:
                continue
            key, value = reply
            backend = self._backend(process_id, name)
            if key.decode() == self.spaces.of(name).keys.inbox(process_id):
                backend._wait_id = uuid.uuid4().hex
                id, token, queue, payload = value.split(b"|", 3)
                claims.append(Claim(id.decode(), token.decode(), queue.decode(), payload))
        if not any(reply is not None for reply in replies):
            return []
        # Woken: a round with every keyspace asked (limit 0 where full) also drains the
        # inboxes and ends the idle registrations elsewhere.
        more, _ = self._round(process_id, names, limit - len(claims), 0, drain=True)
        return self._keep(claims + more, limit)

    def _round(
        self, process_id: str, names: list[str], limit: int, timeout: float, drain: bool = False
    ) -> tuple[list[Claim], list[str]]:
        """Claims from each keyspace in turn, and the names of those that answered. One that
        does not (its master is failing over) is left out of this round: raising would drop
        the claims the others made, which only the reaper could give back. Raises only when
        no keyspace answered and nothing was claimed."""
        claims = self.extra[:limit]
        del self.extra[: len(claims)]
        up: list[str] = []
        failure: Exception | None = None
        for name in names:
            want = limit - len(claims)
            if want <= 0 and not drain:
                break
            backend = self._backend(process_id, name)
            try:
                claims += backend._fetch(process_id, [name], max(want, 0), timeout)
            except (redis.RedisError, RedisClusterException) as exc:
                failure = exc
                continue
            up.append(name)
        if failure is not None and not claims and not up:
            raise failure
        return claims, up

    def _keep(self, claims: list[Claim], limit: int) -> list[Claim]:
        """At most ``limit`` claims now; the others wait here for the next fetch."""
        if len(claims) > limit:
            self.extra += claims[limit:]
            claims = claims[:limit]
        for claim in claims:
            self.tokens[claim.token] = claim.queue
            job_id = job_id_of(claim.payload)
            if job_id:
                self.adapter.locator.remember(job_id, claim.queue)
        return claims

    # -- outcomes ------------------------------------------------------------------------------

    def _by_queue(self, claims: list[Any], claim_of: Any) -> dict[str, list[Any]]:
        groups: dict[str, list[Any]] = {}
        for item in claims:
            claim = claim_of(item)
            self.tokens.pop(claim.token, None)
            groups.setdefault(claim.queue, []).append(item)
        return groups

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """Each queue's outcomes in one script in its keyspace. A retry bound for another
        queue (an operator's retry_entry outside any claim) is enqueued first, on its own."""
        for queue, group in self._by_queue(outcomes, lambda o: o.claim).items():
            for outcome in group:
                for retry in outcome.retries:
                    if retry[1] != queue:
                        self.adapter._send_one(retry)
            group = [_same_queue(o, queue) for o in group]
            self._backend(process_id, queue).complete(process_id, group)

    def retry_entry(self, job: Any, adapter: Any) -> Any | None:
        """A retry bound for the claim's own queue goes with its outcome (same slot)."""
        from jobframe_redis.adapter import entry

        if not isinstance(adapter, type(self.adapter)):
            return None
        if adapter.spaces.prefix != self.spaces.prefix or adapter.spaces.url != self.spaces.url:
            return None
        claim = current_claim.get()
        if claim is not None and claim.queue != job.queue_name:
            return None
        return entry(job, job.scheduled_at)

    def release(self, process_id: str, claims: list[Claim]) -> None:
        for queue, group in self._by_queue(claims, lambda c: c).items():
            self._backend(process_id, queue).release(process_id, group)

    def defer(self, process_id: str, claim: Claim, at: float, payload: bytes) -> None:
        self.tokens.pop(claim.token, None)
        self._backend(process_id, claim.queue).defer(process_id, claim, at, payload)

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        """The single-node maintenance (promotions, reaper) once per keyspace this process
        fetches from (every keyspace before its first fetch), and the root; summed. A queue no
        live worker serves has its due jobs promoted and its dead workers' claims reaped by
        the first worker that serves it again: the cost grows with the queues served, not with
        every queue of the cluster."""
        total: dict[str, int] = {}
        served = sorted(self.registered)
        stores = [self.spaces.root, *map(self.spaces.of, served)] if served else self.spaces.all()
        for store in stores:
            backend = self._keyspace_backend(store)
            for name, count in backend.maintain(heartbeat_timeout, max_crashes).items():
                total[name] = total.get(name, 0) + int(count)
        return total

    def _keyspace_backend(self, store: Store) -> RedisWorkerBackend:
        queue = self.spaces.queue_of(store)
        return self.root if queue is None else self._backend(None, queue)

    def reserve(self, key: str, interval: float) -> float:
        return self.root.reserve(key, interval)

    def cancelled(self, process_id: str, tokens: list[str]) -> set[str]:
        groups: dict[str, list[str]] = {}
        for token in tokens:
            queue = self.tokens.get(token)
            for name in [queue] if queue is not None else list(self.registered):
                groups.setdefault(name, []).append(token)
        flagged: set[str] = set()
        for queue, group in groups.items():
            flagged |= self._backend(None, queue).cancelled(process_id, group)
        return flagged

    def wake(self) -> None:
        """Blocked fetches end within the fetch timeout (as on one node)."""


def _same_queue(outcome: Outcome, queue: str) -> Outcome:
    """``outcome`` with only the retries bound for ``queue`` (the others went on their own)."""
    retries = tuple(r for r in outcome.retries if r[1] == queue)
    if len(retries) == len(outcome.retries):
        return outcome
    from dataclasses import replace

    return replace(outcome, retries=retries)
