"""Turning a `Claim` into an `Outcome`: decode, resolve the class, perform, classify the result.

A payload that is too large, not UTF-8, too deeply nested, not JSON, names no registered job class,
or cannot be read for any other reason is dead at once (with its raw bytes kept by the backend);
nothing in it is imported or called.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jobframe.backend.payload import PayloadError, load_payload
from jobframe.backend.worker import Claim, Outcome, WorkerBackend
from jobframe.config import DEFAULT_MAX_PAYLOAD_BYTES
from jobframe.errors import Cancelled, DeserializationError, Interrupted, UnknownJobError
from jobframe.job.base import Job
from jobframe.job.enqueuing import retry_handoff
from jobframe.registry import name_of

current_claim: ContextVar[Claim | None] = ContextVar("jobframe_current_claim", default=None)
#: the ``reason`` of the error of a job stopped at a checkpoint (`jobframe.errors.Interrupted`):
#: `jobframe.worker.continuing` turns that outcome into the job re-enqueued; without it, the
#: job fails with this reason
INTERRUPTED = "interrupted"
#: job classes' wire names, built once per class (`name_of` costs 0.5 us on every job)
_names: dict[type[Job], str] = {}


def error_info(exc: BaseException, reason: str | None = None) -> dict[str, Any]:
    """What the dead set records about ``exc``: class, message, traceback and ``reason``."""
    return {
        "class": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": _message(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "reason": reason or "perform raised",
    }


def _message(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when even that fails (an exception whose ``__str__`` raises)."""
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose message cannot be shown>"


def load(claim: Claim, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> Job | Outcome:
    """The job a claim carries, or a dead `Outcome` saying why it cannot become one.

    Never raises: a payload comes from anywhere (another producer, ``enqueue_raw``, a hand-edited
    row), so any exception while decoding it or building its job, expected or not, makes that one
    job dead with the reason, and the worker goes on with the others.
    """
    try:
        payload = load_payload(claim.payload, max_bytes)
    except PayloadError as exc:
        return Outcome(claim, "dead", error_info(exc, exc.reason))
    try:
        job: Job = Job.deserialize(payload)
        job.provider_job_id = claim.id
    except UnknownJobError as exc:
        return Outcome(claim, "dead", error_info(exc, "unknown job class"))
    except DeserializationError as exc:
        return Outcome(claim, "dead", error_info(exc, "malformed payload"))
    except Exception as exc:
        return Outcome(claim, "dead", error_info(exc, "payload could not be loaded"))
    return job


def load_batch(
    claims: list[Claim], max_bytes: int
) -> tuple[list[tuple[Claim, Job]], list[Outcome]]:
    """`load` for each claim of a fetch: the jobs to run, and the dead outcomes of the others
    (the runtime logs each at ERROR: an operator must hear of a job that cannot run).
    One claim's failure never touches the rest of its batch."""
    work: list[tuple[Claim, Job]] = []
    dead: list[Outcome] = []
    for claim in claims:
        try:
            loaded = load(claim, max_bytes)
        except Exception as exc:  # load() catches everything; this guards against its bugs
            loaded = Outcome(claim, "dead", error_info(exc, "payload could not be loaded"))
        if isinstance(loaded, Outcome):
            dead.append(loaded)
        else:
            work.append((claim, loaded))
    return work, dead


def finished(
    claim: Claim,
    job: Job,
    exc: BaseException | None,
    retries: list[Any],
    runtime: float | None = None,
) -> Outcome:
    """Classify how ``job`` ended: done, cancelled (it raised `jobframe.Cancelled`), failed, or
    failed with reason `INTERRUPTED` (stopped at a checkpoint, for `jobframe.worker.continuing`).

    ``runtime`` (seconds ``perform`` ran) and the job's class name go into the outcome, for the
    backend's per-class timings (`jobframe.backend.timings`): every run that performed counts,
    whatever its status (a cancelled or interrupted run took its time too)."""
    kind = type(job)
    cls = _names.get(kind) or _names.setdefault(kind, name_of(kind))
    executions = job.executions
    if exc is None:
        return Outcome(claim, "done", None, executions, tuple(retries), (), runtime, cls)
    if isinstance(exc, Cancelled):
        return Outcome(claim, "cancelled", None, executions, (), (), runtime, cls)
    if isinstance(exc, Interrupted):
        error = error_info(exc, INTERRUPTED)
        return Outcome(claim, "failed", error, executions, (), (), runtime, cls)
    return Outcome(claim, "failed", error_info(exc), executions, tuple(retries), (), runtime, cls)


def _handoff(backend: WorkerBackend | None, retries: list[Any]) -> Any:
    """The `retry_handoff` that collects a block's retries into ``retries``."""

    def handoff(job: Job, adapter: Any) -> bool:
        entry = backend.retry_entry(job, adapter) if backend is not None else None
        if entry is None:
            return False
        retries.append(entry)
        return True

    return handoff


@contextmanager
def handing_off(backend: WorkerBackend | None) -> Iterator[list[Any]]:
    """Collect, as `WorkerBackend.retry_entry` s, the jobs re-enqueued as retries in the block
    (written by `WorkerBackend.complete` with the claim's outcome, in one step)."""
    retries: list[Any] = []
    token = retry_handoff.set(_handoff(backend, retries))
    try:
        yield retries
    finally:
        retry_handoff.reset(token)


class _Claimed:
    """Mark ``claim`` as the one being run, and collect the retries its job asks for, being the
    block's `retry_handoff` itself (a class, not two nested generator context managers: it runs
    for every job, and those cost 2 µs; and no handoff closure made per job)."""

    __slots__ = ("backend", "claim", "retries", "tokens")

    def __init__(self, claim: Claim, backend: WorkerBackend | None) -> None:
        self.claim, self.backend = claim, backend

    def __enter__(self) -> list[Any]:
        self.retries: list[Any] = []
        self.tokens = (current_claim.set(self.claim), retry_handoff.set(self))
        return self.retries

    def __call__(self, job: Job, adapter: Any) -> bool:
        """The retry handoff: a retry of the job goes into the outcome's retries."""
        entry = self.backend.retry_entry(job, adapter) if self.backend is not None else None
        if entry is None:
            return False
        self.retries.append(entry)
        return True

    def __exit__(self, *exc: object) -> None:
        claim_token, handoff_token = self.tokens
        retry_handoff.reset(handoff_token)
        current_claim.reset(claim_token)


def run_sync(claim: Claim, job: Job, backend: WorkerBackend | None = None) -> Outcome:
    """Perform a job in this thread (a pool thread of the worker)."""
    with _Claimed(claim, backend) as retries:
        start = time.perf_counter()
        try:
            job.perform_now()
        except (Exception, Interrupted) as exc:
            return finished(claim, job, exc, retries, time.perf_counter() - start)
        runtime = time.perf_counter() - start
    return finished(claim, job, None, retries, runtime)


async def run_async(claim: Claim, job: Job, backend: WorkerBackend | None = None) -> Outcome:
    """Perform a job whose ``perform`` is ``async def`` on the worker's event loop."""
    with _Claimed(claim, backend) as retries:
        start = time.perf_counter()
        try:
            await job.perform_now_async()
        except (Exception, Interrupted) as exc:
            return finished(claim, job, exc, retries, time.perf_counter() - start)
        runtime = time.perf_counter() - start
    return finished(claim, job, None, retries, runtime)
