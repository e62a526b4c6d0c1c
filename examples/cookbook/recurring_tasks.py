"""Recipe: a daily cleanup and a weekly report as recurring tasks, with ``@jobframe.recurring``.

Every ``jobframe work`` runs a scheduler that enqueues each task's job at its ticks, once however
many workers run. A daily tick does not come during a demo, so the recipe shows each task's
schedule and next run, then runs both now, out of schedule, as ``jobframe recurring run NAME``
and the dashboard's "Run now" do. ``tests/examples/test_cookbook.py`` checks the schedules with
``jobs.tick``, which enqueues what a scheduler would at a given instant.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

import jobframe
from cookbook import shop
from cookbook.sandbox import Sandbox, data_folder
from cookbook.shop import Product
from jobframe.recurrence import run_now, tasks

#: the shop's time zone: "02:30" and "Monday 08:00" are read in it, DST included
TIMEZONE = "Europe/Berlin"
KEEP_DAYS = 30
_DAY_IN_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")


def reports_folder() -> Path:
    return data_folder() / "reports"


def local_day(job: jobframe.Job) -> date:
    """The shop's day of the job's tick; today's for a run out of schedule (no tick).

    A task's job reads its day from ``scheduled_at``, not the clock: a run that starts late, or
    a retry, still works on the day it was meant for.
    """
    moment = job.scheduled_at or datetime.now(UTC)
    return moment.astimezone(ZoneInfo(TIMEZONE)).date()


@jobframe.recurring(
    "30 2 * * *", name="daily-cleanup", kwargs={"keep_days": KEEP_DAYS}, timezone=TIMEZONE
)
class CleanupReportsJob(jobframe.Job):
    """Delete the reports (``reports/*-DAY.json``) more than `keep_days` days older than the
    tick's day."""

    queue_as = "maintenance"

    def perform(self, *, keep_days: int) -> None:
        cutoff = local_day(self) - timedelta(days=keep_days)
        removed = []
        for path in sorted(reports_folder().glob("*.json")):
            found = _DAY_IN_NAME.search(path.name)
            if found and date.fromisoformat(found[0]) < cutoff:
                path.unlink()
                removed.append(path.name)
        print(f"  CleanupReportsJob: removed {', '.join(removed) or 'nothing'}", flush=True)


@jobframe.recurring("0 8 * * mon", name="weekly-report", timezone=TIMEZONE)
class WeeklyStockReportJob(jobframe.Job):
    """Write ``reports/stock-DAY.json``: the products, the units in stock and the products out
    of stock, on the day of the tick."""

    queue_as = "reports"

    def perform(self) -> None:
        day = local_day(self)
        with shop.new_session() as session:
            products = session.scalars(sa.select(Product).order_by(Product.sku)).all()
        report = {
            "day": day.isoformat(),
            "products": len(products),
            "units": sum(p.quantity for p in products),
            "out_of_stock": [p.sku for p in products if p.quantity == 0],
        }
        path = reports_folder() / f"stock-{day.isoformat()}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(report, indent=2))
        print(f"  WeeklyStockReportJob: {path.name}: {report}", flush=True)


def run(sandbox: Sandbox) -> None:
    with shop.new_session() as session, session.begin():
        session.add_all(
            [
                Product(sku="SKU-1", name="sprocket", quantity=12),
                Product(sku="SKU-2", name="gizmo", quantity=0),
                Product(sku="SKU-3", name="doohickey", quantity=5),
            ]
        )
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    reports_folder().mkdir(exist_ok=True)
    for age in (45, 31, 3):
        day = today - timedelta(days=age)
        (reports_folder() / f"sales-{day.isoformat()}.json").write_text("{}")
    print(f"Reports before: {sorted(p.name for p in reports_folder().iterdir())}")

    now = datetime.now(UTC)
    for task in tasks():
        following = task.schedule.next_after(now).astimezone(ZoneInfo(TIMEZONE))
        print(
            f"Task {task.name}: {task.schedule.describe()} ({task.schedule.text}, "
            f"{task.timezone}), next run {following:%a %Y-%m-%d %H:%M %Z}"
        )
    print("Running both now, out of schedule (what `jobframe recurring run NAME` does):")
    for task in tasks():
        job = run_now(task)
        print(
            f"  {task.name}: enqueued {type(job).__name__} (recurring_task={job.recurring_task!r})"
        )

    print("Running `jobframe work cookbook.recurring_tasks`:", flush=True)
    result = sandbox.work(__name__)
    print(f"Reports after: {sorted(p.name for p in reports_folder().iterdir())}")
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
