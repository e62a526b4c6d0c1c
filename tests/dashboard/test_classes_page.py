"""The Classes pages (run times per job class) on the async adapter's store: outcomes written the
way a worker writes them, with known run times, so each percentile and order is known; and one
run of real jobs through the adapter's own worker."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jobframe import queue_adapters
from jobframe.backend.inspector import Inspector
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.dashboard import Auth, create_app
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.async_inspector import AsyncInspector
from jobframe.testing.conformance_jobs import RecordingJob
from jobframe.testing.timing_jobs import OtherTimedJob, TimedJob
from jobframe.testing.workers import wait_until

TOKEN = "c" * 32
ERROR = {"class": "ValueError", "message": "boom", "traceback": "", "reason": "x"}


@pytest.fixture
def adapter() -> Iterator[AsyncAdapter]:
    made = AsyncAdapter(autostart=False)
    with queue_adapters.override(made):
        yield made
    made.shutdown(timeout=5)


def client_of(adapter: Any) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def run(adapter: AsyncAdapter, job_class: str, *runtimes: float, failed: int = 0) -> None:
    """Claim one job per runtime and complete it as a worker would, as ``job_class``; the first
    ``failed`` of them failed."""
    store = adapter.store
    for n, runtime in enumerate(runtimes):
        RecordingJob.perform_later("/dev/null", "x")  # a job to claim
        store.register(ProcessInfo("p-classes", ["*"], 1))
        (claim,) = wait_until(lambda: store.fetch("p-classes", ["*"], 1, 0.2), 5, "a job")
        status = "failed" if n < failed else "done"
        error = dict(ERROR) if n < failed else None
        outcome = Outcome(claim, status, error, 1, runtime=runtime, job_class=job_class)
        store.complete("p-classes", [outcome])


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def classes_in(page: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r'<tr data-class="([^"]*)"', page)]


def test_the_table_sorts_slowest_first_with_counts_failures_and_percentiles(
    adapter: AsyncAdapter,
) -> None:
    run(adapter, "app.Fast", 0.004, 0.004, 0.004, 0.004, failed=1)
    run(adapter, "app.Slow", 0.4, 0.4, 1.2)
    run(adapter, "app.Medium", 0.03, 0.03)
    client = client_of(adapter)
    page = client.get("/classes")
    assert page.status_code == 200
    assert classes_in(page.text) == ["app.Slow", "app.Medium", "app.Fast"]
    row = re.search(r'<tr data-class="app.Fast">(.*?)</tr>', page.text, re.S)
    assert row is not None
    words = text_of(row.group(1))
    assert words.startswith("app.Fast 4 25.0 % (1)"), words
    assert 'href="/classes/app.Slow"' in page.text
    assert 'class="on">Classes</a>' in page.text  # the navigation says where we are
    data = client.get("/classes", headers={"Accept": "application/json"}).json()
    slow = {c["job_class"]: c for c in data["classes"]}["app.Slow"]
    assert (slow["count"], slow["failed"]) == (3, 0)
    assert 250 <= slow["p50"] <= 500 and 1000 <= slow["p99"] <= 2500, slow
    assert slow["mean_ms"] == pytest.approx(2000 / 3)
    by_name = client.get("/classes?sort=name")
    assert classes_in(by_name.text) == ["app.Fast", "app.Medium", "app.Slow"]
    by_count = client.get("/classes?sort=count")
    assert classes_in(by_count.text) == ["app.Fast", "app.Slow", "app.Medium"]
    by_failures = client.get("/classes?sort=failures")
    assert classes_in(by_failures.text)[0] == "app.Fast"


def test_the_hour_and_the_day_windows(adapter: AsyncAdapter) -> None:
    run(adapter, "app.Recent", 0.01)
    with adapter.store.lock:  # a run two hours ago, counted as complete() would have then
        outcome = Outcome(None, "done", runtime=0.01, job_class="app.Earlier")  # type: ignore[arg-type]
        adapter.store.timings.add(outcome, time.time() - 7200)
    client = client_of(adapter)
    assert classes_in(client.get("/classes").text) == ["app.Recent"]
    assert classes_in(client.get("/classes?window=hour").text) == ["app.Recent"]
    assert sorted(classes_in(client.get("/classes?window=day").text)) == [
        "app.Earlier",
        "app.Recent",
    ]
    page = client.get("/classes/app.Earlier")
    assert page.status_code == 200
    hour, day = re.findall(r'<tr data-window="(\w+)">(.*?)</tr>', page.text, re.S)
    assert text_of(hour[1]).startswith("last hour 0 0.0 %"), hour
    assert text_of(day[1]).startswith("last day 1 0.0 %"), day
    assert client.get("/classes?window=week").status_code == 400
    assert client.get("/classes?sort=fastest").status_code == 400


def test_a_class_page_charts_runs_and_p95_without_inline_style(adapter: AsyncAdapter) -> None:
    name = "billing/<Invoice>"  # a job_name may hold a slash and markup
    run(adapter, name, 0.02, 0.02, 0.3)
    client = client_of(adapter)
    listed = client.get("/classes").text
    assert "billing/&lt;Invoice&gt;" in listed and "<Invoice>" not in listed
    page = client.get("/classes/billing/%3CInvoice%3E")
    assert page.status_code == 200
    assert "<Invoice>" not in page.text and "billing/&lt;Invoice&gt;" in page.text
    figures = re.findall(r"<figcaption>(.*?)</figcaption>", page.text)
    assert figures == [
        "runs per minute, last hour",
        "p95 run time (ms) per minute, last hour",
        "runs per hour, last day",
        "p95 run time (ms) per hour, last day",
    ]
    bars = re.findall(r'class="bar bar-(\w+)" title="(\d+)" data-height="(\d+)"', page.text)
    assert len(bars) == 2 * 60 + 2 * 24
    runs = [int(t) for kind, t, _ in bars[:60]]
    assert sum(runs) == 3 and runs[-1] + runs[-2] == 3  # this minute (or the last, at a turn)
    p95 = [int(t) for kind, t, _ in bars[60:120]]
    assert max(p95) >= 250 and {kind for kind, _, _ in bars[60:120]} == {"timing"}
    assert max(int(h) for _, _, h in bars[60:120]) == 100
    assert "style=" not in page.text and "<script>" not in page.text
    unknown = client.get("/classes/app.Never")
    assert unknown.status_code == 200 and "last hour 0" in text_of(unknown.text)


def test_real_jobs_through_the_adapters_worker(tmp_path: Path) -> None:
    made = AsyncAdapter(concurrency=2)
    journal = str(tmp_path / "journal.jsonl")
    try:
        with queue_adapters.override(made):
            TimedJob.perform_later(journal, "t", 20)
            OtherTimedJob.perform_later(journal, "o", 60, fail=True)
            client = client_of(made)

            def listed() -> dict[str, Any] | None:
                rows = client.get("/classes", headers={"Accept": "application/json"}).json()
                found = {c["job_class"]: c for c in rows["classes"]}
                return found if len(found) == 2 else None

            found = wait_until(listed, 10, "both classes on the Classes page")
    finally:
        made.shutdown(timeout=5)
    other = found["jobframe.conformance.OtherTimedJob"]
    assert (other["count"], other["failed"], other["failure_rate"]) == (1, 1, 1.0)
    assert other["p50"] >= 50 and found["jobframe.conformance.TimedJob"]["p50"] >= 10


class NoTimingsInspector(AsyncInspector):
    """An inspector that keeps no run times (the base class's `Inspector.timings`)."""

    timings = Inspector.timings


def test_a_backend_without_run_times_says_so(adapter: AsyncAdapter) -> None:
    inspector = NoTimingsInspector(adapter)
    client = TestClient(
        create_app(inspector, Auth(token=TOKEN)), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    for path in ("/classes", "/classes/app.Any"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "keeps no run times per job class" in text_of(page.text)
    assert client.get("/classes", headers={"Accept": "application/json"}).json()["classes"] == []
