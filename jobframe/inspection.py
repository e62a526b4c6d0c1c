"""Moved to jobframe.backend; kept for third-party imports."""

from jobframe.backend.inspector import (
    STATES,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    WorkerInfo,
)

__all__ = ["STATES", "Inspector", "JobInfo", "QueueInfo", "State", "WorkerInfo"]
