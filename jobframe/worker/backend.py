"""Moved to jobframe.backend; kept for third-party imports."""

from jobframe.backend.worker import Claim, Outcome, ProcessInfo, Status, WorkerBackend

__all__ = ["Claim", "Outcome", "ProcessInfo", "Status", "WorkerBackend"]
