"""Screenshots of the dashboard's main pages for the docs: docs/images/dashboard-*.png.

The same setup as the browser tests (tests/dashboard/browser_support.py): real data on Redis (or
``--backend postgresql``), the dashboard served by uvicorn, a worker thread, Debian's Chromium.

Usage: .venv/bin/python scripts/screenshots.py [--backend redis|postgresql]
"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

import browser_support as support  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

import jobframe  # noqa: E402
from jobframe import recurrence  # noqa: E402

IMAGES = ROOT / "docs" / "images"
release = threading.Event()


class ResizeImageJob(jobframe.Job):
    job_name = "images.ResizeImageJob"
    queue_as = "images"

    def perform(self, path: str, width: int) -> None:
        release.wait(60)  # held "running" while the workers page is taken


class SyncInvoicesJob(jobframe.Job):
    job_name = "billing.SyncInvoicesJob"
    queue_as = "billing"

    def perform(self, account: int) -> None:
        pass


def populate(live: support.Live) -> None:
    inspector = live.inspector
    jobframe.perform_all_later(
        [support.SendEmailJob(f"welcome-{i}@example.com") for i in range(40)]
        + [support.BuildReportJob(f"daily-{i}") for i in range(12)]
    )
    support.wait_done("daily-11", timeout=60)
    support.wait_done("welcome-39@example.com", timeout=60)
    failing = ["q3-revenue", "q3-churn", "weekly-signups"]
    support.FAILING.update([*failing, "bounce@example.invalid"])
    for text in failing:
        support.BuildReportJob.perform_later(text)
    support.SendEmailJob.perform_later("bounce@example.invalid")
    support.wait_for(lambda: inspector.count("dead") == 4, "the failures", 30)
    inspector.pause("billing")
    jobframe.perform_all_later([SyncInvoicesJob(account) for account in range(1001, 1008)])
    for hours in (1, 6, 24):
        support.BuildReportJob.set(wait=hours * 3600).perform_later(f"in-{hours}h")
    ResizeImageJob.perform_later("uploads/cat.jpg", 640)
    ResizeImageJob.perform_later("uploads/dog.jpg", 640)
    support.wait_for(lambda: inspector.count("running") == 2, "two running jobs", 30)
    # The Recurring page's tasks, declared as an application's job modules would.
    jobframe.recurring("0 3 * * *", name="nightly-cleanup", args=("cleanup",),
                       timezone="Europe/Berlin")(support.BuildReportJob)  # fmt: skip
    jobframe.recurring("0 8 * * mon", name="weekly-report", args=("weekly",))(
        support.BuildReportJob
    )
    if type(live.adapter).capabilities.recurring:  # a last run: its latest tick, claimed now
        (nightly,) = [t for t in recurrence.tasks() if t.name == "nightly-cleanup"]
        tick = nightly.schedule.latest_at_or_before(datetime.now(UTC))
        recurrence.Scheduler(live.adapter, [nightly], clock=lambda: tick).run_once()
        support.wait_done("cleanup", timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(support.BACKENDS), default="redis")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with (
        support.BACKENDS[args.backend]() as adapter,
        support.live_dashboard(adapter) as live,
        sync_playwright() as playwright,
    ):
        try:
            populate(live)
            browser = support.launch_chromium(playwright)
            context = support.authenticated_context(
                browser, live.url, viewport={"width": 1280, "height": 800}
            )
            page = context.new_page()
            (dead,) = [
                j.id for j in live.inspector.jobs("dead") if "q3-revenue" in str(j.arguments)
            ]
            shots = {
                "overview": "/",
                "queues": "/queues",
                "dead": "/jobs/dead",
                "job": f"/job/{dead}",
                "workers": "/workers",
                "recurring": "/recurring",
            }
            for name, path in shots.items():
                page.goto(live.url + path)
                # wait until the live counts have been filled in from /api/summary
                expect(page.locator("header [data-count=dead]")).to_have_text("4")
                target = IMAGES / f"dashboard-{name}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"wrote {target.relative_to(ROOT)}")
            browser.close()
        finally:
            release.set()


if __name__ == "__main__":
    main()
