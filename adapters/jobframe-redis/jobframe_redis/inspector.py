"""`RedisInspector`: queues, jobs by state, the dead set, workers and counters, for the CLI and
the dashboard (`jobframe.backend.Inspector`)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from jobframe import payload_summary
from jobframe.backend.inspector import (
    CancelResult,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.backend.payload import PayloadError, load_payload
from jobframe.backend.timings import ClassTiming
from jobframe_redis import chains, timings
from jobframe_redis.connection import Store, day_and_minute, now_ms
from jobframe_redis.keys import each, ready_lists
from jobframe_redis.results import history_ms


def _text(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


def _error(raw: bytes) -> dict[str, Any] | None:
    """A dead job's error record (JSON written by the worker), safe to show."""
    try:
        return payload_summary.error(load_payload(raw)) if raw else None
    except PayloadError:
        return None


def _died(score: float) -> datetime:
    """The dead set's score: when the job failed, in epoch milliseconds."""
    return datetime.fromtimestamp(score / 1000, UTC)


class RedisInspector(Inspector):
    cancels = True

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client: Any = store.client  # redis-py replies are loosely typed: treat them as Any
        self.keys = store.keys

    def _names(self) -> list[str]:
        # A foreign producer may have written a name that is not UTF-8: show it escaped rather
        # than fail every page (jobframe itself writes only names that pass the queue-name rule).
        return sorted(_text(name) for name in self.client.smembers(self.keys.queues))

    def queues(self) -> list[QueueInfo]:
        paused = {_text(p) for p in self.client.smembers(self.keys.paused)}
        # A queue paused before its first job is listed too, as on SQL: the pause shows.
        names = sorted({*self._names(), *paused})
        lists = self._lists(names)
        sizes = iter(self._each("llen", [key for name in names for key in lists[name]]))
        firsts = [lists[name][0] if lists[name] else self.keys.ready(name, 0) for name in names]
        heads = self._each("lindex", firsts, 0)  # the next out: latency
        return [
            QueueInfo(name, sum(next(sizes) for _ in lists[name]), self._latency(h), name in paused)
            for name, h in zip(names, heads, strict=True)
        ]

    def _each(self, command: str, keys: list[str], *args: Any) -> list[Any]:
        return each(self.client, command, keys, *args)

    def _lists(self, names: list[str]) -> dict[str, list[str]]:
        return ready_lists(self.client, self.keys, names)

    def _latency(self, head: bytes | None) -> float:
        if not head:
            return 0.0
        enqueued = payload_summary.summarize(self.client.hget(self.keys.jobs, head)).enqueued_at
        return max(0.0, time.time() - enqueued.timestamp()) if enqueued else 0.0

    def _info(self, id: str, state: State, queue: str, raw: bytes | None, **extra: Any) -> JobInfo:
        data = payload_summary.summarize(raw)
        return JobInfo(
            id=id,
            state=state,
            queue=queue,
            job_class=data.job_class,
            job_id=data.job_id,
            arguments=data.arguments,
            priority=data.priority,
            enqueued_at=data.enqueued_at,
            scheduled_at=data.scheduled_at,
            executions=data.executions,
            raw=raw,
            **extra,
        )

    def _ids(
        self, state: State, queue: str | None, offset: int, limit: int
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, queue, extra) for one page of a state."""
        stop = offset + limit - 1
        k = self.keys
        if state == "ready":
            names = [queue] if queue else self._names()
            lists = self._lists(names)
            keys = [(name, key) for name in names for key in lists[name]]
            sizes = self._each("llen", [key for _, key in keys])
            out: list[tuple[str, str, dict[str, Any]]] = []
            skip = offset
            # page through the queues and their priorities in order without loading them whole
            for (name, key), size in zip(keys, sizes, strict=True):
                if skip >= size:
                    skip -= size
                elif len(out) < limit:
                    ids = self.client.lrange(key, skip, skip + limit - len(out) - 1)
                    out += [(i.decode(), name, {}) for i in ids]
                    skip = 0
            return out
        if state == "scheduled":
            members = self.client.zrange(k.scheduled, 0, -1 if queue else stop)
            rows = [m.decode().split("|") for m in members]
            rows = [r for r in rows if queue is None or r[1] == queue]
            return [(r[0], r[1], {}) for r in (rows[offset : stop + 1] if queue else rows[offset:])]
        if state == "blocked":
            held = [(i.decode(), v.decode().split("|", 2)) for i, v in self._blocked().items()]
            held.sort(key=lambda row: float(row[1][1]))  # their place in their queues
            rows = [(id, parts[0], {}) for id, parts in held if queue in (None, parts[0])]
            return rows[offset : stop + 1]
        if state == "dead":
            scored = self.client.zrevrange(k.dead, 0, -1 if queue else stop, withscores=True)
            ids = [i.decode() for i, _ in scored]
            infos = self.client.hmget(k.dead_info, ids) if ids else []
            rows = []
            for id, (_, died), info in zip(ids, scored, infos, strict=True):
                q, _, rest = (info or b"||").decode().split("|", 2)
                rows.append((id, q, {"error": _error(rest.encode()), "failed_at": _died(died)}))
            rows = [r for r in rows if queue is None or r[1] == queue]
            return rows[offset : stop + 1] if queue else rows[offset:]
        rows = []
        for id, value in self.client.hgetall(k.inflight).items():
            parts = value.decode().split("|")
            if queue is None or parts[2] == queue:
                rows.append((id.decode(), parts[2], {"worker": parts[1]}))
        return rows[offset : stop + 1]

    #: Redis has no server-side text search over hash values: the dashboard hides the field.
    supports_search = False

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        if search or job_class:
            raise ValueError(
                "the redis inspector cannot search arguments (supports_search is False)"
            )
        rows = self._ids(state, queue, offset, limit)
        raws = self.client.hmget(self.keys.jobs, [r[0] for r in rows]) if rows else []
        return [
            self._info(id, state, q, raw, **extra)
            for (id, q, extra), raw in zip(rows, raws, strict=True)
        ]

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        if search or job_class:
            raise ValueError(
                "the redis inspector cannot search arguments (supports_search is False)"
            )
        k = self.keys
        if state == "ready":
            names = [queue] if queue else self._names()
            lists = self._lists(names)
            return sum(self._each("llen", [key for n in names for key in lists[n]]))
        if queue is not None:
            return len(self._ids(state, queue, 0, 10**9))
        if state == "blocked":
            return int(self.client.hlen(k.blocked))
        key = {"scheduled": k.scheduled, "dead": k.dead}.get(state)
        return int(self.client.zcard(key)) if key else int(self.client.hlen(k.inflight))

    def pending(self) -> int:
        k = self.keys
        keys = [k.queues, k.scheduled, k.inflight]
        return int(self.store.run(self.store.pending, keys, [self.store.stem]))

    def job(self, id: str) -> JobInfo | None:
        """One job by its backend id, in whatever state it is."""
        k = self.keys
        raw = self.client.hget(k.jobs, id)
        if raw is None:
            return None
        died = self.client.zscore(k.dead, id)
        if died is not None:
            info = (self.client.hget(k.dead_info, id) or b"||").decode()
            queue, _, rest = info.split("|", 2)
            error = _error(rest.encode())
            return self._info(id, "dead", queue, raw, error=error, failed_at=_died(died))
        held = self.client.hget(k.inflight, id)
        if held is not None:
            parts = held.decode().split("|")
            return self._info(id, "running", parts[2], raw, worker=parts[1])
        blocked = self.client.hget(k.blocked, id)
        if blocked is not None:
            return self._info(id, "blocked", blocked.decode().split("|", 1)[0], raw)
        for member, _ in self.client.zscan_iter(k.scheduled, match=f"{id}|*"):
            return self._info(id, "scheduled", member.decode().split("|")[1], raw)
        named = payload_summary.summarize(raw).queue_name
        # A payload stored by enqueue_raw, or by another producer, may name no queue (or the
        # wrong one): then look in every queue (LPOS: O(n) per list, for one job's page).
        queues = [named] if named and named in self._names() else self._names()
        for queue, lists in self._lists(queues).items():
            if any(self.client.lpos(key, id) is not None for key in lists):
                return self._info(id, "ready", queue, raw)
        return None

    def _dead_action(self, action: str, ids: list[str] | None, all: bool) -> int:
        store = self.store
        if all:
            ids = [i.decode() for i in self.client.zrange(self.keys.dead, 0, -1)]
        total = 0
        for start in range(0, len(ids or []), 1000):
            chunk = (ids or [])[start : start + 1000]
            total += store.dead(keys=store.dead_keys(), args=[store.stem, action, *chunk])
        return total

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Put dead jobs back on their queues (by id, or all of them)."""
        return self._dead_action("retry", ids, all)

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete dead (or waiting: scheduled, ready, blocked) jobs for good (by id, or all of
        them); a waiting job's unique lock is released.

        Raises:
            ValueError: ``state`` is ``running``: a running job is finished by its worker.
        """
        if state == "running":
            raise ValueError("running jobs cannot be discarded; their worker reports the outcome")
        if state == "dead":
            return self._dead_action("discard", ids, all)
        if all:
            ids = [row[0] for row in self._ids(state, None, 0, 10**9)]
        return self._drop("discard", ids or [])[0]

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Make scheduled jobs due now; the next promotion moves them to their queues."""
        return self._scheduled_action(ids, all, run=True)

    def _scheduled(self, ids: list[str] | None) -> dict[str, bytes]:
        """id -> member of the scheduled set, for ``ids`` (None: every scheduled job)."""
        wanted = None if ids is None else set(ids)
        found = {}
        for member, _ in self.client.zscan_iter(self.keys.scheduled):
            id = member.decode().split("|", 1)[0]
            if wanted is None or id in wanted:
                found[id] = member
        return found

    def _scheduled_action(self, ids: list[str] | None, all: bool, run: bool) -> int:
        members = list(self._scheduled(None if all else ids or []).values())
        if not members:
            return 0
        store, k = self.store, self.keys
        keys = [k.jobs, k.scheduled, k.seq, k.wake]
        return int(store.run(store.run_now, keys, [store.stem, *members]))

    def _drop(self, mode: str, ids: list[str]) -> tuple[int, int]:
        """Remove waiting jobs (drop.lua); with mode "cancel" flag running ones.
        Returns (removed, flagged)."""
        store, k = self.store, self.keys
        day, minute = day_and_minute(now_ms())
        scheduled = self._scheduled(ids)
        dropped = flagged = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            args: list[Any] = [store.stem, mode, day, minute, now_ms(), history_ms(), len(chunk)]
            for id in chunk:
                args += [id, scheduled.get(id, b"")]
            keys = [k.jobs, k.scheduled, k.queues, k.inflight]
            ended = "cancelled" if mode == "cancel" else "discarded"
            done, flags = chains.run(store, store.drop, keys, args, ended)
            dropped, flagged = dropped + done, flagged + flags
        return dropped, flagged

    def cancel(self, job_id: str) -> CancelResult:
        """Cancel the job whose ``job_id`` is given: removed if waiting (with a ``cancelled``
        record, counted in its batch), flagged if running.

        The job is found through the ``{p}:ids`` index (a retry, a re-enqueue), else stored
        under its job_id (a first enqueue); a job stored before the index existed (an upgrade
        with jobs waiting) is found by scanning the payloads, in batches that never block the
        server.
        """
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.ids, job_id)
            pipe.hexists(self.keys.jobs, job_id)
            at, own = pipe.execute()
        if at is not None:
            ids = [at.decode().split("|", 1)[0]]
        elif own:
            ids = [job_id]
        else:
            needle = b'"job_id":' + json.dumps(job_id).encode()
            ids = [
                id.decode()
                for id, raw in self.client.hscan_iter(self.keys.jobs, count=1000)
                if needle in raw
            ]
        if not ids:
            return "unknown"
        dropped, flagged = self._drop("cancel", ids)
        return "cancelled" if dropped else "running" if flagged else "unknown"

    def _blocked(self) -> dict[bytes, bytes]:
        return dict(self.client.hgetall(self.keys.blocked))

    def pause(self, queue: str) -> None:
        self.client.sadd(self.keys.paused, queue)

    def resume(self, queue: str) -> None:
        with self.client.pipeline() as pipe:
            pipe.srem(self.keys.paused, queue)
            pipe.lpush(self.keys.wake, "1")
            pipe.execute()

    def clear(self, queue: str) -> int:
        store = self.store
        args: list[Any] = [store.stem, queue, now_ms(), history_ms()]
        keys = [self.keys.jobs, self.keys.queues]
        return int(chains.run(store, store.clear, keys, args, "discarded"))

    def workers(self) -> list[WorkerInfo]:
        result = []
        for pid, beat in self.client.zrange(self.keys.processes, 0, -1, withscores=True):
            process = pid.decode()
            info = {
                k.decode(): v.decode()
                for k, v in self.client.hgetall(self.keys.process(process)).items()
            }
            running = sorted(i.decode() for i in self.client.smembers(self.keys.claims(process)))
            result.append(
                WorkerInfo(
                    id=process,
                    hostname=info.get("hostname", "?"),
                    pid=int(info.get("pid", 0)),
                    queues=info.get("queues", "").split(","),
                    concurrency=int(info.get("concurrency", 0)),
                    started_at=datetime.fromtimestamp(float(info.get("started_at", 0)), UTC),
                    heartbeat_at=datetime.fromtimestamp(beat / 1000, UTC),
                    running=running,
                )
            )
        return result

    def stats(self, day: str | None = None) -> Stats:
        day = day or day_and_minute(now_ms())[0]
        processed, failed = self.client.mget(
            self.keys.stat("processed", day), self.keys.stat("failed", day)
        )
        return {"processed": int(processed or 0), "failed": int(failed or 0)}

    def history(self, kind: str, since_minute: int | None = None) -> dict[int, int]:
        """Per-minute counts (epoch minute -> jobs) of ``kind`` (processed, failed, expired,
        cancelled, throttled) since ``since_minute`` (default: the last 24 hours; kept for 3
        days)."""
        now = now_ms() // 60000
        since = now - 1440 if since_minute is None else since_minute
        days = sorted({day_and_minute(m * 60000)[0] for m in (since, now)})
        found: dict[int, int] = {}
        for day in days:
            for minute, count in self.client.hgetall(f"{self.keys.stat(kind, 'm')}:{day}").items():
                if int(minute) >= since:
                    found[int(minute)] = found.get(int(minute), 0) + int(count)
        return found

    def timings(
        self, since_minute: int, until_minute: int | None = None, job_class: str | None = None
    ) -> list[ClassTiming]:
        """Per class and minute, from the ``{p}:t:<minute>`` hashes complete.lua writes
        (`jobframe_redis.timings`), read in one pipeline; by minute, then class."""
        return timings.read(self.client, self.keys.base, since_minute, until_minute, job_class)
