"""`RedisWorkerBackend`: the worker runtime's view of Redis (claims, outcomes, heartbeats)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, cast

from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe_redis import chains
from jobframe_redis.connection import Store, day_and_minute, now_ms
from jobframe_redis.results import history_ms, record_args
from jobframe_redis.timings import TTL_SECONDS, timing_args


class RedisWorkerBackend(WorkerBackend):
    """Implements `jobframe.backend.WorkerBackend` with the scripts in `scripts`."""

    throttles = True
    cancels = True
    #: `complete` writes `Outcome.records` in the outcome's script (complete.lua)
    records = True

    def __init__(
        self, store: Store, dead_max_size: int = 10_000, dead_max_age: float = 180 * 86400
    ) -> None:
        self.store = store
        self.dead_max_size = dead_max_size
        self.dead_max_age_ms = int(dead_max_age * 1000)
        self._fetch_id = uuid.uuid4().hex
        # Tokens of jobs handed to this process while it waits start with this id; it changes
        # only once a hand-off has reached us, so a hand-off whose reply was lost is found again.
        self._wait_id = uuid.uuid4().hex

    def register(self, process: ProcessInfo) -> None:
        keys = self.store.keys
        with self.store.client.pipeline() as pipe:
            pipe.hset(
                keys.process(process.id),
                mapping={
                    "hostname": process.hostname,
                    "pid": process.pid,
                    "queues": ",".join(process.queues),
                    "concurrency": process.concurrency,
                    "started_at": process.started_at,
                },
            )
            pipe.zadd(keys.processes, {process.id: now_ms()})
            pipe.execute()

    def heartbeat(self, process_id: str) -> None:
        self.store.client.zadd(self.store.keys.processes, {process_id: now_ms()})

    def deregister(self, process_id: str) -> None:
        keys, client = self.store.keys, cast(Any, self.store.client)
        # First stop being an idle fetcher, so no job is handed to us past this point; jobs
        # already in the inbox are claims like any other and are released below.
        self.store.run(self.store.unwait, [keys.waiting], [process_id])
        # The runtime has completed or released every claim it knows of. Any left were made by a
        # fetch whose reply never arrived: put them back rather than strand them as "running".
        ids = sorted(client.smembers(keys.claims(process_id)))
        entries = client.hmget(keys.inflight, ids) if ids else []
        orphans = [
            Claim(id.decode(), entry.decode().split("|", 1)[0], "", b"")
            for id, entry in zip(ids, entries, strict=True)
            if entry is not None
        ]
        if orphans:
            self.release(process_id, orphans)
        with client.pipeline() as pipe:
            pipe.zrem(keys.processes, process_id)
            # one DEL per key: a cluster pipeline (jobframe_redis.cluster) takes no multi-key DEL
            for key in (keys.process(process_id), keys.claims(process_id), keys.inbox(process_id)):
                pipe.delete(key)
            pipe.execute()

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        claims = self._fetch(process_id, queues, limit, timeout)
        if claims or timeout <= 0:
            return claims
        # Nothing ready: we are registered as an idle fetcher. Sleep in Redis until an enqueue
        # hands us a job (our inbox) or pushes a wake-up token (a retry, a promotion, a resume).
        keys = self.store.keys
        popped = self.store.blpop([keys.inbox(process_id), keys.wake], timeout)
        if popped is None:
            return []
        key, value = popped
        if key.decode() != keys.inbox(process_id):
            return self._fetch(process_id, queues, limit, 0)
        self._wait_id = uuid.uuid4().hex
        id, token, queue, payload = value.split(b"|", 3)
        return [Claim(id.decode(), token.decode(), queue.decode(), payload)]

    def _fetch(
        self, process_id: str, queues: list[str], limit: int, timeout: float = 0
    ) -> list[Claim]:
        store = self.store
        wait_until = now_ms() + int(timeout * 1000) if timeout > 0 else 0
        reply = store.run(
            store.fetch,
            store.fetch_keys(),
            [
                store.stem,
                process_id,
                limit,
                now_ms(),
                self._fetch_id,
                self._wait_id,
                wait_until,
                *queues,
            ],
        )
        # Only a call whose reply arrived gets a new id: one that raised may still have claimed
        # jobs in Redis, and the next call (like redis-py's own retries) gets those back.
        self._fetch_id = uuid.uuid4().hex
        return [
            Claim(reply[i].decode(), reply[i + 1].decode(), reply[i + 2].decode(), reply[i + 3])
            for i in range(0, len(reply), 4)
        ]

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """complete.lua: each outcome settled with its retries and records, and, when it
        performed, counted in its class's run times of this minute (`jobframe_redis.timings`)."""
        store = self.store
        ms = now_ms()
        day, minute = day_and_minute(ms)
        args: list[Any] = [
            store.stem,
            process_id,
            ms,
            day,
            minute,
            self.dead_max_size,
            self.dead_max_age_ms,
            TTL_SECONDS,
        ]
        for outcome in outcomes:
            info = b"" if outcome.status == "done" else _dead_info(outcome)
            claim = outcome.claim
            args += [claim.id, claim.token, outcome.status, info, job_id_of(claim.payload)]
            args += timing_args(outcome)
            args.append(len(outcome.retries))
            for entry in outcome.retries:
                args.extend(entry)
            args.append(len(outcome.records))
            for record in outcome.records:
                args += record_args(record)
        store.run(store.complete, store.complete_keys(), args)

    def retry_entry(self, job: Any, adapter: Any) -> Any | None:
        """The retry as an enqueue entry, when it goes to this very store."""
        from jobframe_redis.adapter import RedisAdapter, entry

        same = isinstance(adapter, RedisAdapter) and adapter.store.keys == self.store.keys
        if not same or adapter.store.url != self.store.url:
            return None
        return entry(job, job.scheduled_at)

    def release(self, process_id: str, claims: list[Claim]) -> None:
        store = self.store
        args: list[Any] = [store.stem, process_id]
        for claim in claims:
            args += [claim.id, claim.token]
        store.release(keys=[store.keys.inflight, store.keys.wake], args=args)

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        """maintain.lua: promotions, the reaper (a poison pill gets its ``dead`` record, its
        chain's later links ``cancelled`` ones: `jobframe_redis.chains`), the
        concurrency limits' upkeep. Records and finished batches expire by themselves."""
        store = self.store
        args = [store.stem, now_ms(), int(heartbeat_timeout * 1000), max_crashes, 1000,
                history_ms()]  # fmt: skip
        found = chains.run(store, store.maintain, store.maintain_keys(), args, "dead")
        promoted, reaped, requeued, dead = found
        return {"promoted": promoted, "reaped": reaped, "requeued": requeued, "dead": dead}

    def reserve(self, key: str, interval: float) -> float:
        """The next start of rate limit ``key`` (epoch seconds, by the Redis server's clock),
        reserved in one script (see reserve.lua)."""
        store = self.store
        start = store.run(store.reserve, [], [store.stem, key, interval * 1000])
        return int(start) / 1e6

    def defer(self, process_id: str, claim: Claim, at: float, payload: bytes) -> None:
        """Give ``claim`` back as scheduled at ``at`` with ``payload``, one script (defer.lua):
        no attempt or crash counted, one ``throttled`` in the history, its slot freed."""
        store, k = self.store, self.store.keys
        day, minute = day_and_minute(now_ms())
        args = [store.stem, process_id, claim.id, claim.token, int(at * 1000), payload]
        store.run(store.defer, [k.jobs, k.inflight, k.scheduled, k.wake], [*args, day, minute])

    def cancelled(self, process_id: str, tokens: list[str]) -> set[str]:
        """The tokens among ``tokens`` whose job `RedisInspector.cancel` flagged."""
        if not tokens:
            return set()
        # a token is "<fetch id>:<job's backend id>"; the flags are kept by backend id
        ids = [token.split(":", 1)[1] for token in tokens]
        flags = self.store.client.smismember(self.store.keys.cancel, ids)
        return {token for token, flag in zip(tokens, flags, strict=True) if flag}

    def wake(self) -> None:
        """Blocked fetches time out within the fetch timeout; tokens are not stolen from peers."""


#: jobframe's payloads start with these fields (`jobframe.job.core.Core.serialize`)
_JOB_ID = re.compile(rb'\{"version":\d+,"job_class":"[^"\\]*","job_id":"([^"\\]*)"')


def job_id_of(payload: bytes) -> str:
    """The job_id at the head of a payload jobframe wrote (0.4 µs here, where the script would
    spend 2.7 µs of the server's single thread), or "": the script then reads the payload."""
    found = _JOB_ID.match(payload)
    return found.group(1).decode() if found else ""


def _dead_info(outcome: Outcome) -> bytes:
    info = dict(outcome.error or {})
    info["attempts"] = outcome.attempts
    if outcome.status == "dead":
        info.setdefault("reason", "could not be loaded")
    return json.dumps(info).encode()
