"""Scripting the dashboard: with ``Authorization: Bearer`` an action needs no CSRF token (no
browser adds that header by itself) and answers JSON for ``Accept: application/json``; with the
cookie, as a browser, the CSRF token stays required."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from dashboard.browser_support import serve

import jobframe
from jobframe.dashboard import Auth, create_app
from jobframe.testing.outcomes import fail_ready

TOKEN = "s" * 32
JSON = {"Accept": "application/json"}


class ScriptedJob(jobframe.Job):
    queue_as = "scripted"

    def perform(self, text: str) -> None:
        pass


def dead_jobs(adapter: Any, count: int) -> list[str]:
    jobframe.perform_all_later([ScriptedJob(f"s{i}") for i in range(count)])
    error = {"class": "ValueError", "message": "no", "traceback": ""}
    return fail_ready(adapter.worker_backend(), count, error=error, process="script-worker")


@pytest.fixture
def url(adapter: Any) -> Any:
    with serve(create_app(adapter.inspector(), Auth(token=TOKEN))) as base:
        yield base


def test_bearer_clients_act_with_json_and_no_csrf_token(url: str, adapter: Any) -> None:
    ids = dead_jobs(adapter, 3)
    inspector = adapter.inspector()
    bearer = {"Authorization": f"Bearer {TOKEN}", **JSON}
    with httpx2.Client(base_url=url, headers=bearer, timeout=10) as client:
        paused = client.post("/queues/pause", data={"queue": "scripted"})
        assert paused.status_code == 200
        assert paused.json() == {"ok": True, "queue": "scripted", "action": "pause"}
        assert [q.paused for q in inspector.queues() if q.name == "scripted"] == [True]
        assert client.post("/queues/resume", data={"queue": "scripted"}).json()["ok"]
        retried = client.post(f"/job/{ids[0]}/retry", data={"state": "dead"})
        assert retried.json() == {"ok": True, "action": "retry", "count": 1}
        bulk = client.post("/jobs/dead/bulk", data={"action": "discard", "id": ids[1:]})
        assert bulk.json() == {"ok": True, "action": "discard", "count": 2}
        assert inspector.count("dead") == 0 and inspector.count("ready") == 1
        cleared = client.post("/queues/clear", data={"queue": "scripted"})
        assert cleared.json() == {"ok": True, "queue": "scripted", "cleared": 1}
        missing = client.post("/queues/pause", data={})
        assert missing.status_code == 400 and "queue=NAME" in missing.json()["error"]
        wrong = client.post("/jobs/dead/bulk", data={"action": "explode", "all": "1"})
        assert wrong.status_code == 400 and "retry or discard" in wrong.json()["error"]
        plain = client.post("/queues/pause", data={"queue": "scripted"}, headers={"Accept": "*/*"})
        assert plain.status_code == 303 and plain.headers["location"] == "/queues"


def test_cookie_and_basic_clients_still_need_the_csrf_token(url: str, adapter: Any) -> None:
    """A browser sends cookies and cached Basic credentials cross-site: no exemption for them."""
    with httpx2.Client(base_url=url, cookies={"jobframe_token": TOKEN}, timeout=10) as browser:
        assert browser.post("/queues/pause", data={"queue": "q"}, headers=JSON).status_code == 403
    wrong = {"Authorization": "Bearer " + "x" * 32, **JSON}
    refused = httpx2.post(f"{url}/queues/pause", data={"queue": "q"}, headers=wrong)
    assert refused.status_code == 401 and refused.json() == {"error": "Authentication required."}
    basic_app = create_app(adapter.inspector(), Auth(username="ops", password="secret-pw"))
    with serve(basic_app) as basic_url:
        response = httpx2.post(
            f"{basic_url}/queues/pause", data={"queue": "q"}, auth=("ops", "secret-pw")
        )
        assert response.status_code == 403
    assert not any(q.paused for q in adapter.inspector().queues())
