from __future__ import annotations

import jobframe


class LoggingJob(jobframe.Job):
    queue_as = "logs"

    def perform(self, name: str, *, password: str | None = None) -> None:
        pass


class QuietJob(jobframe.Job):
    log_arguments = False

    def perform(self, secret: str) -> None:
        pass


class LoginJob(jobframe.Job):
    def perform(self, email: str, password: str, *rest: str) -> None:
        pass
