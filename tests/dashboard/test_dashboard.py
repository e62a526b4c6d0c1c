"""The dashboard over real backends (Redis, SQLite): pages, actions, and its security rules."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from fixture_jobs.page_job import PageJob
from starlette.testclient import TestClient

import jobframe
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.dashboard import Auth, create_app
from jobframe.testing.outcomes import fail_ready

TOKEN = "t" * 32


@pytest.fixture
def client(adapter: Any) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def fail_some(adapter: Any, count: int) -> list[str]:
    error = {"class": "ValueError", "message": "<b>boom</b>", "traceback": "Traceback <here>"}
    return fail_ready(adapter.worker_backend(), count, error=error, process="dash-worker")


def csrf(client: TestClient, path: str = "/queues") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_closed_until_authentication_is_configured(adapter: Any) -> None:
    closed = TestClient(create_app(adapter.inspector(), Auth()))
    for path in ("/", "/queues", "/jobs/dead", "/workers", "/api/summary"):
        response = closed.get(path)
        assert response.status_code == 401 and "closed" in response.text
    assert closed.post("/queues/pages/pause").status_code == 401


def test_wrong_or_missing_credentials_are_refused(adapter: Any) -> None:
    app = create_app(adapter.inspector(), Auth(token=TOKEN, username="ops", password="secret-pw"))
    anonymous = TestClient(app)
    assert anonymous.get("/").status_code == 401
    assert anonymous.get("/", headers={"Authorization": "Bearer nope"}).status_code == 401
    basic = base64.b64encode(b"ops:secret-pw").decode()
    assert anonymous.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    with_cookie = TestClient(app, cookies={"jobframe_token": TOKEN})
    assert with_cookie.get("/").status_code == 200


def test_pages_render_with_security_headers(client: TestClient, adapter: Any) -> None:
    PageJob.perform_later("hello")
    PageJob.set(wait=3600).perform_later("later")
    for path in (
        "/",
        "/queues",
        "/jobs/ready",
        "/jobs/scheduled",
        "/jobs/running",
        "/jobs/dead",
        "/workers",
        "/jobs/ready?queue=pages&page=1",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
    assert "hello" in client.get("/jobs/ready").text
    assert client.get("/api/summary").json()["counts"]["ready"] == 1


def test_job_data_is_escaped(client: TestClient, adapter: Any) -> None:
    PageJob.perform_later("<script>alert(1)</script>")
    (dead,) = fail_some(adapter, 1)
    for path in ("/jobs/dead", f"/job/{dead}"):
        html = client.get(path).text
        assert "<script>alert(1)</script>" not in html
        assert "<b>boom</b>" not in html
    assert "&lt;b&gt;boom&lt;/b&gt;" in client.get(f"/job/{dead}").text


def test_forged_cross_site_posts_are_rejected(adapter: Any) -> None:
    """A browser's request: the token in a cookie, which it would also send cross-site."""
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    client = TestClient(app, cookies={"jobframe_token": TOKEN})
    PageJob.perform_later("x")
    token = csrf(client)
    assert client.post("/queues/pages/pause", data={}).status_code == 403
    assert client.post("/queues/pages/pause", data={"csrf": "forged"}).status_code == 403
    other_site = {"Origin": "https://evil.example"}
    assert (
        client.post("/queues/pages/pause", data={"csrf": token}, headers=other_site).status_code
        == 403
    )
    assert not any(q.paused for q in adapter.inspector().queues())
    response = client.post("/queues/pages/pause", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert [q.paused for q in adapter.inspector().queues() if q.name == "pages"] == [True]


def test_retry_and_discard_one_and_in_bulk(client: TestClient, adapter: Any) -> None:
    jobframe.perform_all_later([PageJob(f"j{i}") for i in range(4)])
    ids = fail_some(adapter, 4)
    inspector = adapter.inspector()
    token = csrf(client, "/jobs/dead")
    detail = client.get(f"/job/{ids[0]}")
    assert "ValueError" in detail.text and "Traceback &lt;here&gt;" in detail.text
    client.post(f"/job/{ids[0]}/retry", data={"csrf": token})
    client.post(f"/job/{ids[1]}/discard", data={"csrf": token})
    assert inspector.count("dead") == 2 and inspector.count("ready") == 1
    client.post("/jobs/dead/bulk", data={"csrf": token, "action": "retry", "id": [ids[2]]})
    assert inspector.count("dead") == 1
    client.post("/jobs/dead/bulk", data={"csrf": token, "action": "discard", "all": "1"})
    assert inspector.count("dead") == 0 and inspector.count("ready") == 2


def test_clear_and_resume_a_queue(client: TestClient, adapter: Any) -> None:
    jobframe.perform_all_later([PageJob(f"c{i}") for i in range(3)])
    token = csrf(client)
    client.post("/queues/pages/pause", data={"csrf": token})
    client.post("/queues/pages/resume", data={"csrf": token})
    client.post("/queues/pages/clear", data={"csrf": token})
    assert adapter.inspector().count("ready", "pages") == 0
    assert not any(q.paused for q in adapter.inspector().queues())


def test_mounts_under_a_prefix(adapter: Any) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    host = Starlette(
        routes=[Mount("/admin/jobs", app=create_app(adapter.inspector(), Auth(token=TOKEN)))]
    )
    client = TestClient(host, headers={"Authorization": f"Bearer {TOKEN}"})
    page = client.get("/admin/jobs/queues")
    assert page.status_code == 200
    assert 'href="/admin/jobs/static/dashboard.css"' in page.text
    assert client.get("/admin/jobs/static/dashboard.js").status_code == 200


def test_search_field_only_where_the_backend_can(client: TestClient, adapter: Any) -> None:
    PageJob.perform_later("findable")
    PageJob.perform_later("other")
    page = client.get("/jobs/ready?q=findable")
    if adapter.inspector().supports_search:
        assert 'name="q" value="findable" placeholder' in page.text and "other" not in page.text
    else:
        assert 'placeholder="text in the arguments"' not in page.text and "other" in page.text


def test_bulk_all_acts_on_the_filtered_jobs_only(client: TestClient, adapter: Any) -> None:
    jobframe.perform_all_later([PageJob(f"f{i}") for i in range(3)])
    jobframe.perform_all_later([PageJob(f"o{i}").set(queue="other-pages") for i in range(2)])
    ids = fail_some(adapter, 5)
    assert len(ids) == 5
    token = csrf(client, "/jobs/dead")
    form = {"csrf": token, "action": "discard", "all": "1", "queue": "other-pages"}
    assert "matching the filter" in client.get("/jobs/dead?queue=other-pages").text
    client.post("/jobs/dead/bulk", data=form)
    inspector = adapter.inspector()
    assert inspector.count("dead") == 3
    assert inspector.count("dead", "other-pages") == 0


def test_workers_page_shows_heartbeat_age_and_current_jobs(
    client: TestClient, adapter: Any
) -> None:
    PageJob.perform_later("running")
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("page-worker", ["pages"], 3))
    (claim,) = backend.fetch("page-worker", ["pages"], 1, 0)
    html = client.get("/workers").text
    ages = [float(a) for a in re.findall(r"data-heartbeat-age>([\d.]+) s ago", html)]
    assert ages and 0 <= ages[0] < 60
    assert claim.id in html and "pages" in html


def test_pending_counts_ready_scheduled_and_running_in_one_read(adapter: Any) -> None:
    inspector = adapter.inspector()
    assert inspector.pending() == 0
    for n in range(4):
        PageJob.perform_later(f"ready {n}")
    PageJob.set(wait=3600).perform_later("later")
    assert inspector.pending() == 5
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("pending-worker", ["*"], 2))
    done, failed = backend.fetch("pending-worker", ["*"], 2, 0)
    assert inspector.count("running") == 2 and inspector.pending() == 5, "running still pending"
    error = {"class": "ValueError", "message": "no", "traceback": ""}
    backend.complete(
        "pending-worker", [Outcome(done, "done"), Outcome(failed, "failed", error, attempts=1)]
    )
    assert inspector.count("dead") == 1
    assert inspector.pending() == 3, "neither a finished nor a dead job is pending"
