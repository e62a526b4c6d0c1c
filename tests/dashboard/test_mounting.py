"""The mounting examples (examples/dashboard/) served over real HTTP: Starlette with uvicorn, Flask
through a2wsgi with Werkzeug's server; the dashboard works under their ``/jobs`` prefix."""

from __future__ import annotations

import http.cookiejar
import importlib.util
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dashboard.browser_support import serve

import jobframe
from jobframe import queue_adapters
from jobframe.testing import environment
from jobframe_sql.testing import sql_adapter

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "dashboard"
TOKEN = "mount-token-" + "m" * 20


class MountedJob(jobframe.Job):
    queue_as = "mounted"

    def perform(self, text: str) -> None:
        pass


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings from the environment, as the examples expect: a SQLite file and a token."""
    monkeypatch.setenv("JOBFRAME_DASHBOARD_TOKEN", TOKEN)
    with sql_adapter("sqlite", tmp_path) as tables:
        url = tables.engine.url.render_as_string(hide_password=False)
        with environment.configured(monkeypatch, "sql", url):
            yield


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"example_{name}_{uuid.uuid4().hex}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def starlette_site(configured: None) -> Iterator[str]:
    with serve(load_example("starlette_app").app) as url:
        yield url


@pytest.fixture
def flask_site(configured: None) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, load_example("flask_app").app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="flask-example", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class Browser:
    """Plain HTTP with a cookie jar, like a browser without JavaScript: it carries the token in
    the ``jobframe_token`` cookie (a bearer header would exempt its posts from the CSRF check)."""

    def __init__(self, token: str | None = TOKEN) -> None:
        jar = http.cookiejar.CookieJar()
        if token:
            jar.set_cookie(_cookie("jobframe_token", token))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.headers: dict[str, str] = {}

    def request(self, url: str, form: dict[str, str] | None = None, **headers: str) -> Any:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, headers={**self.headers, **headers})
        try:
            response = self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return response.status, response.geturl(), response.read().decode()


def _cookie(name: str, value: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        version=0, name=name, value=value, port=None, port_specified=False,
        domain="127.0.0.1", domain_specified=False, domain_initial_dot=False,
        path="/", path_specified=True, secure=False, expires=None, discard=True,
        comment=None, comment_url=None, rest={},
    )  # fmt: skip


@pytest.mark.parametrize("site", ["starlette_site", "flask_site"])
def test_the_mounted_dashboard_works_under_its_prefix(
    site: str, request: pytest.FixtureRequest
) -> None:
    base: str = request.getfixturevalue(site)
    MountedJob.perform_later("<i>from the host app</i>")
    browser = Browser()

    status, _, home = browser.request(base + "/")
    assert status == 200 and "Your application" in home, "the host app keeps its own routes"
    assert Browser(token=None).request(base + "/jobs/")[0] == 401
    assert Browser(token="w" * 32).request(base + "/jobs/queues")[0] == 401

    status, _, page = browser.request(base + "/jobs/")
    assert status == 200 and "<h1>Overview</h1>" in page
    assert 'href="/jobs/static/dashboard.css"' in page  # paths under the prefix, no host
    assert 'data-summary="/jobs/api/summary"' in page
    status, _, css = browser.request(base + "/jobs/static/dashboard.css")
    assert status == 200 and ".cards" in css
    status, _, summary = browser.request(base + "/jobs/api/summary")
    assert status == 200 and '"ready":1' in summary.replace(" ", "")
    status, _, jobs = browser.request(base + "/jobs/jobs/ready")
    assert "&lt;i&gt;from the host app&lt;/i&gt;" in jobs and "<i>from" not in jobs

    status, _, queues = browser.request(base + "/jobs/queues")
    match = re.search(
        r'action="([^"]+/pause)">\s*<input type="hidden" name="csrf" value="([^"]+)">'
        r'<input type="hidden" name="queue" value="mounted">',
        queues,
    )
    assert match, queues
    path, token = match.groups()
    assert path == "/jobs/queues/pause"
    action = base + path
    assert browser.request(action, {"csrf": "forged", "queue": "mounted"}, Origin=base)[0] == 403
    status, landed, after = browser.request(
        action, {"csrf": token, "queue": "mounted"}, Origin=base
    )
    assert status == 200 and landed == f"{base}/jobs/queues", "redirected within the prefix"
    assert "<td>paused</td>" in after
    inspector = queue_adapters.get().inspector()  # type: ignore[attr-defined]
    assert [q.paused for q in inspector.queues() if q.name == "mounted"] == [True]
