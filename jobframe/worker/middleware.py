"""`Middleware`: how a cross-cutting concern (expiry, throttling, cancellation, time limits)
plugs into the worker runtime, in one small module each, instead of an ``if`` in `runtime.py`.

Each hook does nothing by default; a middleware overrides the ones it needs. The runtime calls,
for every claimed job:

1. `Middleware.before_perform` in the thread that fetched it, before a thread takes it: a
   middleware may settle the claim instead of performing it;
2. `Middleware.started` in the thread (sync job) or event-loop task (async job) about to perform
   it, and `Middleware.finished` in the same place once it ended (it may rewrite the `Outcome`);

and `Middleware.tick` from the maintenance thread on every tick (every ``scheduler_interval``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jobframe.backend.worker import Claim, Outcome, WorkerBackend

log = logging.getLogger("jobframe.worker")


class Settled(enum.Enum):
    """`Middleware.before_perform`'s answer when it settled the claim itself (e.g. deferred it)."""

    SETTLED = "settled"


SETTLED = Settled.SETTLED
#: what `Middleware.before_perform` returns: None (perform the job), an `Outcome` (settle the
#: claim with it, unperformed) or `SETTLED` (the middleware gave the claim back itself)
Verdict = Outcome | Settled | None


@dataclass(frozen=True)
class WorkerContext:
    """What a middleware may use of the worker it is plugged into."""

    backend: WorkerBackend
    process_id: str
    #: give up a claim whose job cannot be stopped: the process exits without releasing it, so
    #: the reaper takes it back as a crash (counted toward ``max_crashes``)
    abandon: Callable[[Claim], None]


class Middleware:
    """A runtime concern; every hook does nothing by default. Hooks run on several threads at
    once (one per running job, plus the maintenance thread): guard shared state."""

    def bind(self, worker: WorkerContext) -> None:
        """Called once, before the worker fetches its first job."""

    def before_perform(self, claim: Claim, job: Any) -> Verdict:
        """Decide whether a freshly claimed job runs (None) or is settled unperformed.

        Returns:
            None, an `Outcome` for the runtime to report, or `SETTLED`.
        """
        return None

    def started(self, claim: Claim, job: Any) -> None:
        """The job is about to be performed, in the thread or task that performs it."""

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        """The job ended; return its outcome (the same, or one that replaces it)."""
        return outcome

    def tick(self, now: float) -> None:
        """One maintenance tick (``now``: `time.monotonic`); keep it short, it delays heartbeats."""


class Chain:
    """The worker's middleware, called in order (``finished`` in reverse, like a stack)."""

    def __init__(self, middleware: Sequence[Middleware]) -> None:
        self.middleware = list(middleware)

    def bind(self, worker: WorkerContext) -> None:
        for item in self.middleware:
            item.bind(worker)

    def before_perform(self, claim: Claim, job: Any) -> Verdict:
        for item in self.middleware:
            verdict = item.before_perform(claim, job)
            if verdict is not None:
                return verdict
        return None

    def screen(
        self, loaded: list[tuple[Claim, Any]]
    ) -> tuple[list[tuple[Claim, Any]], list[Outcome], list[Claim]]:
        """`before_perform` for each job of a fetch.

        Returns:
            The jobs to run, the outcomes of those settled unperformed (for the runtime to
            report), and the claims whose check failed (for the runtime to release).
        """
        work: list[tuple[Claim, Any]] = []
        settled: list[Outcome] = []
        failed: list[Claim] = []
        for claim, job in loaded:
            try:
                verdict = self.before_perform(claim, job)
            except Exception:
                log.exception("deciding whether job %s may start failed; releasing it", claim.id)
                failed.append(claim)
                continue
            if verdict is None:
                work.append((claim, job))
            elif verdict is not SETTLED:
                settled.append(verdict)
        return work, settled, failed

    def started(self, claim: Claim, job: Any) -> None:
        for item in self.middleware:
            item.started(claim, job)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        for item in reversed(self.middleware):
            outcome = item.finished(claim, job, outcome)
        return outcome

    def tick(self, now: float) -> None:
        """Tick each middleware; one that fails is logged and the others still tick."""
        for item in self.middleware:
            try:
                item.tick(now)
            except Exception:
                log.exception("%s failed on a maintenance tick", type(item).__name__)


def overrides(backend: WorkerBackend, method: str) -> bool:
    """True when ``backend`` implements an optional `WorkerBackend` method (``reserve``,
    ``cancelled``) rather than inheriting the default that says "not here"."""
    return getattr(type(backend), method) is not getattr(WorkerBackend, method)


__all__ = ["SETTLED", "Chain", "Middleware", "Settled", "Verdict", "WorkerContext", "overrides"]
