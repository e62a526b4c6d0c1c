"""The async adapter: jobs run on a pool of threads inside this process.

Honours ``wait``/``wait_until`` and priorities (lower first, then first-in first-out), pausing
queues, and keeps the last failed jobs for retry, so the dashboard works on it too. Nothing is
durable: at interpreter exit it waits up to ``shutdown_timeout`` seconds for ready and running
jobs, and logs how many it had to drop. Use a durable backend (redis, sql) in production.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.capabilities import Capabilities
from jobframe.errors import ConfigurationError, EnqueueError
from jobframe.hookspecs import hookimpl
from jobframe.queue_adapters.base import QueueAdapter
from jobframe.queue_adapters.payload import check_raw

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe.queue_adapters.async_inspector import AsyncInspector

log = logging.getLogger("jobframe")
_NO_PRIORITY = 2**62  # jobs without a priority run after every prioritised one


@dataclass
class Entry:
    """One job held by the adapter, in whatever state it is."""

    id: str
    queue: str
    priority: int
    seq: int
    payload: dict[str, Any]
    run_at: float
    state: str  # ready | scheduled | running | dead
    error: dict[str, Any] | None = None
    raw: bytes | None = None  # set by enqueue_raw: decoded (bounded) when the job runs
    failed_at: float | None = None  # epoch seconds, once dead


class AsyncAdapter(QueueAdapter):
    """Options: ``concurrency`` threads (default 4), ``shutdown_timeout`` seconds (default 10),
    ``keep_failed`` failed jobs kept for inspection and retry (default 1,000)."""

    name = "async"
    supports_bulk = True
    capabilities = Capabilities(bulk=True, raw_payloads=True, pause=True)

    def __init__(
        self,
        concurrency: int = 4,
        shutdown_timeout: float = 10.0,
        keep_failed: int = 1000,
        **options: Any,
    ) -> None:
        super().__init__(concurrency=concurrency, shutdown_timeout=shutdown_timeout, **options)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(
                f"async adapter: concurrency must be an int >= 1, got {concurrency!r}; "
                "fix adapter_options.concurrency."
            )
        self.concurrency = concurrency
        self.shutdown_timeout = float(shutdown_timeout)
        self.keep_failed = keep_failed
        self._cond = threading.Condition()
        self.entries: dict[str, Entry] = {}  # ready, scheduled and running jobs
        self.dead: OrderedDict[str, Entry] = OrderedDict()
        self.paused: set[str] = set()
        self._ready: list[tuple[int, int, str]] = []  # (priority, seq, id)
        self._scheduled: list[tuple[float, int, str]] = []  # (run at, seq, id)
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.counters: dict[tuple[str, str], int] = {}  # (kind, day) -> count
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

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Hold ``payload`` undecoded as a ready job on ``queue`` (see
        `QueueAdapter.enqueue_raw`); it is decoded when a thread takes it, and bytes that cannot
        become a job are kept with the failed jobs, with the reason."""
        name, data = check_raw(queue, payload)
        with self._cond:
            if self._stopping:
                raise EnqueueError("the async adapter is shutting down and accepts no more jobs")
            seq = next(self._seq)
            entry = Entry(
                f"async-{seq}", name, _NO_PRIORITY, seq, {}, time.time(), "ready", raw=data
            )
            self.entries[entry.id] = entry
            self._place(entry, entry.run_at)
            self._start_threads()
            self._cond.notify()
        return entry.id

    def _push(self, items: list[tuple[Job, datetime | None]]) -> None:
        with self._cond:
            if self._stopping:
                raise EnqueueError("the async adapter is shutting down and accepts no more jobs")
            now = time.time()
            for job, at in items:
                seq = next(self._seq)
                job.provider_job_id = f"async-{seq}"
                priority = _NO_PRIORITY if job.priority is None else job.priority
                run_at = now if at is None else at.timestamp()
                entry = Entry(
                    job.provider_job_id,
                    job.queue_name,
                    priority,
                    seq,
                    job.serialize(),
                    run_at,
                    "ready",
                )
                self.entries[entry.id] = entry
                self._place(entry, now)
            self._start_threads()
            self._cond.notify(len(items))

    def _place(self, entry: Entry, now: float) -> None:
        """Put an entry on the ready or the scheduled heap (call with the lock held)."""
        if entry.run_at > now:
            entry.state = "scheduled"
            heapq.heappush(self._scheduled, (entry.run_at, entry.seq, entry.id))
        else:
            entry.state = "ready"
            heapq.heappush(self._ready, (entry.priority, entry.seq, entry.id))

    def _start_threads(self) -> None:
        while len(self._threads) < self.concurrency:
            name = f"jobframe-async-{len(self._threads)}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> Entry | None:
        """Block until a job is due in an unpaused queue (None once stopping and none is)."""
        with self._cond:
            while True:
                now = time.time()
                while self._scheduled and self._scheduled[0][0] <= now:
                    entry = self.entries.get(heapq.heappop(self._scheduled)[2])
                    if entry is not None and entry.state == "scheduled":
                        entry.run_at = now
                        self._place(entry, now)
                skipped = []
                found = None
                while self._ready:
                    item = heapq.heappop(self._ready)
                    entry = self.entries.get(item[2])
                    if entry is None or entry.state != "ready":
                        continue  # removed meanwhile (cleared, discarded)
                    if entry.queue in self.paused:
                        skipped.append(item)
                        continue
                    found = entry
                    break
                for item in skipped:
                    heapq.heappush(self._ready, item)
                if found is not None:
                    found.state = "running"
                    return found
                if self._stopping:
                    return None
                timeout = self._scheduled[0][0] - now if self._scheduled else None
                self._cond.wait(timeout)

    def _work(self) -> None:
        from jobframe.job.base import Job
        from jobframe.worker import execution

        while (entry := self._next()) is not None:
            error: dict[str, Any] | None = None
            try:
                if entry.raw is None:
                    Job.execute(entry.payload)
                else:
                    error = self._run_raw(entry)
            except Exception as exc:
                error = execution.error_info(exc)
                log.exception("async adapter: job %s failed", entry.payload.get("job_id"))
            finally:
                with self._cond:
                    self._finish(entry, error)
                    self._cond.notify_all()

    def _run_raw(self, entry: Entry) -> dict[str, Any] | None:
        """Decode and run an `enqueue_raw` entry as a worker would; the error of bytes that
        cannot become a job (with its reason), or None once it ran."""
        from jobframe import config
        from jobframe.worker import execution
        from jobframe.worker.backend import Claim, Outcome

        assert entry.raw is not None
        claim = Claim(entry.id, "", entry.queue, entry.raw)
        loaded = execution.load(claim, config.settings().max_payload_bytes)
        if isinstance(loaded, Outcome):
            log.error(
                "async adapter: job %s is dead, its payload cannot run: %s",
                entry.id,
                (loaded.error or {}).get("reason"),
            )
            return loaded.error
        loaded.perform_now()
        return None

    def _finish(self, entry: Entry, error: dict[str, Any] | None) -> None:
        self.entries.pop(entry.id, None)
        day, minute = time.strftime("%Y-%m-%d", time.gmtime()), str(int(time.time() // 60))
        kinds = ("processed",) if error is None else ("processed", "failed")
        for kind in kinds:
            for period in (day, minute):
                self.counters[(kind, period)] = self.counters.get((kind, period), 0) + 1
        if error is not None:
            entry.state, entry.error, entry.failed_at = "dead", error, time.time()
            self.dead[entry.id] = entry
            while len(self.dead) > self.keep_failed:
                self.dead.popitem(last=False)

    @property
    def performed(self) -> int:
        return sum(n for (kind, p), n in self.counters.items() if kind == "processed" and "-" in p)

    @property
    def failed(self) -> int:
        return sum(n for (kind, p), n in self.counters.items() if kind == "failed" and "-" in p)

    def wait_idle(self, timeout: float | None = None, include_scheduled: bool = False) -> bool:
        """Block until no job is ready or running (and none scheduled, if asked). True if idle."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def busy() -> bool:
            states = {e.state for e in self.entries.values() if e.queue not in self.paused}
            return bool(
                states
                & ({"ready", "running", "scheduled"} if include_scheduled else {"ready", "running"})
            )

        with self._cond:
            while busy():
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
            dropped = sum(1 for e in self.entries.values() if e.state != "running")
            self.entries.clear()
            self._ready.clear()
            self._scheduled.clear()
        if dropped:
            log.warning("async adapter: shut down with %d job(s) not run (not durable)", dropped)
        atexit.unregister(self.shutdown)

    def sizes(self) -> dict[str, int]:
        with self._cond:
            states = [e.state for e in self.entries.values()]
            return {s: states.count(s) for s in ("ready", "scheduled", "running")}

    def inspector(self) -> AsyncInspector:
        from jobframe.queue_adapters.async_inspector import AsyncInspector

        return AsyncInspector(self)


@hookimpl
def register_adapters(register: Any) -> None:
    register("async", AsyncAdapter)
