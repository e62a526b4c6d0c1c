"""`MemoryStore`: a job store in this process's memory that implements `WorkerBackend`.

The ``async`` adapter keeps its jobs here and runs the shared worker runtime
(`jobframe.worker.runtime.Worker`) on it, so in-process jobs get the same claims, retries, dead
set, pause and inspector as the durable backends; the runtime's own tests run against it too.
Nothing survives the process: a store is for development and for work that may be lost.

Every method takes one lock. Blocking fetches wait on a condition that enqueues, releases,
resumes and `wake` notify (no polling); a second condition on the same lock tells `wait_idle`
callers that a job finished, so an enqueue never wakes an idle-waiter instead of a fetcher.
The jobs and the steps that move them are `MemoryJobs`; flow control is its `FlowBook`.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobframe.backend.inspector import State
from jobframe.backend.results import JobRecord
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe.queue_adapters.memory_batches import BatchedResults
from jobframe.queue_adapters.memory_flow import read_flow
from jobframe.queue_adapters.memory_jobs import NO_PRIORITY, Entry, EntryState, MemoryJobs
from jobframe.queue_adapters.memory_timings import MemoryTimings
from jobframe.tracking.chains import broken_records
from jobframe.tracking.records import build

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.inspector import CancelResult
    from jobframe.job.base import Job


@dataclass
class _Process:
    info: ProcessInfo
    beat: float = field(default_factory=time.monotonic)  # last heartbeat, monotonic
    beat_at: float = field(default_factory=time.time)  # the same, wall clock (for display)


class MemoryStore(MemoryJobs, WorkerBackend):
    """Jobs, queues and worker processes in memory; the `WorkerBackend` of the async adapter.

    Parameters:
        keep_failed: dead jobs kept for inspection and retry; the oldest go first beyond it.
        owner: the adapter that enqueues into this store (see `retry_entry`).
    """

    throttles = True
    cancels = True
    records = True

    def __init__(self, keep_failed: int = 1000, owner: QueueAdapter | None = None) -> None:
        super().__init__(keep_failed)
        #: the adapter whose enqueues land here: its jobs' retries are written with the outcome
        self.owner = owner
        self.processes: dict[str, _Process] = {}
        self._known: dict[str, ProcessInfo] = {}  # registered and not deregistered (reaped too)
        self._tokens = itertools.count()
        self._wakes = 0
        #: status, records and progress of these jobs (the async adapter's `results()`),
        #: under this store's lock: `complete` writes a job's records with its outcome
        self.results = BatchedResults(self.lock, self._live, owner=owner, jobs=self)
        #: run times per job class and minute, counted by `complete` (under this store's lock)
        self.timings = MemoryTimings()

    def _live(self, job_id: str) -> State | None:
        """Where the job ``job_id`` is (lock held): claimed (running) before waiting before
        dead, should it be stored twice (a retry written beside its dead copy)."""
        found: State | None = None
        for id in self.by_job.get(job_id, ()):
            entry = self.entries.get(id) or self.dead.get(id)
            if entry is None:
                continue
            if entry.state == "claimed":
                return "running"
            if found is None or found == "dead":
                found = entry.state
        return found

    def _enqueued(self, entry: Entry) -> None:
        if entry.batch_id is not None and entry.job_id is not None:
            self.results._count_enqueue(entry.job_id, entry.batch_id)

    # -- WorkerBackend --------------------------------------------------------------------------

    def register(self, process: ProcessInfo) -> None:
        with self.lock:
            self.processes[process.id] = _Process(process)
            self._known[process.id] = process

    def heartbeat(self, process_id: str) -> None:
        with self.lock:
            found = self.processes.get(process_id)
            if found is not None:
                found.beat, found.beat_at = time.monotonic(), time.time()
            elif process_id in self._known:  # reaped while alive: come back as new
                self.processes[process_id] = _Process(self._known[process_id])

    def deregister(self, process_id: str) -> None:
        with self.lock:
            self._release(self._claims_of(process_id))
            self.processes.pop(process_id, None)
            self._known.pop(process_id, None)

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        deadline = time.monotonic() + timeout
        with self.lock:
            wakes = self._wakes
            while True:
                now = time.time()
                if self.promoting:
                    self._promote(now)
                claims = self._take(process_id, queues, limit)
                remaining = deadline - time.monotonic()
                if claims or remaining <= 0 or self._wakes != wakes:
                    return claims
                if self.promoting and self._scheduled:
                    remaining = min(remaining, max(0.0, self._scheduled[0][0] - now))
                self._work.wait(remaining)

    def _take(self, process_id: str, queues: list[str], limit: int) -> list[Claim]:
        """Claim up to ``limit`` ready jobs: queue by queue in the given order, or, for ``["*"]``,
        across every unpaused queue by priority and then age."""
        names = [q for q in (self._ready if queues == ["*"] else queues) if q not in self.paused]
        heaps = [self._ready[q] for q in names if self._ready.get(q)]
        claims: list[Claim] = []
        merged = queues == ["*"]
        now = time.time()
        while heaps and len(claims) < limit:
            heap = min(heaps, key=lambda h: h[0]) if merged else heaps[0]
            _, _, id = heapq.heappop(heap)
            if not heap:
                heaps.remove(heap)
            entry = self.entries.get(id)
            if entry is None or entry.state != "ready":
                continue  # discarded, cleared or already claimed meanwhile
            if not self.flow.admit(entry, now):
                self.move(entry, "blocked")  # a freed slot of its key makes it ready again
                continue
            self.move(entry, "claimed")
            self.flow.unlock(entry, "started")
            # one token per claim: `cancelled` names claims by it
            token = f"{process_id}:{next(self._tokens)}"
            entry.claimed_by, entry.token = process_id, token
            claims.append(Claim(entry.id, token, entry.queue, entry.payload))
        return claims

    def _held(self, claim: Claim) -> Entry | None:
        entry = self.entries.get(claim.id)
        if entry is None or entry.state != "claimed" or entry.token != claim.token:
            return None  # taken back by the reaper, or released: not this claim's any more
        return entry

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        now = time.time()
        with self.lock:
            counts: Counter[str] = Counter()
            retries: list[Entry] = []
            records: list[JobRecord] = []
            woken = 0
            for outcome in outcomes:
                entry = self._held(outcome.claim)
                if entry is None:
                    continue
                self.forget(entry)
                if outcome.runtime is not None:
                    self.timings.add(outcome, now)
                woken += self._settle(entry, now)
                retries += outcome.retries
                records += outcome.records
                if outcome.status != "failed" or not outcome.retries:
                    self.flow.unlock(entry, "finished")
                if outcome.status in ("expired", "cancelled"):
                    counts[outcome.status] += 1  # settled as done, counted apart: it did not run
                    continue
                counts["processed"] += 1
                if outcome.status != "done":
                    counts["failed"] += 1
                    error = {**(outcome.error or {}), "attempts": outcome.attempts}
                    self._bury(entry, error, now)
            self._add(retries, retries=True)
            self.results.write_locked(records)  # after the retries: a retry is not "unknown"
            for kind, n in counts.items():
                self._count(kind, n, now)
            if woken:
                self._work.notify(woken)
            self.changed.notify_all()

    def release(self, process_id: str, claims: list[Claim]) -> None:
        with self.lock:
            self._release([e for e in map(self._held, claims) if e is not None])

    def _claims_of(self, process_id: str) -> list[Entry]:
        return [
            e for e in self.entries.values() if e.state == "claimed" and e.claimed_by == process_id
        ]

    def _release(self, found: list[Entry], crashed: bool = False) -> list[Entry]:
        """Put claimed entries back on their queues, in their old place (priority, then age);
        returns them."""
        now = time.time()
        woken = 0
        for entry in found:
            entry.crashes += crashed
            entry.run_at = min(entry.run_at, now)
            woken += self._settle(entry, now)
            self._place(entry, now)
        if found:
            self._work.notify(len(found) + woken)
            self.changed.notify_all()
        return found

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        counts = {"promoted": 0, "reaped": 0, "requeued": 0, "dead": 0, "unblocked": 0}
        with self.lock:
            now = time.time()
            if self.promoting:
                counts["promoted"] = self._promote(now)
            counts["unblocked"] = sum(self._place(e, now) for e in self.flow.sweep(now))
            if counts["promoted"] + counts["unblocked"]:
                self._work.notify(counts["promoted"] + counts["unblocked"])
            limit = time.monotonic() - heartbeat_timeout
            for process_id in [p for p, found in self.processes.items() if found.beat < limit]:
                del self.processes[process_id]
                counts["reaped"] += 1
                counts["dead"] += self._poison(process_id, max_crashes)
                released = self._release(self._claims_of(process_id), crashed=True)
                counts["requeued"] += len(released)
        return counts

    def _poison(self, process_id: str, max_crashes: int) -> int:
        """Bury the claims of a dead process that have now crashed one ``max_crashes`` times."""
        now = time.time()
        doomed = [
            e
            for e in self.entries.values()
            if e.state == "claimed" and e.claimed_by == process_id and e.crashes + 1 >= max_crashes
        ]
        woken = 0
        for entry in doomed:
            self.forget(entry)
            woken += self._settle(entry, now)
            self.flow.unlock(entry)
            entry.crashes = max_crashes
            error = {
                "class": "jobframe.WorkerCrashed",
                "message": f"worker process {process_id} stopped heartbeating",
                "reason": f"poison pill: its worker died {max_crashes} times while running it",
                "attempts": max_crashes,
            }
            self._bury(entry, error, now)
            if entry.job_id is not None:
                self.results.write_locked([dead_record(entry, error)])
                self.results.write_locked(broken_records(entry.payload, "dead"))
        if doomed:
            self._count("processed", len(doomed), now)
            self._count("failed", len(doomed), now)
            self._work.notify(woken)
            self.changed.notify_all()
        return len(doomed)

    def retry_entry(self, job: Job, adapter: QueueAdapter) -> Entry | None:
        """The retry as an entry `complete` stores with the outcome, when ``adapter`` is the one
        keeping its jobs in this store (`owner`); None otherwise (the retry then goes through
        that adapter)."""
        if self.owner is None or adapter is not self.owner:
            return None
        return self.job_entry(job, job.scheduled_at)

    def wake(self) -> None:
        with self.lock:
            self._wakes += 1
            self._work.notify_all()

    # -- flow control (the rest is in `_add`, `_take`, `_settle` and `maintain`) ---------------

    def reserve(self, key: str, interval: float) -> float:
        with self.lock:
            return self.flow.reserve(key, interval, time.time())

    def defer(self, process_id: str, claim: Claim, at: float, payload: bytes) -> None:
        with self.lock:
            entry = self._held(claim)
            if entry is None:
                return
            now = time.time()
            woken = self._settle(entry, now)
            entry.payload, entry.run_at = payload, at
            entry.flow = read_flow(payload)[1]
            woken += self._place(entry, now)
            self._count("throttled", 1, now)
            if woken:
                self._work.notify(woken)
            self.changed.notify_all()

    def drop_ended(self, entries: list[Entry], ended: str) -> None:
        """`drop` waiting entries that end ``ended`` (cancelled, discarded), with the
        ``cancelled`` records of the chain links after them (lock held)."""
        for entry in entries:
            self.drop(entry)
            self.results.write_locked(broken_records(entry.payload, ended))

    def cancelled(self, process_id: str, tokens: list[str]) -> set[str]:
        with self.lock:
            return {token for token in tokens if token in self.flow.cancelling}

    def cancel(self, job_id: str) -> CancelResult:
        """`Inspector.cancel` on this store: a waiting job is dropped, a claimed one flagged."""
        with self.lock:
            found = [e for e in self.entries.values() if e.job_id == job_id]
            running = [e for e in found if e.state == "claimed"]
            for entry in running:
                assert entry.token is not None
                self.flow.cancelling.add(entry.token)
            waiting = [e for e in found if e.state != "claimed"]
            held = {e.job_id for e in running}
            ended = {e.job_id: e for e in waiting if e.job_id is not None and e.job_id not in held}
            self.results.write_locked([cancelled_record(e) for e in ended.values()])
            self.drop_ended(waiting, "cancelled")
            if waiting:
                self._count("cancelled", len(waiting), time.time())
                self.changed.notify_all()
        return "running" if running else "cancelled" if waiting else "unknown"


def _fields(entry: Entry) -> dict[str, Any]:
    fields: dict[str, Any] = {"queue": entry.queue, "enqueued_at": entry.enqueued_at}
    if entry.batch_id is not None:
        fields["batch_id"] = entry.batch_id
    return fields


def dead_record(entry: Entry, error: dict[str, Any]) -> JobRecord:
    """The record of a job the store sent to the dead set itself (a poison pill)."""
    assert entry.job_id is not None
    return build(entry.job_id, "dead", error=error, extra=_fields(entry))


def cancelled_record(entry: Entry) -> JobRecord:
    """The record of a waiting job `cancel` removed."""
    assert entry.job_id is not None
    error = {"message": "cancelled before it ran", "reason": "cancelled"}
    return build(entry.job_id, "cancelled", error=error, extra=_fields(entry))


__all__ = ["NO_PRIORITY", "Entry", "EntryState", "MemoryStore"]
