"""`MemoryJobs`: the jobs of a `MemoryStore` (entries, the queues' heaps, the scheduled heap, the
dead set, the counters and flow control), and the steps that place, move and remove them.

The store's `WorkerBackend` methods (`jobframe.queue_adapters.memory_store`) and the async
adapter's inspector act through these, with the one lock held, so every step is atomic.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from jobframe.backend.flow import FlowControl
from jobframe.backend.ids import new_id
from jobframe.backend.payload import dump_payload
from jobframe.queue_adapters.memory_flow import FlowBook, read_flow

if TYPE_CHECKING:
    from jobframe.job.base import Job

#: ``blocked``: ready, but its concurrency key is full (`jobframe.backend.flow`)
EntryState = Literal["ready", "scheduled", "claimed", "dead", "blocked"]
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
    job_id: str | None = None
    flow: FlowControl | None = None
    batch_id: str | None = None  # the batch its payload names (counted at enqueue)


class MemoryJobs:
    """Jobs in memory, under one lock.

    Parameters:
        keep_failed: dead jobs kept for inspection and retry; the oldest go first beyond it.
    """

    def __init__(self, keep_failed: int = 1000) -> None:
        self.keep_failed = keep_failed
        self.lock = threading.Lock()
        self._work = threading.Condition(self.lock)  # fetchers wait here
        self.changed = threading.Condition(self.lock)  # `wait_idle` waits here
        self.entries: dict[str, Entry] = {}  # ready, scheduled, blocked and claimed jobs
        #: how many entries are in each (state, queue): `busy` and the queues page read these
        self.sizes: Counter[tuple[EntryState, str]] = Counter()
        self.dead: OrderedDict[str, Entry] = OrderedDict()
        #: the ids of the stored entries (waiting, claimed or dead) of each ``job_id``: a job's
        #: status is read without a scan (`index`, `unindex`)
        self.by_job: dict[str, set[str]] = {}
        self.paused: set[str] = set()
        self.counters: dict[tuple[str, str], int] = {}  # (kind, day or epoch minute) -> count
        self._ready: dict[str, list[tuple[int, int, str]]] = {}  # queue -> (priority, seq, id)
        self._scheduled: list[tuple[float, int, str]] = []  # (run at, seq, id)
        self.flow = FlowBook(self.entries)
        self._seq = itertools.count()
        #: set while the owner drains at exit: due scheduled jobs are no longer promoted
        self.promoting = True

    # -- writing jobs ---------------------------------------------------------------------------

    def new_entry(
        self, id: str, queue: str, priority: int | None, payload: bytes, at: float | None
    ) -> Entry:
        """An entry for `add`; ``at`` is when it is due (None: now). Its ``job_id`` and flow
        control are read from ``payload`` (`job_entry` sets them without reading)."""
        now = time.time()
        entry = Entry(
            id,
            queue,
            NO_PRIORITY if priority is None else priority,
            next(self._seq),
            payload,
            now if at is None else at,
            now,
        )
        entry.job_id, entry.flow = read_flow(payload)
        return entry

    def add(self, entries: Iterable[Entry]) -> list[Entry]:
        """Store new entries as ready or scheduled, all under one lock, each taking its unique
        lock in the same step. Returns the entries refused (nothing stored) because another job
        holds their lock, an earlier entry of the same call included."""
        with self.lock:
            return self._add(entries)

    def _add(self, entries: Iterable[Entry], retries: bool = False) -> list[Entry]:
        now = time.time()
        ready = 0
        refused: list[Entry] = []
        for entry in entries:
            if self.flow.holder(entry, now) is None:
                self.flow.lock(entry, now)
            elif not retries:  # a retry is the job's own policy: written even so
                refused.append(entry)
                continue
            self.entries[entry.id] = entry
            self.sizes[(entry.state, entry.queue)] += 1
            self.index(entry)
            ready += self._place(entry, now)
            self._enqueued(entry)
        if ready:
            self._work.notify(ready)
        return refused

    def index(self, entry: Entry) -> None:
        """Note that ``entry`` is stored (waiting, claimed or dead) under its ``job_id``."""
        if entry.job_id is not None:
            self.by_job.setdefault(entry.job_id, set()).add(entry.id)

    def unindex(self, entry: Entry) -> None:
        """Note that ``entry`` is no longer stored (lock held)."""
        job_id = entry.job_id
        ids = self.by_job.get(job_id) if job_id is not None else None
        if job_id is not None and ids is not None:
            ids.discard(entry.id)
            if not ids:
                del self.by_job[job_id]

    def _enqueued(self, entry: Entry) -> None:
        """An entry was stored (lock held): the store counts it in its batch."""

    def _place(self, entry: Entry, now: float) -> bool:
        """Put ``entry`` on its queue's ready heap or on the scheduled heap; True if ready."""
        entry.claimed_by = entry.token = None
        if entry.run_at > now:
            self.move(entry, "scheduled")
            heapq.heappush(self._scheduled, (entry.run_at, entry.seq, entry.id))
            if self._scheduled[0][1] == entry.seq:
                self._work.notify()  # due before the rest: a waiting fetch recomputes its wait
            return False
        self.move(entry, "ready")
        self.flow.unlock(entry, "scheduled")
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
        """Remove an entry from the ready, scheduled, blocked and claimed jobs (lock held)."""
        del self.entries[entry.id]
        self.sizes[(entry.state, entry.queue)] -= 1
        self.unindex(entry)

    def drop(self, entry: Entry) -> None:
        """Remove a waiting entry for good (discarded, cleared, cancelled), releasing its unique
        lock (lock held)."""
        self.forget(entry)
        self.flow.unlock(entry)

    def _settle(self, entry: Entry, now: float) -> int:
        """Free the concurrency slot of a claim being settled and make the oldest jobs blocked
        on its key ready, as many as have room; returns how many (lock held)."""
        if entry.token is not None:
            self.flow.cancelling.discard(entry.token)
        return sum(self._place(blocked, now) for blocked in self.flow.free(entry, now))

    def make_ready(self, entries: list[Entry]) -> None:
        """Put stored entries (dead ones taken out of `dead`, scheduled ones) on their queues now
        (call with the lock held)."""
        now = time.time()
        for entry in entries:
            entry.run_at, entry.error, entry.failed_at, entry.crashes = now, None, None, 0
            if entry.id not in self.entries:  # out of the dead set
                self.entries[entry.id] = entry
                self.sizes[(entry.state, entry.queue)] += 1
                self.index(entry)
            self._place(entry, now)
        self._work.notify_all()

    def _promote(self, now: float) -> int:
        promoted = 0
        while self._scheduled and self._scheduled[0][0] <= now:
            _, _, id = heapq.heappop(self._scheduled)
            entry = self.entries.get(id)
            if entry is not None and entry.state == "scheduled":
                entry.run_at = now
                promoted += self._place(entry, now)
        return promoted

    def _bury(self, entry: Entry, error: dict[str, Any], now: float) -> None:
        entry.state, entry.error, entry.failed_at = "dead", error, now
        entry.claimed_by = entry.token = None
        self.dead[entry.id] = entry
        self.index(entry)
        while len(self.dead) > self.keep_failed:
            self.unindex(self.dead.popitem(last=False)[1])

    def _count(self, kind: str, n: int, now: float) -> None:
        if not n:
            return
        for period in (time.strftime("%Y-%m-%d", time.gmtime(now)), str(int(now // 60))):
            self.counters[(kind, period)] = self.counters.get((kind, period), 0) + n

    def job_entry(self, job: Job, at: datetime | None) -> Entry:
        """An entry for one enqueue of ``job`` due at ``at`` (None: now); sets the job's
        ``provider_job_id``."""
        job.provider_job_id = new_id()
        now = time.time()
        return Entry(
            job.provider_job_id,
            job.queue_name,
            NO_PRIORITY if job.priority is None else job.priority,
            next(self._seq),
            dump_payload(job.serialize()),
            now if at is None else at.timestamp(),
            now,
            job_id=job.job_id,
            flow=job.flow or None,
            batch_id=getattr(job, "batch_id", None),  # set by jobframe.tracking.batches
        )

    # -- what the owner and the inspector read --------------------------------------------------

    def busy(self, include_scheduled: bool = False) -> bool:
        """Whether a job is ready in an unpaused queue or claimed (or scheduled, if asked);
        call with the lock held."""
        for (state, queue), n in self.sizes.items():
            if n and (
                state in ("claimed", "blocked")
                or (state == "scheduled" and include_scheduled)
                or (state == "ready" and queue not in self.paused)
            ):
                return True
        return False

    def resume(self, queue: str) -> None:
        with self.lock:
            self.paused.discard(queue)
            self._work.notify_all()
