"""The Redis key layout. Every key carries the same hash tag, ``{<prefix>}``, so every key of one
jobframe namespace lives in one Redis Cluster slot and every Lua script touches a single slot.

========================  ======  =====================================================
key                       type    holds
========================  ======  =====================================================
``{p}:jobs``              hash    id -> payload (JSON bytes, exactly as enqueued)
``{p}:q:<queue>``         zset    ready jobs; score = (priority + 2048) * 2^40 + sequence
``{p}:queues``            set     every queue name ever used
``{p}:paused``            set     paused queue names
``{p}:seq``               string  the enqueue sequence (FIFO within a priority)
``{p}:wake``              list    wake-up tokens that blocked fetchers wait on (BLPOP)
``{p}:waiting``           list    idle fetchers: "process|wait id|until ms|queues" (hand-off)
``{p}:inbox:<process>``   list    jobs handed to one idle process: "id|token|queue|payload"
``{p}:scheduled``         zset    id -> run at (epoch ms)
``{p}:inflight``          hash    id -> "token|process|queue|score|claimed ms[|f]" (f: flow)
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


@dataclass(frozen=True)
class Keys:
    prefix: str = "jobframe"

    @property
    def base(self) -> str:
        """``{prefix}:``: the hash-tagged stem every key starts with (passed to the scripts)."""
        return "{" + self.prefix + "}:"

    def queue(self, name: str) -> str:
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
