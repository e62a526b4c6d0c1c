"""Dead jobs made the way a worker makes them, for tests of what reads the dead set (the
inspector, the dashboard, the ``jobframe`` admin commands): claimed through the backend's
`WorkerBackend` and reported failed, so every backend stores them as it would in production."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobframe.backend.worker import Outcome, ProcessInfo, WorkerBackend

ERROR: Mapping[str, Any] = {"class": "ValueError", "message": "boom", "traceback": "Traceback..."}


def fail_ready(
    backend: WorkerBackend,
    count: int,
    *,
    error: Mapping[str, Any] = ERROR,
    process: str = "test-worker",
) -> list[str]:
    """Claim up to ``count`` ready jobs as worker ``process`` (registered, and left registered)
    and report each failed on its first run with ``error``; return their backend ids."""
    backend.register(ProcessInfo(process, ["*"], max(count, 1)))
    claims = backend.fetch(process, ["*"], count, 0)
    failed = [Outcome(claim, "failed", dict(error), attempts=1) for claim in claims]
    backend.complete(process, failed)
    return [claim.id for claim in claims]
