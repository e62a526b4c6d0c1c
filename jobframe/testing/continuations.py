"""Testing a continuation's resume without a worker: `interrupt_at` stops a job at a checkpoint
as a graceful shutdown would, and gives back the job its worker would re-enqueue::

    from jobframe.testing import interrupt_at

    def test_the_import_resumes_after_a_deploy():
        resumed = interrupt_at(ImportJob(import_id), "rows", cursor=40)
        resumed.perform_now()          # the download step is skipped, rows resume at 40
"""

from __future__ import annotations

from typing import Any, TypeVar

from jobframe import arguments
from jobframe.errors import Interrupted
from jobframe.job.continuation import Interruption

J = TypeVar("J")
_ANY: Any = object()


class _At(Interruption):
    """Stop at the first checkpoint in step ``name`` (with cursor ``cursor``, if given)."""

    def __init__(self, job: Any, name: str, cursor: Any) -> None:
        super().__init__()
        self.job, self.name = job, name
        self.wire = _ANY if cursor is _ANY else arguments.serialize_value(cursor, "cursor")

    def reason(self) -> str | None:
        state = self.job._continuation
        if state is None or state.current != self.name:
            return None
        if self.wire is not _ANY and state.wire_cursor != self.wire:
            return None
        return "stopping"


def interrupt_at(job: J, step: str, cursor: Any = _ANY) -> J:
    """Perform ``job`` here until a checkpoint inside its step ``step`` (its first ``advance``
    or ``checkpoint``, or the first that leaves the cursor at ``cursor``, when given), stop it
    there as a worker's graceful shutdown does, and return the job its worker would re-enqueue:
    a new job read back from its payload, with its finished steps and cursor, the interrupted
    run not counted. Perform it to test the resume.

    Raises:
        AssertionError: the job ended without reaching that checkpoint.
    """
    running: Any = job
    running._interruption = _At(running, step, cursor)
    try:
        running.perform_now()
    except Interrupted:
        pass
    else:
        where = f"step {step!r}" + ("" if cursor is _ANY else f" with cursor {cursor!r}")
        raise AssertionError(f"{type(job).__name__} ended without a checkpoint at {where}")
    finally:
        running._interruption = None
    payload = running.serialize()
    payload["executions"] = max(0, payload["executions"] - 1)
    resumed: J = type(running).deserialize(payload)
    return resumed


__all__ = ["interrupt_at"]
