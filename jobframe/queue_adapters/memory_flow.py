"""`FlowBook`: the flow-control state of a `MemoryStore` (unique locks, concurrency slots and the
jobs they block, the rate limiter, cancel requests), kept beside its entries.

The store calls every method with its lock held, so each duty of `jobframe.backend.flow` happens
in the same step as the change of the job it concerns. Nothing here waits or polls: a freed slot
hands back the blocked job to ready, and the store wakes a fetch for it.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobframe.backend.flow import FlowControl, Until
from jobframe.backend.payload import PayloadError, load_payload

if TYPE_CHECKING:
    from jobframe.queue_adapters.memory_store import Entry


def read_flow(payload: bytes) -> tuple[str | None, FlowControl | None]:
    """The ``job_id`` and `FlowControl` a stored payload carries, or None for what it lacks or
    holds in a shape no worker would accept (a raw payload: the worker sends it dead)."""
    try:
        data = load_payload(payload)
    except PayloadError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    job_id = data.get("job_id")
    job_id = job_id if isinstance(job_id, str) else None
    try:
        flow = FlowControl.from_json(data["flow"]) if data.get("flow") is not None else None
    except (TypeError, ValueError):
        flow = None
    return job_id, flow or None


@dataclass
class _Lock:
    owner: str  # the job_id of the job holding it
    expires_at: float  # epoch seconds (``for_``)


class FlowBook:
    """Locks, slots, blocked jobs, rate-limit reservations and cancel requests of one store.

    Parameters:
        entries: the store's ready, scheduled, blocked and claimed entries, by id (shared: a
            blocked id whose entry is gone or no longer blocked is skipped).
    """

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self.entries = entries
        self.locks: dict[str, _Lock] = {}
        #: concurrency key -> {entry id: epoch seconds at which its slot lapses}
        self.slots: dict[str, dict[str, float]] = {}
        #: concurrency key -> its latest limit (a deploy may change it)
        self.limits: dict[str, int] = {}
        #: concurrency key -> (seq, id) of its blocked entries, oldest first
        self.blocked: dict[str, list[tuple[int, str]]] = {}
        #: rate key -> epoch seconds of its next free start
        self.next_start: dict[str, float] = {}
        #: claim tokens whose job `jobframe.cancel` asked to stop
        self.cancelling: set[str] = set()

    # -- unique ---------------------------------------------------------------------------------

    def holder(self, entry: Entry, now: float) -> str | None:
        """The ``job_id`` of another job holding ``entry``'s unique lock, or None."""
        unique = entry.flow.unique if entry.flow else None
        if unique is None:
            return None
        lock = self.locks.get(unique.key)
        if lock is None or lock.expires_at <= now or lock.owner == entry.job_id:
            return None
        return lock.owner

    def lock(self, entry: Entry, now: float) -> None:
        """Take ``entry``'s unique lock (free, lapsed or its own: check `holder` first)."""
        unique = entry.flow.unique if entry.flow else None
        if unique is not None and entry.job_id is not None and unique.expires_at > now:
            self.locks[unique.key] = _Lock(entry.job_id, unique.expires_at)

    def unlock(self, entry: Entry, point: Until | None = None) -> None:
        """Release ``entry``'s unique lock if it owns it and ``point`` is its ``until`` (None:
        whatever its ``until``, as when the job is discarded, cancelled or sent dead)."""
        unique = entry.flow.unique if entry.flow else None
        if unique is None or (point is not None and unique.until != point):
            return
        lock = self.locks.get(unique.key)
        if lock is not None and lock.owner == entry.job_id:
            del self.locks[unique.key]

    # -- concurrency ----------------------------------------------------------------------------

    def admit(self, entry: Entry, now: float) -> bool:
        """Take a slot of ``entry``'s concurrency key, or block it (False) when the key is full."""
        limit = entry.flow.concurrency if entry.flow else None
        if limit is None:
            return True
        self.limits[limit.key] = limit.limit
        taken = self._live(limit.key, now)
        if len(taken) >= limit.limit:
            heapq.heappush(self.blocked.setdefault(limit.key, []), (entry.seq, entry.id))
            return False
        taken[entry.id] = now + limit.duration
        return True

    def free(self, entry: Entry, now: float) -> list[Entry]:
        """Give back ``entry``'s slot (its claim is settled); returns the blocked entries that
        now have room, oldest first, for the store to make ready."""
        limit = entry.flow.concurrency if entry.flow else None
        if limit is None:
            return []
        taken = self.slots.get(limit.key)
        if taken is not None:
            taken.pop(entry.id, None)
        return self._unblock(limit.key, now)

    def _live(self, key: str, now: float) -> dict[str, float]:
        taken = self.slots.setdefault(key, {})
        for id in [i for i, lapses in taken.items() if lapses <= now]:
            del taken[id]  # a slot of a claim that outlived ``duration`` (a stuck worker)
        return taken

    def _unblock(self, key: str, now: float) -> list[Entry]:
        room = self.limits.get(key, 1) - len(self._live(key, now))
        heap = self.blocked.get(key, [])
        found: list[Entry] = []
        while heap and len(found) < room:
            _, id = heapq.heappop(heap)
            entry = self.entries.get(id)
            if entry is not None and entry.state == "blocked":
                found.append(entry)  # else cancelled or discarded while blocked
        if not heap:
            self.blocked.pop(key, None)
        if not self.slots.get(key):
            self.slots.pop(key, None)
            if key not in self.blocked:
                self.limits.pop(key, None)
        return found

    # -- rate limits ----------------------------------------------------------------------------

    def reserve(self, key: str, interval: float, now: float) -> float:
        """The next start of rate limit ``key`` (see `WorkerBackend.reserve`)."""
        start = max(now, self.next_start.get(key, now))
        self.next_start[key] = start + interval
        return start

    # -- upkeep ---------------------------------------------------------------------------------

    def sweep(self, now: float) -> list[Entry]:
        """Drop lapsed locks, slots and rate reservations; returns the blocked entries of keys
        that have room again."""
        for key in [k for k, lock in self.locks.items() if lock.expires_at <= now]:
            del self.locks[key]
        for key in [k for k, start in self.next_start.items() if start <= now]:
            del self.next_start[key]
        found: list[Entry] = []
        for key in list(self.blocked):
            found += self._unblock(key, now)
        for key in [k for k, taken in self.slots.items() if not self._live(k, now)]:
            del self.slots[key]
        return found


__all__ = ["FlowBook", "read_flow"]
