"""The worker's reporter thread: sends job outcomes to the backend in batches, and at shutdown
stops within a deadline even when the backend is unreachable.

Outcomes wait here until the backend takes them; their claims stay with the worker meanwhile, so
nothing is lost while the backend is down. A stopping worker cannot wait forever, though: after
the deadline what is left is logged at ERROR with the job ids and given up. The backend still
holds those claims for the stopped process, and the reaper returns them to their queues once its
heartbeat expires, exactly as after a crash (at-least-once: the jobs run again).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from jobframe.backend.worker import Outcome, WorkerBackend
from jobframe.worker.outage import Outage

log = logging.getLogger("jobframe.worker")

#: beyond the deadline, how long `Reporter.close` still waits for a call already in flight
#: (the backend's own socket timeout bounds it; Redis and SQL default to 10 s or less)
IN_FLIGHT_GRACE = 15.0


class Reporter:
    """Reads outcomes from ``outcomes`` (None: no more) and reports them with ``complete``.

    Parameters:
        batch: the most outcomes sent in one call.
        linger: how long a small batch waits for more outcomes to join it.
    """

    def __init__(
        self,
        backend: WorkerBackend,
        process_id: str,
        outcomes: queue.SimpleQueue[Outcome | None],
        batch: int,
        linger: float,
    ) -> None:
        self.backend, self.process_id, self.outcomes = backend, process_id, outcomes
        self.batch, self.linger = batch, linger
        self.outage = Outage("reporting finished jobs")
        self._deadline: float | None = None  # set by close(): reporting ends by then
        self._bounded = threading.Event()  # set with it, to cut a retry's pause short
        self._thread = threading.Thread(target=self._run, name="jobframe-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float) -> None:
        """Report what is queued, giving up after ``timeout`` seconds of failed attempts."""
        self._deadline = time.monotonic() + timeout
        self._bounded.set()
        self.outcomes.put(None)
        if not self._thread.is_alive():
            return
        self._thread.join(timeout + IN_FLIGHT_GRACE)
        if self._thread.is_alive():
            log.error(
                "the reporter is still waiting for the backend; stopping without it (the jobs "
                "it holds are returned to their queues by the reaper, as after a crash)"
            )

    def _run(self) -> None:
        while True:
            first = self.outcomes.get()
            batch = [] if first is None else [first]
            closing = first is None
            if not closing and self.linger > 0:
                # Sleep, then take what came meanwhile: waiting in `get` woke this thread (and
                # took the GIL from a job thread) for every outcome of the batch.
                time.sleep(self.linger)
            while not closing and len(batch) < self.batch:
                try:
                    item = self.outcomes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            if batch:
                self._complete(batch)
            if closing:
                return

    def _complete(self, batch: list[Outcome]) -> None:
        """Report ``batch``, retrying with backoff while the backend is unreachable, until the
        deadline once the worker is stopping."""
        while True:
            deadline = self._deadline
            if deadline is not None and self.outage.down and time.monotonic() >= deadline:
                self._abandon(batch)
                return
            try:
                self.backend.complete(self.process_id, batch)
            except Exception as exc:
                delay = self.outage.failed(exc)
            else:
                self.outage.recovered()
                return
            deadline = self._deadline
            if deadline is None:
                self._bounded.wait(delay)
            else:
                time.sleep(max(0.0, min(delay, deadline - time.monotonic())))

    def _abandon(self, batch: list[Outcome]) -> None:
        since = self.outage.since if self.outage.since is not None else time.monotonic()
        log.error(
            "stopping without reporting %d finished job(s), the backend unreachable for %.1fs: "
            "%s; the backend still holds their claims for this worker, and the reaper returns "
            "them to their queues (to run again) once its heartbeat expires, as after a crash",
            len(batch),
            time.monotonic() - since,
            ", ".join(f"{outcome.claim.id} ({outcome.status})" for outcome in batch),
        )
