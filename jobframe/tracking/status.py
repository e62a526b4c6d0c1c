"""`job_status` and `job_result`: a job's status and stored result, by ``job_id``, from any
process (DESIGN.md 6.4).

The status is computed here from what the backend's `ResultStore.status` returns, a `JobState`:
the job's live state (where it is stored now) wins over its last record, except that a job
waiting after a failed attempt (its last record says ``retrying``) is ``retrying``, and a job in
the dead set is ``failed`` or ``dead`` as its record says.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobframe import queue_adapters
from jobframe.backend.capabilities import unsupported
from jobframe.backend.results import FINAL, JobRecord, JobState, JobStatus, ResultStore
from jobframe.errors import JobFailed, NoResultError, ResultTimeout
from jobframe.tracking import records

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter


def store_of(adapter: QueueAdapter | str | None = None) -> ResultStore:
    """The `ResultStore` of ``adapter`` (None: the configured adapter).

    Raises:
        UnsupportedError: the adapter keeps no status (``capabilities.results`` is False).
    """
    found = queue_adapters.get(adapter)
    store = found.results() if found.capabilities.results else None
    if store is None:
        raise unsupported(found, "results")
    return store


def status_of(state: JobState) -> JobStatus:
    """The `JobStatus` a `JobState` means (the mapping of the module doc)."""
    record = state.record
    last = record.status if record is not None else None
    live = state.state
    if live == "running":
        return "running"
    if live in ("scheduled", "ready", "blocked"):
        if last == "retrying":
            return "retrying"
        return "scheduled" if live == "scheduled" else "ready"
    if live == "dead":
        return "failed" if last == "failed" else "dead"
    return last if last is not None else "unknown"


def job_status(job_id: str, adapter: QueueAdapter | str | None = None) -> JobStatus:
    """Where the job ``job_id`` is: ``scheduled``, ``ready``, ``running``, ``succeeded``,
    ``failed``, ``retrying``, ``discarded``, ``dead``, ``cancelled`` or ``unknown`` (never seen,
    or its record expired after ``history_ttl`` / ``result_ttl``).

    Raises:
        UnsupportedError: ``adapter`` (default: the configured one) keeps no status.
    """
    return status_of(store_of(adapter).status(job_id))


def job_result(
    job_id: str, timeout: float | None = None, adapter: QueueAdapter | str | None = None
) -> Any:
    """The value the job ``job_id`` returned, waiting up to ``timeout`` seconds for it to finish
    (None: do not wait; answer from what is stored now). A waiter is woken by the backend when
    the job finishes, not by polling (SQLite and MariaDB poll, see their adapters).

    Raises:
        JobFailed: the job failed (no retry follows), went dead, was discarded or cancelled.
        ResultTimeout: it had not finished within ``timeout`` (or now, for None).
        NoResultError: it finished but kept no result (its class lacks ``store_result = True``).
        UnsupportedError: ``adapter`` keeps no results.
    """
    store = store_of(adapter)
    record = _final(store, job_id, timeout)
    if record is None:
        waited = "" if timeout is None else f" within {timeout:g}s"
        raise ResultTimeout(f"job {job_id} has not finished{waited}")
    return outcome_of(record)


#: where a job that will run (again) waits or runs
_LIVE = frozenset({"scheduled", "ready", "blocked", "running"})
#: seconds between two reads while a job retried from the dead set runs again
_RERUN_POLL = 0.1


def _final(store: ResultStore, job_id: str, timeout: float | None) -> JobRecord | None:
    """The final record to answer from: None while the job has not ended (within ``timeout``).

    A job retried from the dead set (or run again by an operator) keeps its old final record
    beside its new live state until it ends again: that record is not its answer. `wait`
    returns it at once, so this case (rare: an operator's retry) reads again every 0.1 s.
    """
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
    deadline = time.monotonic() + (timeout or 0.0)
    state = store.status(job_id)
    while True:
        record = state.record
        if record is not None and record.status in FINAL and state.state not in _LIVE:
            return record
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        if record is None or record.status not in FINAL:
            return store.wait(job_id, remaining)  # the first final record is this run's
        time.sleep(min(_RERUN_POLL, remaining))  # its old record stands until it ends
        state = store.status(job_id)


def outcome_of(record: JobRecord) -> Any:
    """The result a final record holds, or the error it means (see `job_result`)."""
    data = records.decode(record.data)
    if record.status != "succeeded":
        error = data.get("error") or {}
        raise JobFailed(
            record.job_id,
            record.status,
            error.get("class"),
            error.get("message"),
            error.get("traceback"),
        )
    if not data.get("has_result"):
        raise NoResultError(
            f"job {record.job_id} succeeded but kept no result: set store_result = True on "
            f"{data.get('job_class') or 'its class'} (or enqueue it with "
            "set(store_result=True)) to keep what perform returns."
        )
    return records.result_of(data)


__all__ = ["job_result", "job_status", "outcome_of", "status_of", "store_of"]
