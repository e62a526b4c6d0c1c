"""The dashboard in a real headless Chromium (Debian's, driven by Playwright).

Each test serves the dashboard with uvicorn on a loopback port over real Redis or PostgreSQL data,
with a real worker running in a thread, and uses the pages as a person would. Under ``CI`` the
tests fail when Chromium cannot be launched; elsewhere they skip with the reason.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard.browser_support import (
    BACKENDS,
    CHROMIUM,
    DONE,
    FAILING,
    SERVICES,
    BuildReportJob,
    Live,
    SendEmailJob,
    authenticated_context,
    launch_chromium,
    live_dashboard,
    unavailable,
    wait_done,
    wait_for,
)
from fixture_jobs import tracked_jobs
from fixture_jobs.tracked_jobs import GatedJob, NotifyJob, RowJob

import jobframe
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.conformance_jobs import read
from jobframe.testing.services import require_service
from jobframe.testing.timing_jobs import OtherSleepyJob, SleepyJob

pytestmark = pytest.mark.slow
TIMED, OTHER_TIMED = SleepyJob.job_name, OtherSleepyJob.job_name
WAIT = 15_000  # ms: how long an expectation on the page may take (live counts poll every 3 s)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test group installs it
        unavailable(f"playwright is not installed ({exc}); pip install --group test")
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)")
    manager = sync_playwright().start()
    try:
        try:
            launched = launch_chromium(manager)
        except Exception as exc:
            unavailable(f"Chromium at {CHROMIUM} could not be launched: {exc}")
        yield launched
        launched.close()
    finally:
        manager.stop()


@pytest.fixture(params=sorted(BACKENDS))
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    name, port = SERVICES[request.param]
    require_service(name, "127.0.0.1", port)
    with BACKENDS[request.param]() as adapter, live_dashboard(adapter) as running:
        yield running


class Watched:
    """A page plus everything that went wrong on it: console errors, uncaught exceptions, CSP
    violations, failed requests, and any dialog (dismissed unless ``accept`` is set)."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.accept = False
        page = self.page
        page.add_init_script(
            "window.__csp = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.on(
            "console",
            lambda m: m.type == "error" and self.errors.append(f"{m.text} ({m.location['url']})"),
        )
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}"))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", self._failed)
        page.on("dialog", self._dialog)

    def _failed(self, request: Any) -> None:
        # leaving a page cancels what it still had in flight (the favicon, a summary poll)
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()

    def goto(self, url: str) -> Any:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        return self.page

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__csp"))


@pytest.fixture
def context(browser: Any, live: Live) -> Iterator[Any]:
    made = authenticated_context(browser, live.url)
    yield made
    made.close()


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def make_dead(*jobs: tuple[Any, str], live: Live) -> None:
    """Enqueue ``(job class, text)`` jobs that fail, and wait until the worker has run them into
    the dead set."""
    before = live.inspector.count("dead")
    for _, text in jobs:
        FAILING.add(text)
    for cls, text in jobs:
        cls.perform_later(text)
    wait_for(
        lambda: live.inspector.count("dead") == before + len(jobs),
        f"{len(jobs)} jobs to fail into the dead set",
    )


def dead_rows(page: Any) -> Any:
    return page.locator("#bulk tbody tr:has(input[name=id])")


def test_a_browser_without_the_token_is_refused(browser: Any, live: Live) -> None:
    anonymous = browser.new_context()
    try:
        response = anonymous.new_page().goto(live.url + "/")
        assert response is not None and response.status == 401
    finally:
        anonymous.close()


def test_overview_counts_and_nothing_the_page_needs_is_blocked(context: Any, live: Live) -> None:
    make_dead((BuildReportJob, "q1-sales"), (SendEmailJob, "welcome-7"), live=live)
    BuildReportJob.perform_later("warm-up")
    wait_done("warm-up")
    live.inspector.pause("mailers")
    jobframe.perform_all_later([SendEmailJob(f"queued-{i}") for i in range(3)])
    BuildReportJob.set(wait=3600).perform_later("tomorrow")

    watched = Watched(context)
    page = watched.goto(live.url + "/")
    for state, count in (("ready", "3"), ("scheduled", "1"), ("running", "0"), ("dead", "2")):
        expect(page.locator(f".cards [data-count={state}]")).to_have_text(count)
        # the navigation's counts are filled in by dashboard.js from /api/summary
        expect(page.locator(f"header [data-count={state}]")).to_have_text(count, timeout=WAIT)
    expect(page.locator(".cards [data-stat=failed]")).to_have_text("2")
    expect(page.locator("table tbody tr", has_text="mailers")).to_contain_text("yes")
    # the stylesheet applied, and the script set the chart bars' heights (CSSOM, not inline style)
    assert page.locator(".card").first.evaluate("e => getComputedStyle(e).borderRadius") == "8px"
    heights = page.locator(".bar-processed").evaluate_all("bars => bars.map(b => b.style.height)")
    assert heights and all(h.endswith("%") for h in heights), heights

    (dead,) = [j.id for j in live.inspector.jobs("dead", queue="reports")]
    for path in ("/queues", "/jobs/ready", "/jobs/scheduled", "/jobs/dead", f"/job/{dead}"):
        watched.goto(live.url + path)
        expect(page.locator("header [data-count=dead]")).to_have_text("2", timeout=WAIT)
    watched.goto(live.url + "/workers")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text(str(os.getpid()))
    assert watched.violations() == []
    assert watched.errors == []
    assert watched.dialogs == []


def test_job_arguments_render_as_text(context: Any, live: Live) -> None:
    attacks = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">']
    make_dead(*[(SendEmailJob, text) for text in attacks], live=live)
    watched = Watched(context)
    page = watched.goto(live.url + "/jobs/dead")
    cells = page.locator("#bulk code.args")
    expect(cells).to_have_count(2)
    for attack in attacks:  # shown as the JSON of the arguments, and in the error message
        expect(cells.filter(has_text=json.dumps(attack, ensure_ascii=False))).to_have_count(1)
        expect(page.locator("#bulk tbody")).to_contain_text(f"could not build report '{attack}'")
    for job in live.inspector.jobs("dead"):
        watched.goto(f"{live.url}/job/{job.id}")
        (attack,) = job.arguments["args"]
        expect(page.locator("pre.args")).to_contain_text(json.dumps(attack, ensure_ascii=False))
        expect(page.locator("p.error")).to_contain_text(attack)
        expect(page.locator("pre.traceback")).to_contain_text("ReportFailed")
    assert page.locator("main script, main img").count() == 0
    assert watched.dialogs == [], "job data ran as script"
    assert watched.errors == [] and watched.violations() == []


def test_filter_dead_jobs_by_queue_and_class(context: Any, live: Live) -> None:
    # more reports than fit on a page, and the emails failed first: the class filter must look
    # past the first page
    make_dead(*[(SendEmailJob, f"mail-{i}") for i in range(2)], live=live)
    make_dead(*[(BuildReportJob, f"report-{i}") for i in range(27)], live=live)
    make_dead((BuildReportJob.set(queue="mailers"), "report-in-mailers"), live=live)

    watched = Watched(context)
    page = watched.goto(live.url + "/jobs/dead")
    expect(page.locator("h1 small")).to_have_text("30")
    expect(dead_rows(page)).to_have_count(25)

    page.select_option("select[name=queue]", "mailers")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("h1 small")).to_have_text("3")
    expect(dead_rows(page)).to_have_count(3)
    expect(page.locator("select[name=queue]")).to_have_value("mailers")

    page.fill("input[name=class]", "SendEmail")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("h1 small")).to_have_text("2")
    expect(dead_rows(page)).to_have_count(2)
    expect(dead_rows(page)).to_contain_text(["mail-", "mail-"])

    page.select_option("select[name=queue]", "")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("h1 small")).to_have_text("2")
    expect(page.locator("nav.pages")).to_contain_text("page 1 of 1")

    page.select_option("select[name=queue]", "reports")
    page.fill("input[name=class]", "BuildReport")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("h1 small")).to_have_text("27")
    expect(dead_rows(page)).to_have_count(25)
    page.get_by_role("link", name=re.compile("older")).click()
    expect(dead_rows(page)).to_have_count(2)
    expect(page.locator("nav.pages")).to_contain_text("page 2 of 2")
    assert watched.errors == []


def test_retry_one_and_watch_it_run(context: Any, live: Live) -> None:
    make_dead(*[(BuildReportJob, f"retry-{i}") for i in range(3)], live=live)
    processed = live.inspector.stats()["processed"]
    overview = Watched(context)
    dashboard = overview.goto(live.url + "/")
    expect(dashboard.locator(".cards [data-count=dead]")).to_have_text("3")
    dashboard.evaluate("window.__same_page = true")

    watched = Watched(context)
    page = watched.goto(live.url + "/jobs/dead?queue=reports&class=BuildReport")
    page.get_by_role("link", name="reports.BuildReportJob").first.click()
    expect(page.locator("pre.traceback")).to_contain_text("ReportFailed: could not build report")
    text = live.inspector.job(page.url.rsplit("/", 1)[1]).arguments["args"][0]
    FAILING.discard(text)  # the cause is fixed: the retry will succeed
    page.get_by_role("button", name="Retry").click()
    expect(page).to_have_url(re.compile(r"/jobs/dead$"))
    expect(page.locator("h1 small")).to_have_text("2")
    wait_done(text)

    # the overview, never reloaded, catches up through /api/summary
    expect(dashboard.locator(".cards [data-count=dead]")).to_have_text("2", timeout=WAIT)
    expect(dashboard.locator(".cards [data-stat=processed]")).to_have_text(
        str(processed + 1), timeout=WAIT
    )
    assert dashboard.evaluate("window.__same_page") is True, "the overview was reloaded"
    assert live.inspector.count("ready") == 0 and live.inspector.count("dead") == 2
    assert overview.errors == [] and watched.errors == []


def test_discard_in_bulk_after_confirming(context: Any, live: Live) -> None:
    make_dead(*[(SendEmailJob, f"bulk-{i}") for i in range(4)], live=live)
    watched = Watched(context)
    page = watched.goto(live.url + "/jobs/dead")
    expect(dead_rows(page)).to_have_count(4)
    page.check("input[name=all]")
    watched.accept = False
    page.get_by_role("button", name="Discard selected").click()
    wait_for(lambda: len(watched.dialogs) == 1, "the confirmation dialog")
    assert watched.dialogs == ["confirm: Discard the selected dead jobs for good?"]
    expect(dead_rows(page)).to_have_count(4)  # dismissed: nothing was sent
    assert live.inspector.count("dead") == 4

    watched.accept = True
    page.get_by_role("button", name="Discard selected").click()
    expect(page.locator("#bulk tbody")).to_have_text("No dead jobs.")
    expect(page.locator("h1 small")).to_have_text("0")
    assert len(watched.dialogs) == 2
    assert live.inspector.count("dead") == 0 and live.inspector.count("ready") == 0

    # retrying in bulk needs no confirmation
    make_dead((SendEmailJob, "again-0"), (SendEmailJob, "again-1"), live=live)
    FAILING.clear()
    watched.goto(live.url + "/jobs/dead")
    dead_rows(page).locator("input[name=id]").first.check()
    page.get_by_role("button", name="Retry selected").click()
    expect(page.locator("h1 small")).to_have_text("1")
    assert len(watched.dialogs) == 2
    wait_for(lambda: "again-0" in DONE or "again-1" in DONE, "the retried job to run")
    assert watched.errors == []


def test_a_paused_queue_is_not_worked_until_resumed(context: Any, live: Live) -> None:
    BuildReportJob.perform_later("first")
    wait_done("first")
    watched = Watched(context)
    page = watched.goto(live.url + "/queues")
    row = page.locator("tr[data-queue=reports]")
    expect(row).to_contain_text("running")
    row.get_by_role("button", name="Pause").click()
    expect(row.locator("td").nth(3)).to_have_text("paused")
    assert [q.paused for q in live.inspector.queues() if q.name == "reports"] == [True]

    jobframe.perform_all_later([BuildReportJob(f"held-{i}") for i in range(3)])
    SendEmailJob.perform_later("other-queue")
    # the worker takes the job enqueued after the paused ones, so it has passed them over
    wait_done("other-queue")
    expect(page.locator("header [data-count=ready]")).to_have_text("3", timeout=WAIT)
    watched.goto(live.url + "/queues")
    expect(row.locator("td").nth(1)).to_have_text("3")
    assert live.inspector.count("ready", "reports") == 3

    row.get_by_role("button", name="Resume").click()
    expect(row.locator("td").nth(3)).to_have_text("running")
    expect(page.locator("header [data-count=ready]")).to_have_text("0", timeout=WAIT)
    for i in range(3):
        wait_done(f"held-{i}")
    watched.goto(live.url + "/queues")
    expect(row.locator("td").nth(1)).to_have_text("0")
    assert watched.errors == []


def test_recurring_tasks_are_listed_and_run_now(context: Any, live: Live) -> None:
    """On a backend that runs recurring tasks, "run now" enqueues the task's job, which the
    worker runs; on one that does not, the page says so and offers no button."""
    name = "browser-nightly"
    jobframe.recurring("0 3 * * *", name=name, args=("recurring-now",))(BuildReportJob)
    try:
        watched = Watched(context)
        page = watched.goto(live.url + "/recurring")
        expect(page.locator("nav a.on")).to_have_text("Recurring")
        row = page.locator(f"tr[data-task={name}]")
        expect(row).to_contain_text("At 03:00")
        expect(row).to_contain_text("reports.BuildReportJob")
        if not type(live.adapter).capabilities.recurring:
            expect(page.locator(".notice")).to_contain_text("no recurring support")
            expect(row.get_by_role("button", name="Run now")).to_have_count(0)
        else:
            expect(row).to_contain_text("never")
            row.get_by_role("button", name="Run now").click()
            expect(page.locator(".notice")).to_contain_text(f"Enqueued {name} now")
            wait_done("recurring-now")
        assert watched.errors == [] and watched.violations() == []
    finally:
        jobframe.recurrence.forget(name)


def test_the_batches_page_links_counts_and_callbacks(context: Any, live: Live) -> None:
    with jobframe.batch(on_success=NotifyJob("browser"), description="browser import") as batch:
        jobframe.perform_all_later([RowJob(i) for i in range(3)])
    info = jobframe.batch_status(batch.id)
    assert info is not None
    callback_id = info.callbacks["on_success"]
    assert jobframe.job_result(callback_id, timeout=15) == "notified browser"

    watched = Watched(context)
    page = watched.goto(live.url + "/batches")
    row = page.locator(f"tr[data-batch='{batch.id}']")
    expect(row).to_contain_text("browser import")
    row.locator("a").click()
    expect(page.locator("[data-batch-count=succeeded]")).to_have_text("3")
    expect(page.locator("[data-batch-count=pending]")).to_have_text("0")
    page.locator(f"a[href$='/job/{callback_id}']").click()
    expect(page.locator("[data-live-field=status]")).to_have_text("succeeded")
    expect(page.locator("pre.result")).to_contain_text("notified browser")
    assert watched.violations() == []
    assert watched.errors == []


def test_a_running_jobs_progress_updates_without_a_reload(context: Any, live: Live) -> None:
    try:
        job = GatedJob.perform_later()
        assert tracked_jobs.reported.wait(15), "the job never reported progress"
        watched = Watched(context)
        # found by the job_id the application holds, through the header's status lookup
        page = watched.goto(live.url + "/")
        page.locator("form.lookup input[name=job_id]").fill(job.job_id)
        page.locator("form.lookup button").click()
        progress = page.locator("[data-live-field=progress]")
        expect(progress).to_have_text("40% rendered 40 pages", timeout=WAIT)
        expect(page.locator("[data-live-field=status]")).to_have_text("running")
        page.evaluate("window.__same_page = true")
        tracked_jobs.gate.set()
        expect(progress).to_have_text("80% rendered 80 pages", timeout=WAIT)
        assert page.locator("progress[data-live-fraction]").evaluate("p => p.value") == 0.8
        assert page.evaluate("window.__same_page") is True, "the page reloaded to update"
        tracked_jobs.finish.set()
        # settled: the page reloads once to show the result
        expect(page.locator("pre.result")).to_contain_text("done", timeout=WAIT)
        expect(page.locator("[data-live-field=status]")).to_have_text("succeeded")
        assert watched.violations() == []
        assert watched.errors == []
    finally:
        tracked_jobs.reset()
        tracked_jobs.rearm()


@pytest.fixture(params=["async", *sorted(BACKENDS)])
def timed(request: pytest.FixtureRequest) -> Iterator[Live]:
    """`live`, and the async adapter too (its store keeps run times in this process)."""
    if request.param == "async":
        made = AsyncAdapter(autostart=False)
        try:
            with live_dashboard(made) as running:
                yield running
        finally:
            made.shutdown(timeout=5)
        return
    name, port = SERVICES[request.param]
    require_service(name, "127.0.0.1", port)
    with BACKENDS[request.param]() as adapter, live_dashboard(adapter) as running:
        yield running


@pytest.fixture
def timed_context(browser: Any, timed: Live) -> Iterator[Any]:
    made = authenticated_context(browser, timed.url)
    yield made
    made.close()


def test_the_classes_page_sorts_and_charts_a_class(
    timed_context: Any, timed: Live, tmp_path: Path
) -> None:
    """Run times per job class: the slowest class first, re-sorted by a header link, and a
    class's page whose charts dashboard.js draws (no inline style: the CSP allows none). On a
    backend that keeps no run times, the page says so."""
    live, context = timed, timed_context
    journal = str(tmp_path / "timed.jsonl")
    for i in range(3):
        SleepyJob.perform_later(journal, f"t{i}", 20)
    OtherSleepyJob.perform_later(journal, "o", 150)
    wait_for(lambda: len(read(journal)) == 4, "the timed jobs to run")
    watched = Watched(context)
    if not type(live.adapter).capabilities.timings:
        page = watched.goto(live.url + "/classes")
        expect(page.locator("nav a.on")).to_have_text("Classes")
        expect(page.locator("main")).to_contain_text("keeps no run times")
        assert watched.errors == [] and watched.violations() == []
        return
    since = int(time.time() // 60) - 2
    wait_for(
        lambda: sum(t.count for t in live.inspector.timings(since)) == 4, "the runs to be counted"
    )
    page = watched.goto(live.url + "/classes")
    expect(page.locator("nav a.on")).to_have_text("Classes")
    rows = page.locator("table.classes tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-class", OTHER_TIMED)  # the slowest first
    page.locator("th a[data-sort=count]").click()
    expect(rows.first).to_have_attribute("data-class", TIMED)  # 3 runs before 1
    expect(rows.first).to_contain_text("0.0 %")
    rows.filter(has_text=OTHER_TIMED).get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text(OTHER_TIMED)
    expect(page.locator("tr[data-window=hour] td").nth(1)).to_have_text("1")  # runs
    expect(page.locator(".charts figure")).to_have_count(4)
    # dashboard.js sizes the bars on DOMContentLoaded, which can come after the h1 and the
    # figures are there: wait for it (bounded), then check that every bar got a height
    page.wait_for_function(
        "() => [...document.querySelectorAll('.bar-timing')].some(b => b.style.height)",
        timeout=10_000,
    )
    heights = page.locator(".bar-timing").evaluate_all("bars => bars.map(b => b.style.height)")
    assert heights and all(h.endswith("%") for h in heights), heights
    assert "100%" in heights, "the p95 of the run was not drawn"
    assert watched.errors == [] and watched.violations() == []
