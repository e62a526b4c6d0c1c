"""The dashboard on the in-process async adapter, and scheduled-job actions."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

import jobframe
from jobframe import queue_adapters
from jobframe.dashboard import Auth, create_app
from jobframe.queue_adapters.async_adapter import AsyncAdapter

TOKEN = "a" * 32


class Boom(Exception):
    pass


class AsyncPageJob(jobframe.Job):
    queue_as = "async-pages"

    def perform(self, text: str) -> None:
        if text.startswith("fail"):
            raise Boom(text)


@pytest.fixture
def adapter() -> Iterator[AsyncAdapter]:
    made = AsyncAdapter(concurrency=2)
    with queue_adapters.override(made):
        yield made
    made.shutdown(timeout=5)


@pytest.fixture
def client(adapter: AsyncAdapter) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs/dead").text)
    assert match
    return match.group(1)


def test_pages_and_actions_on_the_async_adapter(client: TestClient, adapter: AsyncAdapter) -> None:
    inspector = adapter.inspector()
    token = csrf(client)
    inspector.pause("async-pages")
    AsyncPageJob.perform_later("waiting")
    assert "waiting" in client.get("/jobs/ready").text
    assert client.get("/api/summary").json()["counts"]["ready"] == 1
    client.post("/queues/async-pages/resume", data={"csrf": token})
    AsyncPageJob.perform_later("fail-1")
    AsyncPageJob.perform_later("fail-2")
    assert adapter.wait_idle(10)
    assert inspector.count("dead") == 2 and inspector.stats() == {"processed": 3, "failed": 2}
    page = client.get("/jobs/dead")
    assert "Boom" in page.text and "fail-1" in page.text
    first = inspector.jobs("dead")[0]
    detail = client.get(f"/job/{first.id}")
    assert "Traceback" in detail.text
    client.post(f"/job/{first.id}/discard", data={"csrf": token, "state": "dead"})
    client.post("/jobs/dead/bulk", data={"csrf": token, "action": "retry", "all": "1"})
    assert adapter.wait_idle(10)
    assert inspector.count("dead") == 1, "the retried job failed again and is back"
    assert f"<td>{os.getpid()}</td>" in client.get("/workers").text


@pytest.mark.parametrize("action", ["run_now", "discard"])
def test_scheduled_jobs_run_now_or_discard(
    client: TestClient, adapter: AsyncAdapter, action: str
) -> None:
    inspector = adapter.inspector()
    token = csrf(client)
    jobs = [AsyncPageJob.set(wait=timedelta(hours=1)).perform_later(f"later-{i}") for i in range(3)]
    assert inspector.count("scheduled") == 3
    assert "later-0" in client.get("/jobs/scheduled").text
    client.post(
        f"/job/{jobs[0].provider_job_id}/{action}", data={"csrf": token, "state": "scheduled"}
    )
    client.post("/jobs/scheduled/bulk", data={"csrf": token, "action": action, "all": "1"})
    assert adapter.wait_idle(10, include_scheduled=True)
    assert inspector.count("scheduled") == 0
    expected = 3 if action == "run_now" else 0
    assert inspector.stats()["processed"] == expected
    assert (
        client.post(
            "/jobs/scheduled/bulk", data={"csrf": token, "action": "retry", "all": "1"}
        ).status_code
        == 400
    )


def test_arguments_search_on_the_jobs_page(client: TestClient, adapter: AsyncAdapter) -> None:
    adapter.inspector().pause("async-pages")
    AsyncPageJob.perform_later("needle-in-a-haystack")
    AsyncPageJob.perform_later("just hay")
    page = client.get("/jobs/ready?q=needle")
    assert 'name="q"' in page.text and "needle-in-a-haystack" in page.text
    assert "just hay" not in page.text
    assert "just hay" in client.get("/jobs/ready").text


def test_overview_charts_the_last_hour_and_day(client: TestClient, adapter: AsyncAdapter) -> None:
    AsyncPageJob.perform_later("ok")
    AsyncPageJob.perform_later("fail-now")
    assert adapter.wait_idle(10)
    html = client.get("/").text
    for title in ("processed per minute, last hour", "failed per hour, last day"):
        assert title in html
    bars = re.findall(r'class="bar bar-(\w+)" title="(\d+)"', html)
    # processed and failed: the last hour and the last day; expired, cancelled, throttled: the day
    assert len(bars) == 2 * (60 + 24) + 3 * 24
    flow = [kind for kind, n in bars if kind in ("expired", "cancelled", "throttled")]
    assert flow == ["expired"] * 24 + ["cancelled"] * 24 + ["throttled"] * 24
    processed = [int(n) for kind, n in bars if kind == "processed"]
    assert sum(processed[:60]) == 2 and processed[-1] == 2  # in the last hour, and this hour
    assert sum(int(n) for kind, n in bars if kind == "failed") == 2


def test_pending_counts_scheduled_and_unfinished_jobs_not_dead_ones(adapter: AsyncAdapter) -> None:
    inspector = adapter.inspector()
    AsyncPageJob.set(wait=timedelta(hours=1)).perform_later("later")
    AsyncPageJob.perform_later("fail now")
    AsyncPageJob.perform_later("fine")
    assert adapter.wait_idle(10)
    assert inspector.count("dead") == 1
    assert inspector.pending() == 1, "only the scheduled job is left"
