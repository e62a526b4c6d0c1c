"""`Progress`: what ``self.progress(fraction, message)`` writes while a job performs.

A worker (or an in-process adapter) attaches one to the job it runs; without one, ``progress``
is a no-op. Writes go to the job's `ResultStore` at most every `INTERVAL` seconds (a job that
reports every row of a million must not make a million round trips), except a report of 1.0,
always written; the last report, written or not, goes into the job's final record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from jobframe.backend.results import ResultStore
from jobframe.tracking import records

log = logging.getLogger("jobframe.worker")

#: the shortest time between two progress writes of one job, in seconds
INTERVAL = 0.25


class Progress:
    """The progress of one running attempt of a job.

    Parameters:
        store: where writes go, or None to only keep the last report (for the final record);
            or a callable giving them, called on the first write (most jobs never report
            progress: looking up their adapter's store and ttl for each would cost them).
        ttl: seconds a write is kept (the job's record ttl), or a callable giving it.
    """

    # One per job a worker runs: no instance dictionary to make for each.
    __slots__ = (
        "_lock",
        "_store",
        "_ttl",
        "_written_at",
        "job_id",
        "last",
        "last_steps",
        "started_at",
    )

    def __init__(
        self,
        store: ResultStore | Callable[[], ResultStore | None] | None,
        job_id: str,
        ttl: float | Callable[[], float],
    ) -> None:
        self._store = store
        self.job_id = job_id
        self._ttl = ttl
        self.started_at = time.time()
        self.last: dict[str, Any] | None = None
        self.last_steps: dict[str, Any] | None = None
        self._written_at = -INTERVAL
        self._lock = threading.Lock()

    def report(self, fraction: float, message: str | None) -> None:
        """Keep this report; write it unless the last write is under `INTERVAL` s old."""
        with self._lock:
            self.last = {"fraction": fraction, "message": message, "at": time.time()}
            data = self._due(force=fraction == 1.0)
        self._write(data)

    def steps(self, steps: dict[str, Any] | None) -> None:
        """Keep a continuation's steps and cursor (`jobframe.job.continuation`), written like a
        report: at most every `INTERVAL` s."""
        with self._lock:
            self.last_steps = steps
            data = self._due(force=False)
        self._write(data)

    def _due(self, force: bool) -> bytes | None:
        """The data to write now (under the lock), or None if the last write is too recent."""
        now = time.monotonic()
        if not force and now - self._written_at < INTERVAL:
            return None
        self._written_at = now
        data: dict[str, Any] = {"started_at": self.started_at}
        if self.last is not None:
            data["progress"] = self.last
        if self.last_steps is not None:
            data["steps"] = self.last_steps
        return records.encode(data)

    @property
    def store(self) -> ResultStore | None:
        """Where writes go (looked up on first use)."""
        if callable(self._store):
            self._store = self._store()
        return self._store

    @property
    def ttl(self) -> float:
        """Seconds a write is kept (computed on first use)."""
        if callable(self._ttl):
            self._ttl = self._ttl()
        return self._ttl

    def _write(self, data: bytes | None) -> None:
        if data is None:
            return
        try:
            store = self.store
            if store is None:
                return
            store.progress(self.job_id, data, self.ttl)
        except Exception as exc:  # an outage: progress is informative, the job goes on
            log.warning("writing the progress of job %s failed: %r", self.job_id, exc)


__all__ = ["INTERVAL", "Progress"]
