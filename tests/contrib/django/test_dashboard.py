"""The dashboard in Django's URLconf (``path("jobs/", include("jobframe.contrib.django.urls"))``),
behind Django's staff login: through Django's test clients (WSGI and ASGI) and one real request
to the Django ASGI app served by uvicorn."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the dashboard needs jobframe[dashboard]")

from dashboard.browser_support import serve
from django.test import AsyncClient, Client, override_settings

import jobframe
from jobframe_sql.testing import sql_adapter

DASHBOARD_TOKEN = "django-dashboard-token-" + "t" * 20


class ShownJob(jobframe.Job):
    queue_as = "django-shown"

    def perform(self, text: str) -> None:
        pass


@pytest.fixture
def users(django_tables: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A staff user and a plain one; jobs on a SQLite SQL adapter; the dashboard's own token and
    basic credentials set too (staff must not be asked for them)."""
    from django.contrib.auth.models import User

    with sql_adapter("sqlite", tmp_path) as made:
        url = made.engine.url.render_as_string(hide_password=False)
        jobframe.configure(
            adapter="sql",
            adapter_options={"url": url},
            dashboard_token=DASHBOARD_TOKEN,
            dashboard_username="ops",
            dashboard_password="ops-password-123",
        )
        ShownJob.perform_later("<i>from the Django app</i>")
        yield {
            "staff": User.objects.create_user("staff", is_staff=True),
            "plain": User.objects.create_user("plain"),
        }


def _client(user: Any = None, **options: Any) -> Client:
    client = Client(**options)
    if user is not None:
        client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_the_login_page(users: dict[str, Any]) -> None:
    response = _client().get("/jobs/queues")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/jobs/queues"


def test_users_who_are_not_staff_are_refused(users: dict[str, Any]) -> None:
    assert _client(users["plain"]).get("/jobs/").status_code == 403
    users["staff"].is_active = False
    users["staff"].save()
    assert _client(users["staff"]).get("/jobs/").status_code == 302  # logged out: inactive


def test_staff_see_the_dashboard_under_the_mount(users: dict[str, Any]) -> None:
    client = _client(users["staff"])
    page = client.get("/jobs/")
    assert page.status_code == 200, page.content
    assert "WWW-Authenticate" not in page, "no second prompt for the dashboard's own password"
    html = page.content.decode()
    assert "<h1>Overview</h1>" in html
    assert 'href="/jobs/static/dashboard.css"' in html  # links under the mount, no host
    assert "default-src" in page["Content-Security-Policy"]
    css = client.get("/jobs/static/dashboard.css")
    assert css.status_code == 200 and b".cards" in b"".join(css)
    summary = client.get("/jobs/api/summary")
    assert summary.status_code == 200 and b'"ready":1' in summary.content.replace(b" ", b"")
    listed = client.get("/jobs/jobs/ready").content.decode()
    assert "&lt;i&gt;from the Django app&lt;/i&gt;" in listed and "<i>from" not in listed


def test_staff_actions_pass_the_dashboards_csrf_check_not_djangos(users: dict[str, Any]) -> None:
    middleware = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    with override_settings(MIDDLEWARE=middleware):
        client = _client(users["staff"], enforce_csrf_checks=True)
        queues = client.get("/jobs/queues").content.decode()
        match = re.search(
            r'action="([^"]+/pause)">\s*<input type="hidden" name="csrf" value="([^"]+)">'
            r'<input type="hidden" name="queue" value="django-shown">',
            queues,
        )
        assert match, queues
        action, token = match.groups()
        assert action == "/jobs/queues/pause"
        forged = client.post(action, {"csrf": "forged", "queue": "django-shown"})
        assert forged.status_code == 403
        done = client.post(action, {"csrf": token, "queue": "django-shown"}, follow=True)
    assert done.status_code == 200
    assert done.redirect_chain[-1][0].endswith("/jobs/queues"), "redirected within the mount"
    assert "<td>paused</td>" in done.content.decode()


def test_the_async_client_gets_the_page(users: dict[str, Any]) -> None:
    async def visit() -> tuple[int, str, int]:
        client = AsyncClient()
        anonymous = await client.get("/jobs/")
        await client.aforce_login(users["staff"])
        page = await client.get("/jobs/")
        return page.status_code, page.content.decode(), anonymous.status_code

    status, html, anonymous = asyncio.run(visit())
    assert (status, anonymous) == (200, 302)
    assert "<h1>Overview</h1>" in html


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.slow
def test_a_real_request_through_uvicorn_and_djangos_asgi_app(users: dict[str, Any]) -> None:
    from django.core.asgi import get_asgi_application

    client = _client(users["staff"])
    session = client.cookies["sessionid"].value
    opener = urllib.request.build_opener(_NoRedirect)
    with serve(get_asgi_application()) as base:
        staff = urllib.request.Request(base + "/jobs/", headers={"Cookie": f"sessionid={session}"})
        with opener.open(staff, timeout=10) as response:
            assert response.status == 200
            html = response.read().decode()
        css = urllib.request.Request(
            base + "/jobs/static/dashboard.css", headers={"Cookie": f"sessionid={session}"}
        )
        with opener.open(css, timeout=10) as response:
            assert response.status == 200 and b".cards" in response.read()
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            opener.open(base + "/jobs/", timeout=10)
        anonymous.value.close()
    assert "<h1>Overview</h1>" in html and 'href="/jobs/static/dashboard.css"' in html
    assert anonymous.value.code == 302
    assert anonymous.value.headers["Location"] == "/accounts/login/?next=/jobs/"
