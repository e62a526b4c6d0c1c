from __future__ import annotations

import jobframe
from fixture_jobs import buffer


class InlineJob(jobframe.Job):
    """Always runs on the inline adapter, whatever the configured one."""

    queue_adapter = "inline"

    def perform(self, word: str) -> None:
        buffer.append(f"inline {word}")
