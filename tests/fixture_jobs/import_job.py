"""A continuation: a "download" step, then a "rows" step over ten rows with an int cursor.

It appends ``download`` and ``row N`` to `fixture_jobs.buffer`. ``stop_at`` makes the job's own
worker signal (its `Interruption.stopping`) set once that row is handled; ``fail_at`` raises
`RowFailed` on the first run that reaches that row (before handling it).
"""

from __future__ import annotations

import threading

import jobframe
from fixture_jobs import buffer
from jobframe.job.continuation import Interruption

ROWS = 10


class RowFailed(Exception):
    """Raised by `ImportJob` on purpose, to be retried."""


@jobframe.retry_on(RowFailed, wait=0, attempts=3, jitter=0)
class ImportJob(jobframe.Job):
    queue_adapter = "inline"

    def perform(self, stop_at: int = -1, fail_at: int = -1) -> None:
        self.stop_at, self.fail_at = stop_at, fail_at
        if stop_at >= 0:
            self._interruption = Interruption(stopping=threading.Event())
        self.step("download", self.download)
        self.step("rows", self.rows, cursor=0)

    def download(self, step: jobframe.Step) -> None:
        buffer.append("download")

    def rows(self, step: jobframe.Step) -> None:
        for n in range(step.cursor, ROWS):
            if n == self.fail_at and self.executions == 1:
                raise RowFailed(f"row {n} fails on the first run")
            buffer.append(f"row {n}")
            if n == self.stop_at and self._interruption and self._interruption.stopping:
                self._interruption.stopping.set()
            step.advance()
