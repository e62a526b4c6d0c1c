"""`Middleware`: how a cross-cutting concern (expiry, throttling, cancellation, time limits)
plugs into the worker runtime, in one small module each, instead of an ``if`` in `runtime.py`.

Each hook does nothing by default; a middleware overrides the ones it needs. The runtime calls,
for every claimed job:

1. `Middleware.before_perform` in the thread about to perform it (for an async job with flow
   control, a helper thread of its event loop): a middleware may settle the claim instead;
2. `Middleware.started` in the thread (sync job) or event-loop task (async job) that performs
   it, and `Middleware.finished` in the same place once it ended (it may rewrite the `Outcome`);
   a job settled unperformed (expired, or a payload that could not become a job) goes through
   `Middleware.skipped` instead;

and `Middleware.tick` from the maintenance thread on every tick (every ``scheduler_interval``).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobframe.backend.worker import Claim, Outcome, WorkerBackend
from jobframe.worker.outage import retry_briefly

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
    #: set once the worker stops (SIGTERM): running continuations stop at their next checkpoint
    stopping: threading.Event = field(default_factory=threading.Event)


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

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        """A claim is settled unperformed with ``outcome``: a middleware's `before_perform`
        verdict (expired), or a dead payload that could not become a job (``job`` is None).
        Return the outcome (the same, or one that replaces it)."""
        return outcome

    def tick(self, now: float) -> None:
        """One maintenance tick (``now``: `time.monotonic`); keep it short, it delays heartbeats."""


class Chain:
    """The worker's middleware, called in order (``finished`` in reverse, like a stack)."""

    def __init__(self, middleware: Sequence[Middleware]) -> None:
        self.middleware = list(middleware)
        self._worker: WorkerContext | None = None
        # Each hook's middleware that override it, bound once: of the seven a Redis worker
        # runs, five keep `Middleware.before_perform` and two `started` and `finished`, nine
        # calls per job that did nothing.
        self._before = _overriding(self.middleware, "before_perform")
        self._started = _overriding(self.middleware, "started")
        self._finished = _overriding(self.middleware[::-1], "finished")
        self._skipped = _overriding(self.middleware[::-1], "skipped")

    def bind(self, worker: WorkerContext) -> None:
        self._worker = worker
        for item in self.middleware:
            item.bind(worker)

    def before_perform(self, claim: Claim, job: Any) -> Verdict:
        for before_perform in self._before:
            verdict: Verdict = before_perform(claim, job)
            if verdict is not None:
                return verdict
        return None

    def admit(self, claim: Claim, job: Any) -> Verdict:
        """`before_perform` of each middleware (an `Outcome` verdict goes through `skipped`);
        one that fails (an outage of the rate limiter) gives the claim back to the backend for
        now, and the answer is `SETTLED`."""
        try:
            verdict = self.before_perform(claim, job)
            if isinstance(verdict, Outcome):
                verdict = self.skipped(claim, job, verdict)
            return verdict
        except Exception:
            log.exception("deciding whether job %s may start failed; releasing it", claim.id)
        if self._worker is not None:
            worker = self._worker
            retry_briefly(lambda: worker.backend.release(worker.process_id, [claim]), "releasing")
        return SETTLED

    def started(self, claim: Claim, job: Any) -> None:
        for started in self._started:
            started(claim, job)

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        for finished in self._finished:
            outcome = finished(claim, job, outcome)
        return outcome

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        for skipped in self._skipped:
            outcome = skipped(claim, job, outcome)
        return outcome

    def tick(self, now: float) -> None:
        """Tick each middleware; one that fails is logged and the others still tick."""
        for item in self.middleware:
            try:
                item.tick(now)
            except Exception:
                log.exception("%s failed on a maintenance tick", type(item).__name__)


def _overriding(middleware: Sequence[Middleware], hook: str) -> list[Callable[..., Any]]:
    """The bound ``hook`` of each of ``middleware`` that is not `Middleware`'s own (in its
    class or set on the instance), in order."""
    base = getattr(Middleware, hook)
    return [
        getattr(item, hook)
        for item in middleware
        if hook in getattr(item, "__dict__", ()) or getattr(type(item), hook, None) is not base
    ]


__all__ = ["SETTLED", "Chain", "Middleware", "Settled", "Verdict", "WorkerContext"]


_installed: list[Callable[[], Middleware]] = []


def install(factory: Callable[[], Middleware]) -> None:
    """Give every worker made from now on a ``factory()`` middleware, after its defaults (an
    integration's concern, such as Django's database connections: `jobframe.contrib.django`)."""
    if factory not in _installed:
        _installed.append(factory)


def uninstall(factory: Callable[[], Middleware]) -> None:
    """Forget a factory given to `install`."""
    if factory in _installed:
        _installed.remove(factory)


def installed() -> list[Middleware]:
    """A new middleware from each installed factory, in the order they were installed."""
    return [factory() for factory in list(_installed)]
