"""The Redis key layout. Every key carries the same hash tag, ``{<prefix>}``, so every key of one
jobframe namespace lives in one Redis Cluster slot and every Lua script touches a single slot.

========================  ======  =====================================================
key                       type    holds
========================  ======  =====================================================
``{p}:jobs``              hash    id -> payload (JSON bytes, exactly as enqueued)
``{p}:r:<queue>:<prio>``  list    ready jobs of one priority, first in first out (ids)
``{p}:rp:<queue>``        zset    the priorities whose lists are not empty (score = priority)
``{p}:q:<queue>``         zset    ready jobs as an older version kept them (score = (priority +
                                  2048) * 2^40 + sequence): maintain moves them to the lists
``{p}:queues``            set     every queue name ever used
``{p}:paused``            set     paused queue names
``{p}:seq``               string  a sequence: blocked jobs' order, a hand-off's claim, a job_id's
                                  second id
``{p}:wake``              list    wake-up tokens that blocked fetchers wait on (BLPOP)
``{p}:waiting``           list    idle fetchers: "process|wait id|until ms|queues" (hand-off)
``{p}:inbox:<process>``   list    jobs handed to one idle process: "id|token|queue|payload"
``{p}:scheduled``         zset    id -> run at (epoch ms)
``{p}:inflight``          hash    id -> "token|process|queue|score|claimed ms[|f]" (f: flow);
                                  score = (priority + 2048) * 2^40 + its order in its fetch
``{p}:claims:<process>``  set     ids claimed by one worker process
``{p}:processes``         zset    process id -> last heartbeat (epoch ms)
``{p}:process:<process>`` hash    hostname, pid, queues, concurrency, started
``{p}:crashes``           hash    id -> how many worker processes died running it
``{p}:dead``              zset    id -> died at (epoch ms)
``{p}:dead:info``         hash    id -> JSON: error class, message, traceback, reason, queue
``{p}:stat:<kind>:<day>`` string  processed, failed, expired, cancelled, throttled per UTC day
``{p}:stat:<kind>:m``     hash    minute (epoch min) -> count, for the dashboard's charts
``{p}:t:<minute>``        hash    run times per class that minute: ``<class>|c``, ``|f``,
                                  ``|ms``, ``|b<i>`` (`jobframe_redis.timings`); expires
``{p}:recurring``         hash    task -> latest claimed tick: "tick s|enqueued ms|id|job id"
``{p}:unique:<key>``      string  @jobframe.unique: the owner's job_id, expiring with the lock
``{p}:slots:<key>``       zset    concurrency limit: id of a running job -> slot lapses (ms)
``{p}:blocked:<key>``     zset    id -> ready score, of the jobs waiting for a slot of <key>
``{p}:blocked``           hash    id -> "queue|score|key" of every blocked job
``{p}:limits``            hash    key -> limit, for the keys that have blocked jobs
``{p}:rate:<key>``        string  rate limit: the next free start (epoch µs)
``{p}:cancel``            set     ids of running jobs asked to stop (`Inspector.cancel`)
``{p}:ids``               hash    job_id -> "id|queue|priority" of a job stored under another id
                                  than its job_id (a retry, a re-enqueue; status); a first
                                  enqueue is stored under its job_id and has no entry
``{p}:rec:<job_id>``      string  last record: "status|batch|ttl ms|data"; expires
``{p}:prog:<job_id>``     string  a running job's progress (JSON); expires
``{p}:done:<job_id>``     list    one element once a final record is written: waiters' wake-up
``{p}:batch:<id>``        hash    counters, sealed, fired, finished, ttl, description, created,
                                  ``cb:<kind>`` "id|queue|priority|job_id", ``pl:<kind>`` payload
``{p}:batch:<id>:jobs``   hash    job_id -> its counter (pending, succeeded...): counted once
``{p}:batches``           zset    batch id -> created (epoch s), for listing
========================  ======  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Keys:
    prefix: str = "jobframe"

    @property
    def base(self) -> str:
        """``{prefix}:``: the hash-tagged stem every key starts with (passed to the scripts)."""
        return "{" + self.prefix + "}:"

    def ready(self, name: str, priority: int | str) -> str:
        """The list of ``name``'s ready jobs of one priority (ids, head first)."""
        return f"{self.base}r:{name}:{priority}"

    def priorities(self, name: str) -> str:
        """The zset of ``name``'s priorities that have ready jobs (score = priority)."""
        return f"{self.base}rp:{name}"

    def old_queue(self, name: str) -> str:
        """The zset an older version kept ``name``'s ready jobs in (maintain moves them)."""
        return f"{self.base}q:{name}"

    def claims(self, process_id: str) -> str:
        return f"{self.base}claims:{process_id}"

    def inbox(self, process_id: str) -> str:
        return f"{self.base}inbox:{process_id}"

    def process(self, process_id: str) -> str:
        return f"{self.base}process:{process_id}"

    def stat(self, kind: str, day: str) -> str:
        return f"{self.base}stat:{kind}:{day}"

    def __getattr__(self, name: str) -> str:
        if name in _SIMPLE:
            return self.base + _SIMPLE[name]
        raise AttributeError(name)


def each(client: Any, command: str, keys: list[str], *args: Any) -> list[Any]:
    """One command per key, in one pipeline."""
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            getattr(pipe, command)(key, *args)
        return list(pipe.execute())


def ready_lists(client: Any, keys: Keys, names: list[str]) -> dict[str, list[str]]:
    """Each queue's ready lists, lowest priority number (the next fetched) first."""
    prios = each(client, "zrange", [keys.priorities(name) for name in names], 0, -1)
    return {
        name: [keys.ready(name, p.decode()) for p in found]
        for name, found in zip(names, prios, strict=True)
    }


_SIMPLE = {
    "jobs": "jobs",
    "queues": "queues",
    "paused": "paused",
    "seq": "seq",
    "wake": "wake",
    "waiting": "waiting",
    "scheduled": "scheduled",
    "inflight": "inflight",
    "processes": "processes",
    "crashes": "crashes",
    "dead": "dead",
    "dead_info": "dead:info",
    "recurring": "recurring",
    "blocked": "blocked",
    "limits": "limits",
    "cancel": "cancel",
    "ids": "ids",
    "batches": "batches",
}
