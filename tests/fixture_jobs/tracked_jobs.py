"""Jobs whose status, progress, results, batches and chains the CLI and dashboard tests show."""

from __future__ import annotations

import threading

import jobframe

#: `GatedJob` reports 40 %, then waits for `gate`, reports 80 %, and waits for `finish`.
gate = threading.Event()
finish = threading.Event()
#: set by `GatedJob` once its first progress is written
reported = threading.Event()


def reset() -> None:
    """Open the gates (a job still waiting ends), then close them for the next test."""
    gate.set()
    finish.set()


def rearm() -> None:
    """Close the gates for the next test."""
    for event in (gate, finish, reported):
        event.clear()


class ReportJob(jobframe.Job):
    """Returns where it wrote a report of ``size`` characters (and the text, to make it big)."""

    queue_as = "tracked"
    store_result = True

    def perform(self, name: str, size: int = 10) -> dict[str, str]:
        self.progress(1.0, "written")
        return {"path": f"/tmp/{name}.csv", "text": "x" * size}


class FailingReportJob(jobframe.Job):
    queue_as = "tracked"
    store_result = True

    def perform(self, name: str) -> None:
        raise ValueError(f"no data for {name}")


class GatedJob(jobframe.Job):
    """Reports 40 %, waits for `gate`, reports 80 %, waits for `finish` (deadlines keep a broken
    test finite)."""

    queue_as = "tracked"
    store_result = True

    def perform(self) -> str:
        self.progress(0.4, "rendered 40 pages")
        reported.set()
        gate.wait(30)
        self.progress(0.8, "rendered 80 pages")
        finish.wait(30)
        return "done"


class RowJob(jobframe.Job):
    queue_as = "tracked"

    def perform(self, row: int) -> int:
        return row


class NotifyJob(jobframe.Job):
    """A batch's callback: stores its result so a test can wait on it."""

    queue_as = "tracked"
    store_result = True

    def perform(self, what: str) -> str:
        return f"notified {what}"


class FetchJob(jobframe.Job):
    queue_as = "tracked"
    # no store_result: a link with a successor keeps its result anyway (the chain's rule)

    def perform(self, url: str) -> str:
        return f"<html>{url}</html>"


class ParseJob(jobframe.Job):
    queue_as = "tracked"
    store_result = True

    def perform(self) -> int:
        return len(self.previous_result())
