"""The dashboard behind a real nginx that rewrites ``Host`` and strips ``/jobs/``: pages load and
actions (pause, retry) go through, from a browser with no configuration and from an Origin-only
client with ``dashboard_trusted_origins``; posts from other sites still get 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from dashboard.proxy_support import dashboard_command, free_port, nginx, require_nginx

import jobframe
from jobframe import queue_adapters
from jobframe.testing.outcomes import fail_ready
from jobframe_sql.testing import sql_adapter

TOKEN = "proxy-token-" + "p" * 24


class ProxiedJob(jobframe.Job):
    queue_as = "proxied"

    def perform(self, text: str) -> None:
        pass


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A SQLite file with one ready and one dead job, and the adapter that wrote them."""
    with sql_adapter("sqlite", tmp_path) as adapter:
        with queue_adapters.override(adapter):
            ProxiedJob.perform_later("to fail")
            ProxiedJob.perform_later("ready one")
        error = {"class": "ValueError", "message": "no", "traceback": ""}
        fail_ready(adapter.worker_backend(), 1, error=error, process="proxy-worker")
        assert adapter.inspector().count("dead") == 1
        yield adapter.engine.url.render_as_string(hide_password=False), adapter


def _proxied(tmp_path: Path, url: str, trusted: bool) -> Any:
    require_nginx()
    public, backend = free_port(), free_port()
    env = {"JOBFRAME_DASHBOARD_TRUSTED_ORIGINS": f"http://127.0.0.1:{public}"} if trusted else {}
    return dashboard_command(url, backend, TOKEN, **env), nginx(tmp_path, backend, public)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_origin_only_clients_need_the_public_origin_trusted(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    url, adapter = database
    command, proxy = _proxied(tmp_path, url, trusted=True)
    client = httpx2.Client(cookies={"jobframe_token": TOKEN}, timeout=10)
    with command, proxy as base, client:
        origin = base.removesuffix("/jobs")
        page = client.get(f"{base}/queues")
        assert page.status_code == 200 and 'action="/jobs/queues/pause"' in page.text
        token = _csrf(page.text)
        form = {"csrf": token, "queue": "proxied"}
        evil = client.post(
            f"{base}/queues/pause", data=form, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        paused = client.post(f"{base}/queues/pause", data=form, headers={"Origin": origin})
        assert paused.status_code == 303 and paused.headers["location"] == "/jobs/queues"
        assert [q.paused for q in adapter.inspector().queues()] == [True]
        (dead,) = adapter.inspector().jobs("dead")
        retried = client.post(
            f"{base}/job/{dead.id}/retry", data={"csrf": token, "state": "dead"},
            headers={"Origin": origin},
        )  # fmt: skip
        assert retried.status_code == 303 and retried.headers["location"] == "/jobs/jobs/dead"
        assert adapter.inspector().count("dead") == 0


def test_without_configuration_only_browsers_own_fetch_metadata_passes(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    """No trusted origin: the Origin names nginx, not the rewritten Host, so an Origin alone is
    refused; a browser's ``Sec-Fetch-Site: same-origin`` (which no page can forge) passes."""
    url, adapter = database
    command, proxy = _proxied(tmp_path, url, trusted=False)
    client = httpx2.Client(cookies={"jobframe_token": TOKEN}, timeout=10)
    with command, proxy as base, client:
        origin = base.removesuffix("/jobs")
        form = {"csrf": _csrf(client.get(f"{base}/queues").text), "queue": "proxied"}
        action = f"{base}/queues/pause"
        assert client.post(action, data=form, headers={"Origin": origin}).status_code == 403
        cross = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        assert client.post(action, data=form, headers=cross).status_code == 403
        same = {"Origin": origin, "Sec-Fetch-Site": "same-origin"}
        assert client.post(action, data=form, headers=same).status_code == 303
        assert [q.paused for q in adapter.inspector().queues()] == [True]


def test_chromium_through_the_proxy_pauses_and_retries(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    from dashboard.browser_support import CHROMIUM, launch_chromium, unavailable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test group installs it
        unavailable(f"playwright is not installed ({exc}); pip install --group test")
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)")
    url, adapter = database
    (dead,) = adapter.inspector().jobs("dead")
    command, proxy = _proxied(tmp_path, url, trusted=False)
    with command, proxy as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "jobframe_token", "value": TOKEN, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/queues")
            page.locator("tr[data-queue='proxied']").get_by_role("button", name="Pause").click()
            page.wait_for_url(f"{base}/queues")
            assert page.locator("tr[data-queue='proxied'] td").nth(3).inner_text() == "paused"
            assert [q.paused for q in adapter.inspector().queues()] == [True]
            page.goto(f"{base}/job/{dead.id}")
            page.get_by_role("button", name="Retry").click()
            page.wait_for_url(f"{base}/jobs/dead")
            assert adapter.inspector().count("dead") == 0
        finally:
            browser.close()


def test_a_trusted_origin_must_be_an_origin(database: tuple[str, Any]) -> None:
    from jobframe.dashboard import Auth, create_app
    from jobframe.errors import ConfigurationError

    _, adapter = database
    with pytest.raises(ConfigurationError, match=r"scheme://host\[:port\] with no path"):
        create_app(adapter.inspector(), Auth(token=TOKEN), ["https://ops.example.com/jobs"])
    environ = {"JOBFRAME_DASHBOARD_TRUSTED_ORIGINS": "https://ok.example, ops.example.com"}
    with pytest.raises(ConfigurationError, match="JOBFRAME_DASHBOARD_TRUSTED_ORIGINS"):
        jobframe.config.load(environ=environ)
    environ = {"JOBFRAME_DASHBOARD_TRUSTED_ORIGINS": "https://a.example, http://b.example:8080"}
    settings = jobframe.config.load(environ=environ)
    assert settings.dashboard_trusted_origins == ("https://a.example", "http://b.example:8080")
