from __future__ import annotations

import jobframe
from fixture_jobs import buffer


class ApplicationJob(jobframe.Job):
    """The app's own base job, as in Rails: never registered, never enqueued itself."""

    abstract = True
    queue_as = "application"


class ConcreteJob(ApplicationJob):
    def perform(self) -> None:
        buffer.append("concrete")
