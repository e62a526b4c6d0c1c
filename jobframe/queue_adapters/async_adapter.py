"""The async adapter: jobs run on a pool of threads inside this process.

Honours ``wait``/``wait_until`` and priorities (lower first, then first-in first-out). Nothing is
durable: at interpreter exit it waits up to ``shutdown_timeout`` seconds for ready and running jobs,
and logs how many jobs it had to drop. Use a durable backend (redis, sql) in production.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.errors import ConfigurationError, EnqueueError
from jobframe.hookspecs import hookimpl
from jobframe.queue_adapters.base import QueueAdapter

if TYPE_CHECKING:
    from jobframe.job.base import Job

log = logging.getLogger("jobframe")
_NO_PRIORITY = 2**62  # jobs without a priority run after every prioritised one


class AsyncAdapter(QueueAdapter):
    """Options: ``concurrency`` threads (default 4), ``shutdown_timeout`` seconds (default 10)."""

    name = "async"
    supports_bulk = True

    def __init__(
        self, concurrency: int = 4, shutdown_timeout: float = 10.0, **options: Any
    ) -> None:
        super().__init__(concurrency=concurrency, shutdown_timeout=shutdown_timeout, **options)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(
                f"async adapter: concurrency must be an int >= 1, got {concurrency!r}; "
                "fix adapter_options.concurrency."
            )
        self.concurrency = concurrency
        self.shutdown_timeout = float(shutdown_timeout)
        self._cond = threading.Condition()
        self._ready: list[tuple[int, int, dict[str, Any]]] = []  # (priority, seq, payload)
        self._scheduled: list[tuple[float, int, int, dict[str, Any]]] = []
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._stopping = False
        self.performed = 0
        self.failed = 0
        atexit.register(self.shutdown)

    def enqueue(self, job: Job) -> None:
        self._push([(job, None)])

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        self._push([(job, timestamp)])

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        self._push([(job, job.scheduled_at) for job in jobs])
        for job in jobs:
            job.successfully_enqueued = True
        return len(jobs)

    def _push(self, items: list[tuple[Job, datetime | None]]) -> None:
        with self._cond:
            if self._stopping:
                raise EnqueueError("the async adapter is shutting down and accepts no more jobs")
            for job, at in items:
                priority: int = _NO_PRIORITY if job.priority is None else job.priority
                payload = job.serialize()
                if at is not None and at.timestamp() > time.time():
                    entry = (at.timestamp(), priority, next(self._seq), payload)
                    heapq.heappush(self._scheduled, entry)
                else:
                    heapq.heappush(self._ready, (priority, next(self._seq), payload))
            self._start_threads()
            self._cond.notify(len(items))

    def _start_threads(self) -> None:
        while len(self._threads) < self.concurrency:
            thread = threading.Thread(
                target=self._work, name=f"jobframe-async-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _next(self) -> dict[str, Any] | None:
        """Block until a job is due (None once stopping and nothing is ready)."""
        with self._cond:
            while True:
                now = time.time()
                while self._scheduled and self._scheduled[0][0] <= now:
                    _, priority, seq, payload = heapq.heappop(self._scheduled)
                    heapq.heappush(self._ready, (priority, seq, payload))
                if self._ready:
                    self._running += 1
                    return heapq.heappop(self._ready)[2]
                if self._stopping:
                    return None
                timeout = self._scheduled[0][0] - now if self._scheduled else None
                self._cond.wait(timeout)

    def _work(self) -> None:
        from jobframe.job.base import Job

        while (payload := self._next()) is not None:
            try:
                Job.execute(payload)
                self.performed += 1
            except Exception:
                self.failed += 1
                log.exception("async adapter: job %s failed", payload.get("job_id"))
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None, include_scheduled: bool = False) -> bool:
        """Block until no job is ready or running (and none scheduled, if asked). True if idle."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._ready or self._running or (include_scheduled and self._scheduled):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop taking jobs, run what is ready for up to ``timeout`` s, drop the rest (logged)."""
        timeout = self.shutdown_timeout if timeout is None else timeout
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            dropped = len(self._ready) + len(self._scheduled)
            self._ready.clear()
            self._scheduled.clear()
        if dropped:
            log.warning("async adapter: shut down with %d job(s) not run (not durable)", dropped)
        atexit.unregister(self.shutdown)

    def sizes(self) -> dict[str, int]:
        with self._cond:
            return {
                "ready": len(self._ready),
                "scheduled": len(self._scheduled),
                "running": self._running,
            }


@hookimpl
def register_adapters(register: Any) -> None:
    register("async", AsyncAdapter)
