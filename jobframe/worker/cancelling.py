"""Cancellation of running jobs: about once a second, while jobs run, ask the backend in one
round trip which of them `jobframe.cancel` asked to stop (`WorkerBackend.cancelled`), and flag
those (``job.cancelled`` becomes true; ``job.check_cancelled()`` raises `jobframe.Cancelled`).

A job that raises `jobframe.Cancelled` is settled as ``cancelled`` (`jobframe.worker.execution`):
not failed and never retried; ``retry_on``, ``discard_on`` and ``rescue_from`` do not see it, its
``after_discard`` callbacks run (the job is dropped unfinished). A ``cancel`` event follows.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from jobframe import notifications
from jobframe.backend.worker import Claim, Outcome
from jobframe.worker.middleware import Middleware, WorkerContext

log = logging.getLogger("jobframe.worker")

#: seconds between two questions to the backend while jobs run
POLL_INTERVAL = 1.0


class Cancelling(Middleware):
    def __init__(self, interval: float = POLL_INTERVAL) -> None:
        self.interval = interval
        self._worker: WorkerContext | None = None
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], tuple[Claim, Any]] = {}
        self._next_poll = 0.0

    def bind(self, worker: WorkerContext) -> None:
        self._worker = worker

    def started(self, claim: Claim, job: Any) -> None:
        with self._lock:
            self._running[(claim.id, claim.token)] = (claim, job)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        with self._lock:
            self._running.pop((claim.id, claim.token), None)
        if outcome.status == "cancelled":
            with notifications.instrument("cancel", job, running=True):
                pass
        return outcome

    def tick(self, now: float) -> None:
        if now < self._next_poll or self._worker is None:
            return
        with self._lock:
            running = [entry for entry in self._running.values() if not entry[1].cancelled]
        if not running:
            return  # nothing runs: no round trip
        self._next_poll = now + self.interval
        tokens = sorted({claim.token for claim, _ in running})
        try:
            asked = self._worker.backend.cancelled(self._worker.process_id, tokens)
        except Exception as exc:  # an outage: the next poll asks again
            log.warning("asking which running jobs were cancelled failed: %r", exc)
            return
        for claim, job in running:
            if claim.token in asked:
                job._cancel_requested = True
