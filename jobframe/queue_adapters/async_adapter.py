"""The async adapter: jobs run on threads of this process, through the shared worker runtime.

Jobs are kept in a `MemoryStore` (the in-memory `WorkerBackend`), and a
`jobframe.worker.runtime.Worker` runs them on background threads started by the first enqueue:
the same claims, retries, dead set, pause and inspector as the durable backends, without a
server. Nothing is durable: at interpreter exit the adapter stops promoting scheduled jobs, runs
the ready ones for up to ``shutdown_timeout`` seconds, and logs how many it had to drop. Use a
durable backend (redis, sql) in production.

Flow control (`jobframe.backend.flow`) lives in the store as well, so every capability is
declared: unique locks are taken under the lock that writes the job, concurrency slots and the
jobs they block change with the claims, and the rate limiter is shared by the worker threads.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.payload import check_raw
from jobframe.errors import ConfigurationError, DuplicateJobError, EnqueueError
from jobframe.hookspecs import hookimpl
from jobframe.queue_adapters.memory_results import MemoryResults
from jobframe.queue_adapters.memory_store import Entry, MemoryStore
from jobframe.recurrence.memory import MemoryRecurring, memory_recurring

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe.queue_adapters.async_inspector import AsyncInspector
    from jobframe.recurrence import Scheduler
    from jobframe.worker.runtime import Worker

log = logging.getLogger("jobframe")


class AsyncAdapter(QueueAdapter):
    """Options: ``concurrency`` threads (default 4), ``shutdown_timeout`` seconds (default 10),
    ``keep_failed`` failed jobs kept for inspection and retry (default 1,000), ``scheduler``
    (default True: the worker threads, once started, run the recurring tasks too), ``autostart``
    (default True): False runs no worker of the adapter's own, and `worker_backend` then gives
    the store for a `Worker` the caller runs (tests that look at jobs before any runs)."""

    name = "async"
    capabilities = Capabilities(
        bulk=True,
        raw_payloads=True,
        pause=True,
        recurring=True,
        unique=True,
        concurrency_limits=True,
        rate_limits=True,
        expiry=True,
        timeouts=True,
        cancel=True,
        continuations=True,
        results=True,
        batches=True,
        chains=True,
        timings=True,
    )

    def __init__(
        self,
        concurrency: int = 4,
        shutdown_timeout: float = 10.0,
        keep_failed: int = 1000,
        autostart: bool = True,
        scheduler: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(concurrency=concurrency, shutdown_timeout=shutdown_timeout, **options)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(
                f"async adapter: concurrency must be an int >= 1, got {concurrency!r}; "
                "fix adapter_options.concurrency."
            )
        if isinstance(keep_failed, bool) or not isinstance(keep_failed, int) or keep_failed < 0:
            raise ConfigurationError(
                f"async adapter: keep_failed must be an int >= 0 (dead jobs kept), got "
                f"{keep_failed!r}; fix adapter_options.keep_failed."
            )
        self.concurrency = concurrency
        self.shutdown_timeout = float(shutdown_timeout)
        self.autostart = autostart
        #: run the recurring tasks' scheduler beside the worker threads (when it starts them)
        self.run_scheduler = scheduler
        self._scheduler: Scheduler | None = None
        self.store = MemoryStore(keep_failed, owner=self)
        self._worker: Worker | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()
        self._stopping = False
        atexit.register(self.shutdown)

    # -- enqueueing -----------------------------------------------------------------------------

    def enqueue(self, job: Job) -> None:
        """Store ``job`` as ready.

        Raises:
            DuplicateJobError: another job holds its unique lock; nothing was stored.
        """
        for entry in self._add([self.store.job_entry(job, None)]):
            raise duplicate(entry)

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        """Store ``job`` as due at ``timestamp``.

        Raises:
            DuplicateJobError: another job holds its unique lock; nothing was stored.
        """
        for entry in self._add([self.store.job_entry(job, timestamp)]):
            raise duplicate(entry)

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        entries = [self.store.job_entry(job, job.scheduled_at) for job in jobs]
        refused = {entry.id: entry for entry in self._add(entries)}
        for job in jobs:
            entry = refused.get(job.provider_job_id or "")
            job.successfully_enqueued = entry is None
            if entry is not None:
                job.enqueue_error = duplicate(entry)
        return len(jobs) - len(refused)

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Hold ``payload`` undecoded as a ready job on ``queue`` (see
        `QueueAdapter.enqueue_raw`); a worker thread decodes it as any worker would, and bytes
        that cannot become a job go to the dead set with the reason."""
        name, data = check_raw(queue, payload)
        entry = self.store.new_entry(new_id(), name, None, data, None)
        entry.raw = True
        for refused in self._add([entry]):
            raise duplicate(refused)
        return entry.id

    def _add(self, entries: list[Entry]) -> list[Entry]:
        """Store ``entries``; returns those refused as duplicates."""
        if self._stopping:
            raise EnqueueError("the async adapter is shutting down and accepts no more jobs")
        refused = self.store.add(entries)
        self.ensure_started()
        return refused

    def ensure_started(self) -> None:
        """Start the worker threads now unless they run already or ``autostart`` is off."""
        if self._worker is None and self.autostart:
            self.start()

    # -- the worker -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads (the first enqueue does); idempotent."""
        from jobframe.worker.runtime import Worker, WorkerOptions

        with self._starting:
            if self._worker is not None or self._stopping:
                return
            options = WorkerOptions(
                queues=["*"],
                concurrency=self.concurrency,
                prefetch=0,  # fetching is cheap here, and a job fetched ahead could be overtaken
                report_linger=0.0,  # reporting costs a lock, not a round trip: never wait
                shutdown_timeout=0.0,  # `shutdown` drains before it stops the worker
                fetch_timeout=5.0,  # `wake` and enqueues end a fetch's wait early
            )
            worker = Worker(self.store, options)
            self._thread = threading.Thread(
                target=worker.run,
                kwargs={"install_signals": False},
                name="jobframe-async-worker",
                daemon=True,
            )
            self._worker = worker
            self._thread.start()
            if self.run_scheduler:
                self._start_scheduler()

    def _start_scheduler(self) -> None:
        """The in-process scheduler of the recurring tasks, if there are any (a bad task raises
        its `ConfigurationError` here, where the worker starts)."""
        from jobframe.recurrence import Scheduler, tasks

        found = tasks()
        if found:
            self._scheduler = Scheduler(self, found)
            self._scheduler.start()

    @property
    def performed(self) -> int:
        """Jobs run to their end in this process, failed ones included."""
        return self._total("processed")

    @property
    def failed(self) -> int:
        """Jobs that failed (their exception outlived every retry) or could not be loaded."""
        return self._total("failed")

    def _total(self, kind: str) -> int:
        with self.store.lock:
            return sum(n for (k, p), n in self.store.counters.items() if k == kind and "-" in p)

    def wait_idle(self, timeout: float | None = None, include_scheduled: bool = False) -> bool:
        """Block until no job is ready (in an unpaused queue) or running, nor scheduled if
        ``include_scheduled``; True once idle, False at the timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        store = self.store
        with store.lock:
            while store.busy(include_scheduled):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                store.changed.wait(remaining)
            return True

    def sizes(self) -> dict[str, int]:
        """How many jobs are ``ready``, ``scheduled``, ``running`` and ``blocked``."""
        with self.store.lock:
            return self._sizes()

    def _sizes(self) -> dict[str, int]:
        found = {"ready": 0, "scheduled": 0, "running": 0, "blocked": 0}
        for (state, _), n in self.store.sizes.items():
            if state != "dead":
                found["running" if state == "claimed" else state] += n
        return found

    def shutdown(self, timeout: float | None = None) -> None:
        """Refuse new jobs, stop promoting scheduled ones, run the ready ones for up to
        ``timeout`` seconds (default ``shutdown_timeout``), then stop the worker and log how many
        jobs were not run."""
        timeout = self.shutdown_timeout if timeout is None else timeout
        with self._starting:
            if self._stopping:
                return
            self._stopping = True
        atexit.unregister(self.shutdown)
        if self._scheduler is not None:
            self._scheduler.stop()
        with self.store.lock:
            self.store.promoting = False
        deadline = time.monotonic() + timeout
        if self._worker is not None:
            self.wait_idle(timeout)
            self._worker.stop(release_now=True)
            assert self._thread is not None
            self._thread.join(max(0.0, deadline - time.monotonic()) + 5.0)
        left = self.sizes()
        dropped = sum(left.values())
        if dropped:
            detail = ", ".join(f"{n} {state}" for state, n in left.items() if n)
            log.warning(
                "async adapter: shut down with %d job(s) not run (%s; not durable)",
                dropped,
                detail,
            )

    def recurring(self) -> MemoryRecurring:
        """Tick marks kept in this process: schedulers in it claim each tick once."""
        return memory_recurring(self)

    def worker_backend(self) -> MemoryStore | None:
        """The store, for a worker the caller runs, when ``autostart`` is off; None otherwise
        (the adapter runs its own worker, and `jobframe work` in another process could not
        reach this process's memory)."""
        return None if self.autostart else self.store

    def results(self) -> MemoryResults:
        """Status, records and progress of this adapter's jobs, kept in its store."""
        return self.store.results

    def inspector(self) -> AsyncInspector:
        from jobframe.queue_adapters.async_inspector import AsyncInspector

        return AsyncInspector(self)


def duplicate(entry: Entry) -> DuplicateJobError:
    """The error for an entry the store refused: another job holds its unique lock."""
    unique = entry.flow.unique if entry.flow else None
    key = unique.key if unique else ""
    return DuplicateJobError(
        f"job {entry.job_id} was not enqueued: an equal job holds its unique lock {key!r} "
        "(@jobframe.unique); it is enqueued once that job reaches its `until` point or the lock's "
        "`for_` lapses",
        key,
    )


@hookimpl
def register_adapters(register: Any) -> None:
    register("async", AsyncAdapter)
