"""The jobframe dashboard inside a Django site, behind Django's staff login.

An async Django view hands each request under the mount (``path("jobs/",
include("jobframe.contrib.django.urls"))``) to the dashboard's ASGI app, with the mount as its
``root_path`` so its links and static files stay under the prefix, and turns the answer back
into a Django response. Who may open it is Django's decision (staff by default): the dashboard's
own token or password is then not asked for, and its own CSRF check (a double-submit cookie and
the browser's ``Sec-Fetch-Site``/``Origin``) guards its forms in place of Django's, which its
forms do not carry. Needs ``jobframe[dashboard]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings as django_settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseRedirectBase
from django.views.decorators.csrf import csrf_exempt

from jobframe import config

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = ["dashboard_view", "is_staff"]

#: set in the ASGI scope by the view once Django has let the user in; the dashboard's Auth reads it
ALLOWED = "jobframe.django.allowed"

Allow = Callable[["AbstractBaseUser | AnonymousUser"], bool]
ASGIApp = Callable[..., Any]
#: the view: ``(request, path)``, ``path`` being the part of the URL under the mount
DashboardView = Callable[[HttpRequest, str], Coroutine[Any, Any, HttpResponse]]


def is_staff(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Django admin's rule (``staff_member_required``): an active staff user."""
    return bool(user.is_active and getattr(user, "is_staff", False))


def _allowed_by_django(request: Any) -> bool:
    return request.scope.get(ALLOWED) is True


class _App:
    """The dashboard's ASGI app, made again when the jobframe settings change."""

    def __init__(self) -> None:
        self._for: config.Settings | None = None
        self._app: ASGIApp | None = None

    def get(self) -> ASGIApp:
        current = config.settings()
        if self._app is None or self._for is not current:
            from jobframe.dashboard import Auth, create_app

            self._app = create_app(auth=Auth(check=_allowed_by_django))
            self._for = current
        return self._app


_app = _App()


def dashboard_view(allow: Allow = is_staff) -> DashboardView:
    """A view serving the dashboard to the users ``allow(user)`` accepts (`is_staff` by
    default); others are sent to ``settings.LOGIN_URL`` if anonymous, refused (403) if not.

    Route it with a ``path`` keyword holding the rest of the URL, as
    ``jobframe.contrib.django.urls`` does.
    """

    @csrf_exempt
    async def dashboard(request: HttpRequest, path: str = "") -> HttpResponse:
        user = await request.auser()
        if not allow(user):
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), django_settings.LOGIN_URL)
            raise PermissionDenied("Only staff may open the jobframe dashboard.")
        mount = request.path[: len(request.path) - len(path)].rstrip("/")
        return await _forward(request, mount)

    return dashboard


async def _forward(request: HttpRequest, mount: str) -> HttpResponse:
    """``request`` through the dashboard's ASGI app, mounted at ``mount``."""
    body = request.body
    host, _, port = request.get_host().partition(":")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method or "GET",
        "scheme": request.scheme or "http",
        "path": request.path,
        "raw_path": quote(request.path, safe="/:@!$&'()*+,;=~").encode("ascii"),
        "root_path": mount,
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
            for name, value in request.headers.items()
        ],
        "client": (request.META.get("REMOTE_ADDR") or "127.0.0.1", 0),
        "server": (host, int(port or (443 if request.is_secure() else 80))),
        ALLOWED: True,
    }
    sent = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the client "goes away" once the whole answer is in
            await finished.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    answer: dict[str, Any] = {"status": 500, "headers": [], "body": []}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = message.get("headers", [])
        elif message["type"] == "http.response.body":
            answer["body"].append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await _app.get()(scope, receive, send)
    return _response(answer["status"], answer["headers"], b"".join(answer["body"]))


def _response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> HttpResponse:
    """The dashboard's answer as a Django response (a redirect as Django's, for its clients)."""
    pairs = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
    location = next((value for name, value in pairs if name.lower() == "location"), None)
    response = (
        HttpResponseRedirectBase(location, content=body, status=status)
        if location is not None and 300 <= status < 400
        else HttpResponse(body, status=status)
    )
    for name, value in pairs:
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        elif name.lower() in ("content-length", "location"):
            continue  # Django sets the length from the body it sends
        elif name in response.headers and name.lower() != "content-type":
            response.headers[name] = f"{response.headers[name]}, {value}"
        else:
            response.headers[name] = value
    return response
