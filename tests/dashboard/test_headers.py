"""Every response carries the security headers: pages, errors (400-405, 500) and static files."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from jobframe.dashboard import Auth, create_app
from jobframe.dashboard.headers import CSP

TOKEN = "h" * 32


class BrokenInspector:
    """A real backend's inspector whose queue listing fails, as one would with the store down."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def queues(self) -> list[Any]:
        raise RuntimeError("the store went away")


def assert_secured(response: Any, what: str) -> None:
    headers = response.headers
    assert headers.get("content-security-policy") == CSP, what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what
    assert headers.get("cache-control") == "no-store", what


def test_every_status_and_static_file_carries_the_headers(adapter: Any) -> None:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    bearer = TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})
    browser = TestClient(app, cookies={"jobframe_token": TOKEN})
    anonymous = TestClient(app)
    page = browser.get("/jobs/dead")
    (csrf,) = re.findall(r'name="csrf" value="([^"]+)"', page.text)[:1]
    cases = [
        (page, 200, "a page"),
        (bearer.get("/static/dashboard.css"), 200, "a static file"),
        (bearer.get("/static/nothing-here.js"), 404, "a missing static file"),
        (bearer.post("/queues/pause", data={"queue": "q"}, follow_redirects=False), 303, "303"),
        (bearer.get("/jobs/ready?page=abc"), 400, "a bad page number"),
        (bearer.post("/jobs/dead/bulk", data={"action": "explode", "all": "1"}), 400, "400"),
        (anonymous.get("/"), 401, "no credentials"),
        (browser.post("/queues/pause", data={"csrf": "forged", "queue": "q"}), 403, "CSRF"),
        (bearer.get("/no/such/page"), 404, "no route"),
        (bearer.get("/jobs/nostate"), 404, "no state"),
        (bearer.get("/job/no-such-job"), 404, "no job"),
        (bearer.get("/queues/pause"), 405, "GET on an action"),
    ]
    assert csrf
    for response, status, what in cases:
        assert response.status_code == status, (what, response.text)
        assert_secured(response, what)


def test_a_500_from_a_failing_inspector_carries_the_headers(adapter: Any) -> None:
    app = create_app(BrokenInspector(adapter.inspector()), Auth(token=TOKEN))
    client = TestClient(
        app, headers={"Authorization": f"Bearer {TOKEN}"}, raise_server_exceptions=False
    )
    for path in ("/", "/queues", "/jobs/ready"):
        response = client.get(path)
        assert response.status_code == 500, path
        assert_secured(response, path)
        assert "the store went away" not in response.text  # no traceback for the visitor
    assert client.get("/workers").status_code == 200, "the other pages still answer"


@pytest.mark.parametrize("path", ["/static/dashboard.js", "/static/favicon.svg"])
def test_static_files_need_no_credentials_but_get_the_headers(adapter: Any, path: str) -> None:
    response = TestClient(create_app(adapter.inspector(), Auth(token=TOKEN))).get(path)
    assert response.status_code == 200
    assert_secured(response, path)
