"""Recipe: generate a report at a set time with ``set(wait_until=...)``; ask for its path.

The job is stored as *scheduled* and a worker's scheduler moves it to its queue once it is due, so
it never starts early; it may start a little late (the scheduler's tick plus the poll interval).
The job writes down when it was due and when it started, which is what this recipe prints. It
returns the report's path, stored because the class sets ``store_result = True``: the enqueuing
process asks ``job.status()`` and ``job.result(timeout=...)`` for it (docs/results.md).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jobframe
from cookbook.sandbox import Sandbox, data_folder

DELAY = timedelta(seconds=3)


def clock(moment: datetime) -> str:
    """``14:15:25.126``: a time of day to the millisecond, for the printout."""
    return moment.time().isoformat(timespec="milliseconds")


def report_path(day: date) -> Path:
    return data_folder() / "reports" / f"sales-{day.isoformat()}.json"


class SalesReportJob(jobframe.Job):
    """Write the sales report of `day`, noting when it was due and when it started."""

    queue_as = "reports"
    store_result = True  # job.result() returns perform's return value (kept 1 day: result_ttl)

    def perform(self, day: date) -> str:
        started_at = datetime.now(UTC)
        due = self.scheduled_at or self.enqueued_at  # set by set(wait_until=...) / perform_later
        report = {
            "day": day.isoformat(),
            "due": due and due.isoformat(),
            "started_at": started_at.isoformat(),
        }
        report_path(day).parent.mkdir(exist_ok=True)
        report_path(day).write_text(json.dumps(report, indent=2))
        due_text = clock(due) if due else "-"
        print(f"  SalesReportJob: due {due_text}, started {clock(started_at)}", flush=True)
        return str(report_path(day))


def run(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    due = now + DELAY
    print(f"At {clock(now)}: SalesReportJob.set(wait_until={clock(due)}).perform_later(today)")
    job = SalesReportJob.set(wait_until=due).perform_later(due.date())
    print(f"Scheduled jobs: {sandbox.inspector.count('scheduled')}")
    print(f"job.status(): {job.status()}")

    print("Running `jobframe work cookbook.scheduled_report` now:", flush=True)
    result = sandbox.work(__name__)

    path = Path(job.result(timeout=10))  # the worker has finished it: no wait
    print(f"job.status(): {job.status()}; job.result(): {path.name}")
    report = json.loads(path.read_text())
    started = datetime.fromisoformat(report["started_at"])
    verdict = "not before it was due" if started >= due else "EARLY"
    print(f"Started {(started - due).total_seconds():.2f} s after {clock(due)}: {verdict}")
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
