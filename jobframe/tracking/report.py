"""`job_report`: everything kept about one job, by ``job_id``, in one read: what
``jobframe jobs show ID`` and the dashboard's job page show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from jobframe.backend.results import JobStatus
from jobframe.tracking import records
from jobframe.tracking.status import status_of, store_of

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter


class ProgressReport(NamedTuple):
    """The last progress a job reported: ``fraction`` (0 to 1) and its ``message``."""

    fraction: float
    message: str | None


@dataclass(frozen=True)
class JobReport:
    """One job's status and what its last record and running attempt say.

    ``result`` is the decoded stored result (None unless ``has_result``); a result that can no
    longer be decoded (a record deleted since) is None with ``result_error`` saying why.
    ``error`` is ``{class, message, traceback, reason}`` of a failed, dead, discarded or
    retrying attempt. Times are epoch seconds.
    """

    job_id: str
    status: JobStatus
    job_class: str | None = None
    queue: str | None = None
    attempts: int | None = None
    enqueued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    progress: ProgressReport | None = None
    result: Any = None
    has_result: bool = False
    result_error: str | None = None
    error: dict[str, Any] | None = None
    steps: dict[str, Any] | None = None
    batch_id: str | None = None
    chain: dict[str, Any] | None = None


def _progress(data: dict[str, Any]) -> ProgressReport | None:
    found = data.get("progress")
    if not isinstance(found, dict) or not isinstance(found.get("fraction"), int | float):
        return None
    message = found.get("message")
    return ProgressReport(float(found["fraction"]), message if isinstance(message, str) else None)


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def job_report(job_id: str, adapter: QueueAdapter | str | None = None) -> JobReport:
    """What ``adapter`` (default: the configured one) keeps about ``job_id``: a report with
    status ``unknown`` and nothing else when it knows nothing.

    While the job runs, its progress, steps and start time are the running attempt's; its
    class, attempts and error are its last record's (a retry's previous attempt).

    Raises:
        UnsupportedError: the adapter keeps no results.
    """
    state = store_of(adapter).status(job_id)
    data = records.decode(state.record.data) if state.record is not None else {}
    if state.state == "running" and state.progress:
        data = {k: v for k, v in data.items() if k not in ("finished_at", "progress", "steps")}
        data.update(records.decode(state.progress))
    has_result = bool(data.get("has_result")) and state.record is not None
    result, result_error = None, None
    if has_result:
        try:
            result = records.result_of(data)
        except Exception as exc:
            result_error = f"{type(exc).__name__}: {exc}"
    error = data.get("error")
    chain = data.get("chain")
    steps = data.get("steps")
    return JobReport(
        job_id=job_id,
        status=status_of(state),
        job_class=data.get("job_class"),
        queue=data.get("queue"),
        attempts=_number(data.get("attempts")),
        enqueued_at=_number(data.get("enqueued_at")),
        started_at=_number(data.get("started_at")),
        finished_at=_number(data.get("finished_at")) if state.state != "running" else None,
        progress=_progress(data),
        result=result,
        has_result=has_result,
        result_error=result_error,
        error=error if isinstance(error, dict) else None,
        steps=steps if isinstance(steps, dict) else None,
        batch_id=data.get("batch_id") if isinstance(data.get("batch_id"), str) else None,
        chain=chain if isinstance(chain, dict) else None,
    )


__all__ = ["JobReport", "ProgressReport", "job_report"]
