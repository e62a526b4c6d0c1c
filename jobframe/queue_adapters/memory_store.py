"""`MemoryStore`: a job store in this process's memory that implements `WorkerBackend`.

The ``async`` adapter keeps its jobs here and runs the shared worker runtime
(`jobframe.worker.runtime.Worker`) on it, so in-process jobs get the same claims, retries, dead
set, pause and inspector as the durable backends; the runtime's own tests run against it too.
Nothing survives the process: a store is for development and for work that may be lost.

Every method takes one lock. Blocking fetches wait on a condition that enqueues, releases,
resumes and `wake` notify (no polling); a second condition on the same lock tells `wait_idle`
callers that a job finished, so an enqueue never wakes an idle-waiter instead of a fetcher.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from jobframe.backend.ids import new_id
from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.job.base import Job

EntryState = Literal["ready", "scheduled", "claimed", "dead"]
#: jobs without a priority run after every prioritised one
NO_PRIORITY = 2**62


@dataclass
class Entry:
    """One job in the store, in whatever state it is."""

    id: str
    queue: str
    priority: int
    seq: int
    payload: bytes
    run_at: float  # epoch seconds: when it is due (scheduled) or became ready
    enqueued_at: float
    state: EntryState = "ready"
    raw: bool = False  # stored by enqueue_raw: any bytes at all
    error: dict[str, Any] | None = None
    failed_at: float | None = None
    claimed_by: str | None = None
    token: str | None = None
    crashes: int = 0


@dataclass
class _Process:
    info: ProcessInfo
    beat: float = field(default_factory=time.monotonic)  # last heartbeat, monotonic
    beat_at: float = field(default_factory=time.time)  # the same, wall clock (for display)


class MemoryStore(WorkerBackend):
    """Jobs, queues and worker processes in memory; the `WorkerBackend` of the async adapter.

    Parameters:
        keep_failed: dead jobs kept for inspection and retry; the oldest go first beyond it.
        owner: the adapter that enqueues into this store (see `retry_entry`).
    """

    def __init__(self, keep_failed: int = 1000, owner: QueueAdapter | None = None) -> None:
        self.keep_failed = keep_failed
        #: the adapter whose enqueues land here: its jobs' retries are written with the outcome
        self.owner = owner
        self.lock = threading.Lock()
        self._work = threading.Condition(self.lock)  # fetchers wait here
        self.changed = threading.Condition(self.lock)  # `wait_idle` waits here
        self.entries: dict[str, Entry] = {}  # ready, scheduled and claimed jobs
        #: how many entries are in each (state, queue): `busy` and the queues page read these
        self.sizes: Counter[tuple[EntryState, str]] = Counter()
        self.dead: OrderedDict[str, Entry] = OrderedDict()
        self.paused: set[str] = set()
        self.processes: dict[str, _Process] = {}
        self._known: dict[str, ProcessInfo] = {}  # registered and not deregistered (reaped too)
        self.counters: dict[tuple[str, str], int] = {}  # (kind, day or epoch minute) -> count
        self._ready: dict[str, list[tuple[int, int, str]]] = {}  # queue -> (priority, seq, id)
        self._scheduled: list[tuple[float, int, str]] = []  # (run at, seq, id)
        self._seq = itertools.count()
        self._tokens = itertools.count()
        self._wakes = 0
        #: set while the owner drains at exit: due scheduled jobs are no longer promoted
        self.promoting = True

    # -- writing jobs ---------------------------------------------------------------------------

    def new_entry(
        self, id: str, queue: str, priority: int | None, payload: bytes, at: float | None
    ) -> Entry:
        """An entry for `add`; ``at`` is when it is due (None: now)."""
        now = time.time()
        return Entry(
            id,
            queue,
            NO_PRIORITY if priority is None else priority,
            next(self._seq),
            payload,
            now if at is None else at,
            now,
        )

    def add(self, entries: Iterable[Entry]) -> None:
        """Store new entries as ready or scheduled, all under one lock."""
        with self.lock:
            self._add(entries)

    def _add(self, entries: Iterable[Entry]) -> None:
        now = time.time()
        ready = 0
        for entry in entries:
            self.entries[entry.id] = entry
            self.sizes[(entry.state, entry.queue)] += 1
            ready += self._place(entry, now)
        if ready:
            self._work.notify(ready)

    def _place(self, entry: Entry, now: float) -> bool:
        """Put ``entry`` on its queue's ready heap or on the scheduled heap; True if ready."""
        entry.claimed_by = entry.token = None
        if entry.run_at > now:
            self.move(entry, "scheduled")
            heapq.heappush(self._scheduled, (entry.run_at, entry.seq, entry.id))
            return False
        self.move(entry, "ready")
        heapq.heappush(
            self._ready.setdefault(entry.queue, []), (entry.priority, entry.seq, entry.id)
        )
        return True

    def move(self, entry: Entry, state: EntryState) -> None:
        """Change the state of a stored entry, keeping `sizes` right (lock held)."""
        self.sizes[(entry.state, entry.queue)] -= 1
        self.sizes[(state, entry.queue)] += 1
        entry.state = state

    def forget(self, entry: Entry) -> None:
        """Remove an entry from the ready, scheduled and claimed jobs (lock held)."""
        del self.entries[entry.id]
        self.sizes[(entry.state, entry.queue)] -= 1

    def make_ready(self, entries: list[Entry]) -> None:
        """Put stored entries (dead ones taken out of `dead`, scheduled ones) on their queues now
        (call with the lock held)."""
        now = time.time()
        for entry in entries:
            entry.run_at, entry.error, entry.failed_at, entry.crashes = now, None, None, 0
            if entry.id not in self.entries:  # out of the dead set
                self.entries[entry.id] = entry
                self.sizes[(entry.state, entry.queue)] += 1
            self._place(entry, now)
        self._work.notify_all()

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
        token = f"{process_id}:{next(self._tokens)}"
        claims: list[Claim] = []
        merged = queues == ["*"]
        while heaps and len(claims) < limit:
            heap = min(heaps, key=lambda h: h[0]) if merged else heaps[0]
            _, _, id = heapq.heappop(heap)
            if not heap:
                heaps.remove(heap)
            entry = self.entries.get(id)
            if entry is None or entry.state != "ready":
                continue  # discarded, cleared or already claimed meanwhile
            self.move(entry, "claimed")
            entry.claimed_by, entry.token = process_id, token
            claims.append(Claim(entry.id, token, entry.queue, entry.payload))
        return claims

    def _promote(self, now: float) -> int:
        promoted = 0
        while self._scheduled and self._scheduled[0][0] <= now:
            _, _, id = heapq.heappop(self._scheduled)
            entry = self.entries.get(id)
            if entry is not None and entry.state == "scheduled":
                entry.run_at = now
                promoted += self._place(entry, now)
        return promoted

    def _held(self, claim: Claim) -> Entry | None:
        entry = self.entries.get(claim.id)
        if entry is None or entry.state != "claimed" or entry.token != claim.token:
            return None  # taken back by the reaper, or released: not this claim's any more
        return entry

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        now = time.time()
        with self.lock:
            processed = failed = 0
            retries: list[Entry] = []
            for outcome in outcomes:
                entry = self._held(outcome.claim)
                if entry is None:
                    continue
                self.forget(entry)
                processed += 1
                retries += outcome.retries
                if outcome.status != "done":
                    failed += 1
                    error = {**(outcome.error or {}), "attempts": outcome.attempts}
                    self._bury(entry, error, now)
            self._add(retries)
            self._count("processed", processed, now)
            self._count("failed", failed, now)
            self.changed.notify_all()

    def _bury(self, entry: Entry, error: dict[str, Any], now: float) -> None:
        entry.state, entry.error, entry.failed_at = "dead", error, now
        entry.claimed_by = entry.token = None
        self.dead[entry.id] = entry
        while len(self.dead) > self.keep_failed:
            self.dead.popitem(last=False)

    def _count(self, kind: str, n: int, now: float) -> None:
        if not n:
            return
        for period in (time.strftime("%Y-%m-%d", time.gmtime(now)), str(int(now // 60))):
            self.counters[(kind, period)] = self.counters.get((kind, period), 0) + n

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
        for entry in found:
            entry.crashes += crashed
            entry.run_at = min(entry.run_at, now)
            self._place(entry, now)
        if found:
            self._work.notify(len(found))
            self.changed.notify_all()
        return found

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        counts = {"promoted": 0, "reaped": 0, "requeued": 0, "dead": 0}
        with self.lock:
            if self.promoting:
                counts["promoted"] = self._promote(time.time())
                if counts["promoted"]:
                    self._work.notify(counts["promoted"])
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
        for entry in doomed:
            self.forget(entry)
            entry.crashes = max_crashes
            error = {
                "class": "jobframe.WorkerCrashed",
                "message": f"worker process {process_id} stopped heartbeating",
                "reason": f"poison pill: its worker died {max_crashes} times while running it",
                "attempts": max_crashes,
            }
            self._bury(entry, error, now)
        if doomed:
            self._count("processed", len(doomed), now)
            self._count("failed", len(doomed), now)
            self.changed.notify_all()
        return len(doomed)

    def job_entry(self, job: Job, at: datetime | None) -> Entry:
        """An entry for one enqueue of ``job`` due at ``at`` (None: now); sets the job's
        ``provider_job_id``."""
        job.provider_job_id = new_id()
        return self.new_entry(
            job.provider_job_id,
            job.queue_name,
            job.priority,
            dump_payload(job.serialize()),
            None if at is None else at.timestamp(),
        )

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

    # -- what the owner and the inspector read --------------------------------------------------

    def busy(self, include_scheduled: bool = False) -> bool:
        """Whether a job is ready in an unpaused queue or claimed (or scheduled, if asked);
        call with the lock held."""
        for (state, queue), n in self.sizes.items():
            if n and (
                state == "claimed"
                or (state == "scheduled" and include_scheduled)
                or (state == "ready" and queue not in self.paused)
            ):
                return True
        return False

    def resume(self, queue: str) -> None:
        with self.lock:
            self.paused.discard(queue)
            self._work.notify_all()
