from __future__ import annotations

from collections.abc import Iterator

import jobframe
from fixture_jobs import buffer


class CallbackJob(jobframe.Job):
    """Records every enqueue and perform callback, in the order they run."""

    @jobframe.before_enqueue
    def note_before_enqueue(self) -> None:
        buffer.append("before_enqueue")

    @jobframe.around_enqueue
    def note_around_enqueue(self) -> Iterator[None]:
        buffer.append("around_enqueue start")
        yield
        buffer.append("around_enqueue stop")

    @jobframe.after_enqueue
    def note_after_enqueue(self) -> None:
        buffer.append("after_enqueue")

    @jobframe.before_perform
    def note_before_perform(self) -> None:
        buffer.append("before_perform")

    @jobframe.around_perform
    def note_around_perform(self) -> Iterator[None]:
        buffer.append("around_perform start")
        yield
        buffer.append("around_perform stop")

    @jobframe.after_perform
    def note_after_perform(self) -> None:
        buffer.append("after_perform")

    def perform(self, person: str = "david") -> None:
        buffer.append(f"perform {person}")
