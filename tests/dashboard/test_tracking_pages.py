"""The dashboard's job page by ``job_id`` (status, progress, result folded, chain links), its
live JSON, the status lookup and the Batches pages, on the async adapter's results store."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixture_jobs import tracked_jobs
from fixture_jobs.tracked_jobs import FetchJob, GatedJob, NotifyJob, ParseJob, ReportJob, RowJob
from starlette.testclient import TestClient
from stores import store_adapter

import jobframe
from jobframe import queue_adapters
from jobframe.dashboard import Auth, create_app
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import worker_thread
from jobframe.worker.runtime import WorkerOptions

TOKEN = "t" * 32


@pytest.fixture(params=["redis", "sqlite"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A backend with results and batches, and a worker in a thread performing its jobs."""
    options = WorkerOptions(queues=["*"], concurrency=2, heartbeat_interval=1.0, fetch_timeout=0.2)
    try:
        with (
            store_adapter(request.param, tmp_path, label="jfdashres") as made,
            queue_adapters.override(made),
            worker_thread(made.worker_backend(), options),
        ):
            yield made
            tracked_jobs.reset()  # a job still waiting ends before the worker stops
    finally:
        tracked_jobs.rearm()


@pytest.fixture
def client(adapter: Any) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN), adapter=adapter)
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_finished_job_has_a_page_by_its_job_id(client: TestClient) -> None:
    job = ReportJob.perform_later("weekly")
    job.result(timeout=10)
    page = client.get(f"/job/{job.job_id}")
    assert page.status_code == 200, page.text
    text = words(page.text)
    assert "Status succeeded" in text and "100% written" in text
    assert '"path": "/tmp/weekly.csv"' in text
    assert "no longer stored as a job" in text
    assert 'data-settled="yes"' in page.text, "a settled page does not poll"

    found = client.get("/status", params={"job_id": job.job_id}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/job/{job.job_id}"
    assert client.get("/job/no-such-job").status_code == 404
    assert client.get("/status").status_code == 400


def test_a_big_result_is_folded(client: TestClient) -> None:
    job = ReportJob.perform_later("big", 20_000)
    job.result(timeout=10)
    page = client.get(f"/job/{job.job_id}").text
    assert '<details class="big result">' in page
    assert "x" * 20_000 in page, "the whole result is one click away"
    small = ReportJob.perform_later("small")
    small.result(timeout=10)
    assert '<details class="big result">' not in client.get(f"/job/{small.job_id}").text


def test_a_running_job_shows_its_progress_live(client: TestClient, adapter: Any) -> None:
    job = GatedJob.perform_later()
    assert tracked_jobs.reported.wait(10), "the job never reported progress"
    live = client.get(f"/api/job/{job.job_id}").json()
    assert live == {
        "status": "running",
        "progress": "40% rendered 40 pages",
        "fraction": 0.4,
        "steps": "",
        "settled": False,
    }
    page = client.get(f"/job/{job.job_id}").text
    assert 'data-settled="no"' in page and 'value="0.4"' in page
    assert f'data-live="/api/job/{job.job_id}"' in page
    tracked_jobs.reset()
    assert job.result(timeout=10) == "done"
    assert client.get(f"/api/job/{job.job_id}").json()["settled"] is True


def test_chain_links_are_navigable(client: TestClient) -> None:
    first, second = jobframe.chain(FetchJob("b.example"), ParseJob()).perform_later()
    second.result(timeout=10)
    page = client.get(f"/job/{first.job_id}").text
    assert f'rel="next" href="/job/{second.job_id}"' in page
    assert "link 1 of 2" in words(page)
    back = client.get(f"/job/{second.job_id}").text
    assert f'rel="prev" href="/job/{first.job_id}"' in back


def test_the_batches_pages_list_counts_and_link_the_callbacks(client: TestClient) -> None:
    assert "No batches" in words(client.get("/batches").text)
    with jobframe.batch(on_success=NotifyJob("rows"), description="row import") as batch:
        jobframe.perform_all_later([RowJob(i) for i in range(4)])
    callback_id = jobframe.batch_status(batch.id).callbacks["on_success"]  # type: ignore[union-attr]
    assert jobframe.job_result(callback_id, timeout=10) == "notified rows"

    listed = client.get("/batches").text
    assert f'href="/batch/{batch.id}"' in listed
    row = re.search(rf'<tr data-batch="{batch.id}">(.*?)</tr>', listed, re.S)
    assert row and words(row.group(1)).split()[1:8] == ["row", "import", "4", "0", "4", "0", "0"]

    detail = client.get(f"/batch/{batch.id}")
    assert detail.status_code == 200
    assert re.search(r'data-batch-count="succeeded">4<', detail.text)
    assert f'href="/job/{callback_id}"' in detail.text and "(enqueued)" in detail.text
    callback = client.get(f"/job/{callback_id}").text
    assert "notified rows" in callback
    assert client.get("/batch/nosuchbatch").status_code == 404


def test_a_batch_member_links_to_its_batch(client: TestClient) -> None:
    with jobframe.batch(description="one") as batch:
        job = ReportJob.perform_later("member")
    job.result(timeout=10)
    assert f'href="/batch/{batch.id}"' in client.get(f"/job/{job.job_id}").text


def test_without_batches_the_batches_page_says_so() -> None:
    made = NoBatchesAdapter(autostart=False)
    try:
        app = create_app(made.inspector(), Auth(token=TOKEN), adapter=made)
        client = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})
        page = client.get("/batches")
        assert page.status_code == 200
        assert "This backend keeps no batches" in words(page.text)
        assert client.get("/batch/anything").status_code == 501
    finally:
        made.shutdown(timeout=5)


class NoBatchesAdapter(AsyncAdapter):
    """The async adapter as a backend that keeps no batches declares itself."""

    capabilities = replace(AsyncAdapter.capabilities, batches=False, chains=False)
