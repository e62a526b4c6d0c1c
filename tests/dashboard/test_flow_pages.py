"""What the dashboard shows of flow control (issue #14) over real backends (Redis, SQLite): Blocked
beside Ready in the navigation, throttled starts counted and worded as put back (not failures),
and no Cancel button where the inspector cannot cancel. Cancelling itself is in the conformance
suite (`jobframe.testing.conformance.dashboard`), run by every backend."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

import pytest
from fixture_jobs.page_job import PageJob
from starlette.testclient import TestClient

from jobframe.backend import Inspector
from jobframe.backend.worker import ProcessInfo
from jobframe.dashboard import Auth, create_app

TOKEN = "f" * 32


def client_of(inspector: Inspector) -> TestClient:
    app = create_app(inspector, Auth(token=TOKEN))
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def test_blocked_is_listed_after_ready_with_its_count(adapter: Any) -> None:
    page = client_of(adapter.inspector()).get("/").text
    nav = page.split("<nav>", 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="/jobs/(\w+)"', nav) == ["ready", "blocked", "scheduled", "running",
                                                      "dead"]  # fmt: skip
    assert 'data-count="blocked"' in nav
    assert client_of(adapter.inspector()).get("/api/summary").json()["counts"]["blocked"] == 0


def test_throttled_starts_are_counted_and_worded_as_put_back(adapter: Any) -> None:
    PageJob.perform_later("rate limited")
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("dash-throttle", ["*"], 1))
    (claim,) = backend.fetch("dash-throttle", ["*"], 1, 0)
    backend.defer("dash-throttle", claim, time.time() + 60, claim.payload)

    page = client_of(adapter.inspector()).get("/").text
    assert 'data-flow="throttled">1<' in page
    assert "not attempts, not failures" in page
    assert "throttled (rate limit: put back, not failed) per hour, last day" in page
    assert 'data-flow="expired">0<' in page and 'data-flow="cancelled">0<' in page
    assert 'data-stat="failed">0<' in page, "a throttled start was counted as a failure"


@pytest.fixture
def unable(adapter: Any) -> Inspector:
    """The backend's inspector as one that cannot cancel (`cancels` False, `Inspector.cancel`)."""
    real = adapter.inspector()
    cannot = type("NoCancel", (type(real),), {"cancel": Inspector.cancel, "cancels": False})
    made = copy.copy(real)
    made.__class__ = cannot
    return made  # type: ignore[no-any-return]


def test_no_cancel_button_where_the_inspector_cannot_cancel(
    adapter: Any, unable: Inspector
) -> None:
    job = PageJob.perform_later("waiting")
    client = client_of(unable)
    assert "/cancel" not in client.get(f"/job/{job.provider_job_id}").text
    answer = client.post(f"/job/{job.provider_job_id}/cancel", data={"state": "ready"})
    assert answer.status_code == 501 and "cannot cancel" in answer.text
    assert unable.count("ready") == 1
    able = client_of(adapter.inspector()).get(f"/job/{job.provider_job_id}").text
    assert f'action="/job/{job.provider_job_id}/cancel"' in able
