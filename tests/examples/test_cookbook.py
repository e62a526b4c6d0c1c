"""examples/cookbook: each recipe run for real (SQLite, `jobframe work`), and its jobs in-process.

The slow tests run ``python -m cookbook RECIPE --folder DIR`` exactly as the README says, then look
at what the worker left behind: rows, files, the job table (through the SQL inspector), and the
output. The fast tests import the recipes' job classes and run them with the `jobs` fixture.
"""

from __future__ import annotations

import importlib
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

import jobframe
from jobframe.global_id import register_locator, unregister_locator
from jobframe.notifications import Event
from jobframe.testing import JobsHelper

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# --- the recipes, run for real -----------------------------------------------------------------


def cook(recipe: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """``python -m cookbook RECIPE --folder FOLDER`` in ``examples/``: files in FOLDER/RECIPE."""
    result = subprocess.run(
        [sys.executable, "-m", "cookbook", recipe, "--folder", str(folder)],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def dead_jobs(folder: Path) -> int:
    """Jobs in the dead set of the recipe's job database, read through the SQL inspector."""
    import jobframe_sql

    adapter = jobframe_sql.SQLAdapter(url=f"sqlite:///{folder / 'jobs.sqlite3'}")
    try:
        return int(adapter.inspector().count("dead"))
    finally:
        adapter.shutdown()


def shop_rows(folder: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / "shop.sqlite3") as db:
        return db.execute(query).fetchall()


@pytest.mark.slow
def test_global_ids_recipe(tmp_path: Path) -> None:
    result = cook("global_ids", tmp_path)
    out, folder = result.stdout, tmp_path / "global_ids"

    # 1. the worker loaded the row by its GlobalID and updated it
    assert "the widget is stored as gid://cookbook/Widget/1" in out
    assert "  UpdateWidgetJob: sprocket $9.99 -> $12.50" in out
    widgets = shop_rows(folder, "SELECT name, price_cents FROM widgets ORDER BY id")
    assert widgets == [("sprocket", 1250), ("gizmo", 1500)]

    # 2. the deleted row's job was discarded (logged), not failed
    assert "discarded: args[0]: gid://cookbook/Widget/3: there is no Widget with id 3." in out
    assert "ERROR jobframe: Discarded UpdateWidgetJob" in result.stderr
    assert dead_jobs(folder) == 0

    # 3. the notice reports the prices it was given, not the row's price when it ran
    notice = "gizmo: $20.00 -> $18.00"
    assert f"  NotifyPriceChangeJob: {notice} (as enqueued; the row says $15.00 now)" in out
    assert (folder / "outbox" / "price-change-2.txt").read_text() == notice + "\n"

    assert "Runs: 3, failed jobs: 0" in out
    assert out.index("Running `jobframe work") < out.index("UpdateWidgetJob: sprocket")


@pytest.mark.slow
def test_thumbnails_recipe(tmp_path: Path) -> None:
    out = cook("thumbnails", tmp_path).stdout
    photos = tmp_path / "thumbnails" / "photos"
    for name, size in (("landscape", (128, 85)), ("portrait", (85, 128))):
        with Image.open(photos / f"{name}.thumb.png") as thumb:
            assert (thumb.format, thumb.size) == ("PNG", size)
        assert f"  MakeThumbnailJob: {name}.jpg -> {name}.thumb.png {size[0]}x{size[1]}" in out
    assert "Runs: 2, failed jobs: 0" in out


@pytest.mark.slow
def test_scheduled_report_recipe(tmp_path: Path) -> None:
    out = cook("scheduled_report", tmp_path).stdout
    [path] = (tmp_path / "scheduled_report" / "reports").glob("sales-*.json")
    report = json.loads(path.read_text())
    due, started = (datetime.fromisoformat(report[key]) for key in ("due", "started_at"))
    assert started >= due, report
    assert started - due < timedelta(seconds=10), "the worker ran it soon after it was due"
    assert "Scheduled jobs: 1" in out
    assert "job.status(): scheduled\n" in out
    assert f"job.status(): succeeded; job.result(): {path.name}\n" in out
    assert "not before it was due" in out
    assert "Runs: 1, failed jobs: 0" in out


@pytest.mark.slow
def test_bulk_import_recipe(tmp_path: Path) -> None:
    out = cook("bulk_import", tmp_path).stdout
    folder = tmp_path / "bulk_import"
    products = shop_rows(folder, "SELECT sku, name, quantity FROM products ORDER BY sku")
    assert products == [(f"SKU-{n:05d}", f"Widget no. {n}", n % 17) for n in range(1, 1001)]
    # 1,000 runs for 1,000 rows and one for the batch's email: every job ran exactly once
    assert "Runs: 1001, failed jobs: 0" in out
    assert "Batch: 1000 jobs, 1000 succeeded, 0 pending; callbacks fired: on_success\n" in out
    assert "The on_success email: Subject: stock.csv imported\n" in out
    [email] = (folder / "outbox").glob("*.eml")
    assert "All 1000 rows are in the shop." in email.read_text()
    assert "Enqueued 1000 jobs in " in out
    # the batch's row when it opens; then, in one transaction, the rows and their membership
    assert (
        "with 3 INSERT statement(s):\n  INSERT INTO jobframe_batches (1 rows)\n"
        "  INSERT INTO jobframe_batch_jobs (1000 rows)\n  INSERT INTO jobframe_jobs (1000 rows)\n"
    ) in out
    assert "Imported 1000 products in " in out
    assert dead_jobs(folder) == 0


@pytest.mark.slow
def test_long_import_recipe(tmp_path: Path) -> None:
    """SIGTERM mid-import: the job stops at a checkpoint, is re-enqueued under its id, and a new
    worker resumes it at the checkpointed row; nothing is downloaded or imported twice."""
    out = cook("long_import", tmp_path).stdout
    assert "the worker exited with code 0" in out
    assert "Waiting in the imports queue: 1 job, same id: True" in out
    stopped_at = int(out.split("SIGTERM after ")[1].split(" ")[0])
    assert 0 < stopped_at < 5000
    assert f"Steps run: download, rows from row 0, rows from row {stopped_at}\n" in out
    assert "Imported 5000 distinct rows, 0 twice; failed jobs: 0" in out
    assert dead_jobs(tmp_path / "long_import") == 0


@pytest.mark.slow
def test_flaky_http_recipe(tmp_path: Path) -> None:
    result = cook("flaky_http", tmp_path)
    out = result.stdout
    assert "The service answered: 503, 503, 503, 200" in out
    for attempt in (1, 2, 3, 4):
        assert f"  FetchRatesJob attempt {attempt}: GET http://127.0.0.1:" in out
    assert "  FetchRatesJob: got {'EUR': 0.92, 'GBP': 0.79} on attempt 4" in out
    assert "Runs: 4, failed jobs: 0" in out
    assert result.stderr.count("ServiceUnavailable: http://127.0.0.1") == 3
    rates = json.loads((tmp_path / "flaky_http" / "rates.json").read_text())
    assert rates["attempts"] == 4 and rates["rates"] == {"EUR": 0.92, "GBP": 0.79}


@pytest.mark.slow
def test_recurring_tasks_recipe(tmp_path: Path) -> None:
    out = cook("recurring_tasks", tmp_path).stdout
    assert "Task daily-cleanup: At 02:30 every day (30 2 * * *, Europe/Berlin), next run " in out
    assert (
        "Task weekly-report: At 08:00 on Monday (0 8 * * mon, Europe/Berlin), next run Mon " in out
    )
    assert "  daily-cleanup: enqueued CleanupReportsJob (recurring_task='daily-cleanup')" in out
    # the reports of 45 and 31 days ago went, that of 3 days ago stayed, the stock report came
    reports = sorted(p.name for p in (tmp_path / "recurring_tasks" / "reports").iterdir())
    assert [name.split("-", 1)[0] for name in reports] == ["sales", "stock"]
    [stock] = (tmp_path / "recurring_tasks" / "reports").glob("stock-*.json")
    report = json.loads(stock.read_text())
    assert (report["products"], report["units"], report["out_of_stock"]) == (3, 17, ["SKU-2"])
    assert "Runs: 2, failed jobs: 0" in out


# --- the recipes' jobs, in-process with the `jobs` fixture -------------------------------------


@pytest.fixture
def data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The cookbook importable, and its data folder a fresh temporary one."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("COOKBOOK_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture
def shop(data: Path) -> Iterator[ModuleType]:
    """``cookbook.shop`` with its locator registered for this test only."""
    from cookbook import shop

    register_locator(shop.LOCATOR)
    yield shop
    unregister_locator(shop.LOCATOR)
    shop.dispose_engines()


def add_widget(shop: ModuleType, name: str, cents: int) -> object:
    with shop.new_session() as session, session.begin():
        widget = shop.Widget(name=name, price_cents=cents)
        session.add(widget)
    return widget


def test_update_widget_job_updates_the_row_it_locates(shop: ModuleType, jobs: JobsHelper) -> None:
    from cookbook.global_ids import UpdateWidgetJob

    widget = add_widget(shop, "sprocket", 999)
    UpdateWidgetJob.perform_later(widget, price_cents=1250)
    [record] = jobs.enqueued_jobs
    assert record.payload["arguments"] == [{"_jf": "gid", "value": "gid://cookbook/Widget/1"}]

    assert jobs.perform_enqueued_jobs() == 1
    with shop.new_session() as session:
        assert session.get(shop.Widget, 1).price_cents == 1250


def test_a_deleted_widget_is_discarded_not_failed(shop: ModuleType, jobs: JobsHelper) -> None:
    from cookbook.global_ids import UpdateWidgetJob

    widget = add_widget(shop, "doohickey", 500)
    UpdateWidgetJob.perform_later(widget, price_cents=450)
    with shop.new_session() as session, session.begin():
        session.delete(session.get(shop.Widget, 1))

    discarded: list[Event] = []
    unsubscribe = jobframe.subscribe("discard", discarded.append)
    try:
        assert jobs.perform_enqueued_jobs() == 1  # does not raise
    finally:
        unsubscribe()
    [event] = discarded
    assert isinstance(event.payload["error"], jobframe.DeserializationError)
    assert isinstance(event.payload["error"].__cause__, jobframe.RecordNotFound)


def test_the_price_notice_reports_the_prices_it_was_given(
    shop: ModuleType, data: Path, jobs: JobsHelper
) -> None:
    from cookbook.global_ids import NotifyPriceChangeJob, set_price

    gizmo = add_widget(shop, "gizmo", 2000)
    set_price(1, 1800)
    NotifyPriceChangeJob.perform_later(gizmo, old_price_cents=2000, new_price_cents=1800)
    set_price(1, 1500)  # changed again before the job runs

    jobs.perform_enqueued_jobs()
    assert (data / "outbox" / "price-change-1.txt").read_text() == "gizmo: $20.00 -> $18.00\n"


def test_make_thumbnail_job_fits_the_image_in_the_box(data: Path, jobs: JobsHelper) -> None:
    from cookbook.thumbnails import MakeThumbnailJob, draw_photo, thumbnail_path

    photo = draw_photo(data / "wide.jpg", (400, 100))
    MakeThumbnailJob.perform_later(photo, size=(64, 64))
    jobs.assert_enqueued_with(job=MakeThumbnailJob, args=[photo], kwargs={"size": (64, 64)})
    jobs.perform_enqueued_jobs()
    with Image.open(thumbnail_path(photo)) as thumb:
        assert thumb.size == (64, 16)


def test_a_missing_photo_is_discarded(data: Path, jobs: JobsHelper) -> None:
    from cookbook.thumbnails import MakeThumbnailJob

    MakeThumbnailJob.perform_later(data / "deleted.jpg")
    assert jobs.perform_enqueued_jobs() == 1  # FileNotFoundError: discarded, does not raise


def test_the_report_waits_until_it_is_due(data: Path, jobs: JobsHelper) -> None:
    from cookbook.scheduled_report import SalesReportJob, report_path

    due = datetime.now(UTC) + timedelta(hours=1)
    SalesReportJob.set(wait_until=due).perform_later(date(2030, 1, 2))
    jobs.assert_enqueued_with(job=SalesReportJob, at=due, queue="reports")
    assert jobs.perform_enqueued_jobs(at=datetime.now(UTC)) == 0  # not due yet
    assert jobs.perform_enqueued_jobs(at=due) == 1
    report = json.loads(report_path(date(2030, 1, 2)).read_text())
    assert datetime.fromisoformat(report["due"]) == due


def test_bulk_import_is_one_call_and_idempotent(
    shop: ModuleType, data: Path, jobs: JobsHelper
) -> None:
    from cookbook.bulk_import import ImportRowJob, read_jobs, write_csv

    import_jobs = read_jobs(write_csv(data / "stock.csv", 20))
    enqueued: list[Event] = []
    unsubscribe = jobframe.subscribe("enqueue_all", enqueued.append)
    try:
        assert jobframe.perform_all_later(import_jobs) == 20
    finally:
        unsubscribe()
    assert len(enqueued) == 1, "one bulk enqueue, not 20"
    assert jobs.perform_enqueued_jobs() == 20

    ImportRowJob.perform_now("SKU-00003", name="Widget no. 3", quantity=99)  # delivered again
    with shop.new_session() as session:
        products = session.scalars(sa.select(shop.Product).order_by(shop.Product.sku)).all()
    assert len(products) == 20
    assert [p.quantity for p in products][:4] == [1, 2, 99, 4]


def test_fetch_rates_retries_until_the_service_answers(data: Path, jobs: JobsHelper) -> None:
    from cookbook.flaky_http import FetchRatesJob
    from cookbook.flaky_service import FlakyService

    with FlakyService(failures=2) as service:
        FetchRatesJob.perform_later(service.url)
        assert jobs.perform_enqueued_jobs() == 3  # performs the retries whatever their time
    assert service.statuses == [503, 503, 200]
    assert len({record.job_id for record in jobs.performed_jobs}) == 1, "one job, three runs"
    assert json.loads((data / "rates.json").read_text())["attempts"] == 3


def test_fetch_rates_gives_up_after_its_attempts(data: Path, jobs: JobsHelper) -> None:
    from cookbook.flaky_http import ATTEMPTS, FetchRatesJob, ServiceUnavailable
    from cookbook.flaky_service import FlakyService

    with FlakyService(failures=100) as service:
        FetchRatesJob.perform_later(service.url)
        with pytest.raises(ServiceUnavailable, match="answered 503"):
            jobs.perform_enqueued_jobs()
    assert service.statuses == [503] * ATTEMPTS


def test_an_unreachable_service_is_retried_too(data: Path, jobs: JobsHelper) -> None:
    from cookbook.flaky_http import ATTEMPTS, FetchRatesJob, ServiceUnavailable

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    FetchRatesJob.perform_later(f"http://127.0.0.1:{port}/rates")
    with pytest.raises(ServiceUnavailable, match="is unreachable"):
        jobs.perform_enqueued_jobs()
    assert len(jobs.performed_jobs) == ATTEMPTS


def test_the_demo_backoff_is_polynomially_longer_in_hundredths(data: Path) -> None:
    from cookbook.flaky_http import hurried_polynomially_longer

    delays = [hurried_polynomially_longer(n) for n in (1, 2, 3, 4)]
    assert delays == pytest.approx([0.03, 0.18, 0.83, 2.58])
    assert delays == pytest.approx([jobframe.polynomially_longer(n) / 100 for n in (1, 2, 3, 4)])


# --- the recurring tasks, with jobs.tick ---------------------------------------------------------


@pytest.fixture
def recurring_tasks(data: Path) -> Iterator[ModuleType]:
    """``cookbook.recurring_tasks`` imported afresh, so its ``@jobframe.recurring`` declare the
    tasks for this test (tests/conftest.py forgets declared tasks after each test)."""
    sys.modules.pop("cookbook.recurring_tasks", None)
    module = importlib.import_module("cookbook.recurring_tasks")
    yield module
    sys.modules.pop("cookbook.recurring_tasks", None)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo("Europe/Berlin"))  # type: ignore[misc]


def test_the_cookbook_declares_a_daily_cleanup_and_a_weekly_report(
    recurring_tasks: ModuleType, jobs: JobsHelper
) -> None:
    found = {task.name: task for task in jobs.recurring}
    assert sorted(found) == ["daily-cleanup", "weekly-report"]
    assert found["daily-cleanup"].job_class is recurring_tasks.CleanupReportsJob
    assert found["weekly-report"].job_class is recurring_tasks.WeeklyStockReportJob
    assert {task.timezone for task in found.values()} == {"Europe/Berlin"}


def test_the_daily_cleanup_fires_at_0230_in_berlin_every_day(
    recurring_tasks: ModuleType, data: Path, jobs: JobsHelper
) -> None:
    folder = data / "reports"
    folder.mkdir()
    for day in ("2026-01-05", "2025-12-07", "2025-12-06"):
        (folder / f"sales-{day}.json").write_text("{}")

    assert jobs.tick(at=berlin(2026, 1, 6, 2, 29)) == []
    [job] = jobs.tick(at=berlin(2026, 1, 6, 2, 30))
    assert (job.recurring_task, job.kwargs) == ("daily-cleanup", {"keep_days": 30})
    assert job.scheduled_at == datetime(2026, 1, 6, 1, 30, tzinfo=UTC)
    jobs.assert_enqueued_with(job=recurring_tasks.CleanupReportsJob, queue="maintenance")
    assert jobs.tick(at=berlin(2026, 1, 6, 2, 30)) == []  # once per tick
    assert jobs.perform_enqueued_jobs() == 1
    # 30 days before the tick's day (2026-01-06) is 2025-12-07: older reports go
    assert sorted(p.name for p in folder.iterdir()) == [
        "sales-2025-12-07.json", "sales-2026-01-05.json",
    ]  # fmt: skip

    # the next day, and on the spring-forward day, when 02:30 does not exist: at 03:00 CEST
    assert len(jobs.tick(at=berlin(2026, 1, 7, 2, 30))) == 1
    assert jobs.tick(at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC)) == []
    [spring] = jobs.tick(at=berlin(2026, 3, 29, 3, 0))
    assert spring.recurring_task == "daily-cleanup"


def test_the_weekly_report_fires_on_monday_at_eight_in_berlin(
    recurring_tasks: ModuleType, shop: ModuleType, data: Path, jobs: JobsHelper
) -> None:
    with shop.new_session() as session, session.begin():
        session.add(shop.Product(sku="SKU-1", name="sprocket", quantity=0))

    assert jobs.tick(at=berlin(2026, 1, 4, 8, 0)) == []  # a Sunday
    assert jobs.tick(at=berlin(2026, 1, 5, 7, 0)) == []  # Monday, an hour early
    [job] = jobs.tick(at=berlin(2026, 1, 5, 8, 0))
    assert job.recurring_task == "weekly-report"
    jobs.assert_enqueued_with(job=recurring_tasks.WeeklyStockReportJob, queue="reports")
    assert jobs.perform_enqueued_jobs() == 1
    # the report is for the tick's day, whenever it ran
    report = json.loads((data / "reports" / "stock-2026-01-05.json").read_text())
    assert report == {"day": "2026-01-05", "products": 1, "units": 0, "out_of_stock": ["SKU-1"]}
    assert len(jobs.tick(at=berlin(2026, 1, 12, 8, 0))) == 1
