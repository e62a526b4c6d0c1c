"""The worker process: fetch claims in batches, run them on threads (sync) or an event loop
(``async def perform``), report outcomes in batches, heartbeat, and shut down gracefully.

Threads, and why: the main thread handles signals and shutdown; the job threads fetch for
themselves, leader/follower style: an idle thread with nothing handed out becomes the one fetcher,
runs the first job of the batch itself and leaves the rest to the others, so a job taken by an
idle worker starts without waking a second thread (on a virtual machine each wake-up of a sleeping
thread costs a few hundred microseconds). One thread runs an asyncio loop for async jobs; a
reporter thread sends outcomes in batches; a maintenance thread heartbeats, promotes scheduled jobs
and reaps dead processes (`jobframe.worker.maintenance`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from jobframe import config
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe.job.execution import is_async
from jobframe.worker import execution, logs, signals
from jobframe.worker.chaining import Chaining
from jobframe.worker.flow_control import flow_middleware
from jobframe.worker.maintenance import Maintenance
from jobframe.worker.middleware import Chain, Middleware, WorkerContext
from jobframe.worker.middleware import installed as installed_middleware
from jobframe.worker.options import WorkerOptions
from jobframe.worker.outage import Outage, retry_briefly
from jobframe.worker.pool import JobPool
from jobframe.worker.prefetch import Prefetch
from jobframe.worker.recording import recording_middleware
from jobframe.worker.reporter import Reporter

log = logging.getLogger("jobframe.worker")

#: exit code of a worker that abandoned a job it could not stop (its supervisor replaces it)
EXIT_ABANDONED = 3


def _key(claim: Claim) -> tuple[str, str]:
    """What identifies one claim: the job's id and the claim token (guards check both)."""
    return (claim.id, claim.token)


class Companion(Protocol):
    """A thread that runs beside a worker (the recurring scheduler)."""

    def start(self) -> object: ...
    def stop(self) -> None: ...


def default_middleware(backend: WorkerBackend, options: WorkerOptions) -> list[Middleware]:
    """The middleware a `Worker` runs unless told otherwise: chaining, the records (for a
    backend that writes them) and the flow control (`jobframe.worker.flow_control`)."""
    return [
        Chaining(),  # before recording: its `finished` reads the job's record
        *recording_middleware(backend),  # first: its `finished` sees the final outcome
        *flow_middleware(backend, options.job_timeout, options.timeout_grace),
        *installed_middleware(),  # integrations' (`jobframe.worker.middleware.install`)
    ]


class Worker:
    """One worker process's runtime. ``run()`` blocks until stopped; returns the exit code.

    ``companions`` start once the worker is registered and stop first on shutdown, before the
    running jobs drain (a scheduler must not enqueue into a worker that is going away).
    ``middleware`` defaults to the records (`jobframe.worker.recording`, for a backend that
    writes them) and the flow control (`jobframe.worker.flow_control`).
    """

    def __init__(
        self,
        backend: WorkerBackend,
        options: WorkerOptions,
        companions: Sequence[Companion] = (),
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.backend = backend
        self.options = options
        self.companions = list(companions)
        self.process = ProcessInfo(str(uuid.uuid4()), options.queues, options.concurrency)
        # Claims held at most: running ones plus those fetched ahead for threads about to be free.
        self._prefetch = Prefetch(options.concurrency, options.prefetch)
        self._pool = JobPool(
            options.concurrency, self._next_work, self._run_sync, self._run_async, self._finish
        )
        # Every claim this process holds, queued or running, by (id, token): a backend may give
        # all the claims of one fetch the same token (SQL does), so the token alone is not a key.
        self._claimed: dict[tuple[str, str], Claim] = {}
        self._ready: deque[tuple[Claim, Any]] = deque()  # fetched, not started, for any thread
        self._fetching = False  # a job thread is fetching for everyone (the leader)
        self._slots = threading.Condition()
        self._outcomes: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._drained = threading.Event()  # the stop's drain is over: the heartbeat may end
        self._release_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self.processed = 0
        self._abandoned = False
        if middleware is None:
            middleware = default_middleware(backend, options)
        self._chain = Chain(middleware)
        self._chain.bind(WorkerContext(backend, self.process.id, self._abandon, self._stop))
        self._max_payload = options.max_payload_bytes or config.settings().max_payload_bytes
        self._fetch_outage = Outage("fetching jobs")
        self._reporter = Reporter(
            backend, self.process.id, self._outcomes, options.report_batch, options.report_linger
        )
        self._maintenance = Maintenance(
            backend, self.process.id, options, self._chain, self._pool, self._stop, self._drained
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self, install_signals: bool = True) -> int:
        if install_signals:
            signals.install(self, self.process.id, self._stop)
        if not self._register():
            return 0
        self._reporter.start()
        self._start(self._maintenance.run, "jobframe-heartbeat")
        self._pool.start()
        for companion in self.companions:
            companion.start()
        log.info(
            "worker %s started: queues=%s concurrency=%d",
            self.process.id,
            ",".join(self.options.queues),
            self.options.concurrency,
        )
        try:
            self._stop.wait()  # the job threads fetch and run; this one waits for a stop
        finally:
            self._shutdown()
        return EXIT_ABANDONED if self._abandoned else 0

    def _register(self) -> bool:
        """Record this process, waiting with backoff while the backend is unreachable (a worker
        started before its Redis or database is up waits for it rather than exit). False: the
        worker was stopped before it could register."""
        outage = Outage("registering the worker")
        while not self._stop.is_set():
            try:
                self.backend.register(self.process)
            except Exception as exc:
                self._stop.wait(outage.failed(exc))
            else:
                outage.recovered()
                return True
        return False

    def stop(self, release_now: bool = False, wake_in_thread: bool = False) -> None:
        """Stop fetching; finish running jobs (or release them at once).

        ``wake_in_thread``: wake the backend's blocked fetches from a thread of its own (what a
        signal handler asks: a second signal runs its handler on top of the first, and a
        backend's wake may take a lock the first still holds, pika's for one: a deadlock).
        """
        if release_now:
            self._release_now.set()
        self._stop.set()
        with self._slots:
            self._slots.notify_all()
        if wake_in_thread:
            threading.Thread(target=self._wake, name="jobframe-wake", daemon=True).start()
        else:
            self._wake()

    def _wake(self) -> None:
        try:
            self.backend.wake()
        except Exception:  # waking is best effort: the fetch times out anyway
            log.debug("wake failed", exc_info=True)

    def _start(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # -- fetching and running -------------------------------------------------------------------

    def _next_work(self) -> tuple[Claim, Any] | None:
        """The next job for the calling job thread; None once the worker stops.

        A claim fetched ahead is taken first; with none, and no other thread fetching, this
        thread fetches a batch for everyone (and keeps its first job); else it waits.
        """
        while True:
            with self._slots:
                while True:
                    if self._stop.is_set():
                        return None
                    if self._ready:
                        taken = self._ready.popleft()
                        if self._ready:
                            self._slots.notify()  # one more thread, if one is idle, for the rest
                        return taken
                    free = self._prefetch.capacity - len(self._claimed)
                    if not self._fetching and free > 0:
                        self._fetching = True
                        break
                    self._slots.wait()
            work = self._fetch(free)
            if work is not None:
                return work

    def _fetch(self, free: int) -> tuple[Claim, Any] | None:
        """Fetch up to ``free`` claims as the leader; return the one this thread runs first.

        Whatever happens in here, the leader's flag is cleared: a leader that left it set would
        make every other thread wait forever while the process still heartbeats, so the reaper
        would never take its claims back.
        """
        claims: list[Claim] = []
        try:
            claims = self._fetch_claims(free)
            work = self._prepare(claims)
        except BaseException as exc:
            with self._slots:
                self._fetching = False
                self._slots.notify()
            if not isinstance(exc, Exception):
                raise
            # A bug, not bad input (`_prepare` settles each claim alone): hand the batch back
            # to the backend rather than hold claims no thread will run.
            log.exception("preparing %d fetched job(s) failed; releasing them", len(claims))
            if claims:
                retry_briefly(
                    lambda: self.backend.release(self.process.id, claims),
                    "releasing a batch that could not be prepared",
                )
            return None
        unstartable: list[tuple[Claim, BaseException]] = []
        with self._slots:
            self._fetching = False
            for claim, _ in work:
                self._claimed[_key(claim)] = claim
            if self._stop.is_set():  # fetched while stopping: shutdown releases them
                self._ready.extend(work)
                self._slots.notify_all()
                return None
            sync = []
            for claim, job in work:
                if not is_async(getattr(type(job), "perform", None)):
                    sync.append((claim, job))
                    continue
                try:
                    self._pool.submit_async(claim, job)
                except Exception as exc:  # no event loop to run it on: report it, go on
                    unstartable.append((claim, exc))
            self._ready.extend(sync[1:])
            if work:
                # Wake one follower; each one that takes a job wakes the next while jobs are
                # left. Waking them all at once costs more than short jobs take to run.
                self._slots.notify()
        for claim, failure in unstartable:
            info = execution.error_info(failure, "worker error")
            self._finish(claim, Outcome(claim, "failed", info))
        return sync[0] if sync else None

    def _fetch_claims(self, free: int) -> list[Claim]:
        try:
            claims = self.backend.fetch(
                self.process.id, self.options.queue_order(), free, self.options.fetch_timeout
            )
        except Exception as exc:
            self._stop.wait(self._fetch_outage.failed(exc))  # still the leader: others wait
            return []
        self._fetch_outage.recovered()
        return claims

    def _prepare(self, claims: list[Claim]) -> list[tuple[Claim, Any]]:
        """The jobs of ``claims``; one that cannot become a job is logged and reported dead."""
        work, dead = execution.load_batch(claims, self._max_payload)
        for outcome in dead:
            outcome = self._chain.skipped(outcome.claim, None, outcome)
            self._outcomes.put(logs.unloadable(outcome))
        return work

    # A job is admitted (expired? throttled?) on the thread that runs it, not by the fetching
    # leader: a leader that deferred a whole batch of throttled jobs first would start its own
    # job late (measured on MariaDB: 8 reserve+defer round trips, 130 ms).

    def _run_sync(self, claim: Claim, job: Any) -> Outcome | None:
        verdict = self._chain.admit(claim, job)
        if verdict is not None:
            if not isinstance(verdict, Outcome):
                self._prefetch.put_back()
            return verdict if isinstance(verdict, Outcome) else None  # else: it settled it
        self._chain.started(claim, job)
        started = time.perf_counter()
        try:
            outcome = execution.run_sync(claim, job, self.backend)
        except BaseException as exc:  # a late JobTimeout, outside the job: still its failure
            outcome = Outcome(claim, "failed", execution.error_info(exc, "worker error"))
        self._prefetch.ran(time.perf_counter() - started)
        return self._chain.finished(claim, job, outcome)

    async def _run_async(self, claim: Claim, job: Any) -> Outcome | None:
        # With flow control, admitting may take round trips (reserve, defer): not on the loop.
        admit = self._chain.admit
        verdict = await asyncio.to_thread(admit, claim, job) if job.flow else admit(claim, job)
        if verdict is not None:
            return verdict if isinstance(verdict, Outcome) else None  # else: it settled it
        self._chain.started(claim, job)
        outcome = await execution.run_async(claim, job, self.backend)
        return self._chain.finished(claim, job, outcome)

    def _abandon(self, claim: Claim) -> None:
        """Leave ``claim`` unreleased and stop at once (see `jobframe.worker.time_limits`)."""
        with self._slots:
            self._claimed.pop(_key(claim), None)
            self._abandoned = True
        self.stop(release_now=True)

    def _finish(self, claim: Claim, outcome: Outcome | None) -> None:
        """Forget a claim; report its outcome (None: a middleware settled it, e.g. deferred)."""
        with self._slots:
            if self._claimed.pop(_key(claim), None) is None:
                return  # released at shutdown: the job belongs to its queue again
            self.processed += outcome is not None
            self._slots.notify()
        if outcome is not None:
            self._outcomes.put(outcome)

    # -- shutdown -------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.options.shutdown_timeout
        for companion in self.companions:
            companion.stop()
        with self._slots:
            self._slots.notify_all()  # threads waiting for work see the stop and end
            # A fetch in flight ends within the fetch timeout; what it brings lands in _ready.
            fetch_deadline = time.monotonic() + self.options.fetch_timeout + 10.0
            while self._fetching and time.monotonic() < fetch_deadline:
                self._slots.wait(fetch_deadline - time.monotonic())
            # Jobs fetched ahead that no thread has started go back to their queues first.
            unstarted = [c for c, _ in self._ready if self._claimed.pop(_key(c), None) is not None]
            self._ready.clear()
        if unstarted:
            self._release(unstarted)
        with self._slots:
            while self._claimed and not self._release_now.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._slots.wait(remaining)
            leftovers = list(self._claimed.values())
            self._claimed.clear()
        self._drained.set()
        self._pool.stop()
        self._reporter.close(self.options.report_timeout)
        # The heartbeat thread ends its round (a heartbeat, a maintenance pass) after the stop:
        # left running, it used the backend after run() returned, once the caller had disposed
        # of it (a connection opened on a closed adapter, leaked), or beat after deregister.
        # Bounded: a call hung on an unreachable backend must not hold the shutdown for long.
        for thread in self._threads:
            thread.join(5.0)
            if thread.is_alive():
                log.warning("%s is still in a backend call after the stop", thread.name)
        if leftovers:
            log.info("releasing %d unfinished job(s) back to their queues", len(leftovers))
            self._release(leftovers)
        if self._abandoned:
            # Its record must outlive it: the reaper takes the abandoned job back as a crash.
            log.error("worker %s stopped; it abandoned a job it could not stop", self.process.id)
        elif not retry_briefly(
            lambda: self.backend.deregister(self.process.id), "deregistering the worker"
        ):
            log.warning(
                "worker %s stopped without deregistering; its record stays until its heartbeat "
                "expires",
                self.process.id,
            )
        log.info("worker %s stopped after %d job(s)", self.process.id, self.processed)

    def _release(self, claims: list[Claim]) -> None:
        if not retry_briefly(
            lambda: self.backend.release(self.process.id, claims), "releasing jobs at shutdown"
        ):
            log.error(
                "stopping without releasing %d job(s): %s; the reaper returns them to their "
                "queues once this worker's heartbeat expires, as after a crash",
                len(claims),
                ", ".join(claim.id for claim in claims),
            )


__all__ = ["EXIT_ABANDONED", "Companion", "Worker", "WorkerOptions"]
