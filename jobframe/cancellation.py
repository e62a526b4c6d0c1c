"""`cancel`: stop a job by its id, from any process (``jobframe jobs cancel ID``, the dashboard).

A job still waiting (ready, scheduled, blocked) is removed and counted as cancelled. A running
job is flagged: its worker sees the flag within about a second, sets ``job.cancelled`` and raises
`jobframe.Cancelled` at the job's next checkpoint (``self.check_cancelled()``), so the job stops
where it is safe to; its claim is then settled as ``cancelled``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobframe import queue_adapters
from jobframe.backend.capabilities import unsupported

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.inspector import CancelResult


def cancel(job_id: str, adapter: QueueAdapter | None = None) -> CancelResult:
    """Cancel the job with ``job_id`` on ``adapter`` (default: the configured one).

    Returns:
        ``"cancelled"`` (it was waiting: removed), ``"running"`` (asked to stop at its next
        checkpoint) or ``"unknown"`` (finished, dead, or never there).

    Raises:
        UnsupportedError: the adapter cannot cancel jobs.
        TypeError: ``job_id`` is not a string.
    """
    if not isinstance(job_id, str) or not job_id:
        raise TypeError(f"cancel() takes a job id (a non-empty string), got {job_id!r}")
    adapter = adapter or queue_adapters.get()
    inspector = adapter.inspector() if type(adapter).capabilities.cancel else None
    if inspector is None:
        raise unsupported(adapter, "cancel")
    return inspector.cancel(job_id)


__all__ = ["cancel"]
