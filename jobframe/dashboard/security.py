"""Closed by default: authentication, CSRF protection and security headers for every response."""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

CSRF_COOKIE = "jobframe_csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Auth:
    """Who may use the dashboard: a bearer/cookie token, basic credentials, or a callable.

    With none of them configured every request is refused (401): the dashboard is closed until
    someone decides who may open it.
    """

    token: str | None = None
    username: str | None = None
    password: str | None = None
    check: Callable[[Request], bool] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.username and self.password) or self.check)

    def allows(self, request: Request) -> bool:
        if self.check is not None and self.check(request):
            return True
        if self.token:
            offered = request.cookies.get("jobframe_token") or _bearer(request)
            if offered and hmac.compare_digest(offered, self.token):
                return True
        if self.username and self.password:
            user, password = _basic(request)
            if hmac.compare_digest(user, self.username) and hmac.compare_digest(
                password, self.password
            ):
                return True
        return False


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def _basic(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def csrf_token(request: Request) -> str:
    token: str = request.scope.setdefault(
        "jobframe.csrf", request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    )
    return token


def csrf_ok(request: Request, form_token: str | None) -> bool:
    """Double-submit cookie plus a same-origin check: a cross-site form cannot pass both."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not form_token or not hmac.compare_digest(cookie, form_token):
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # same-origin form posts from old browsers may omit both; the token decides
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


Handler = Callable[[Request], Awaitable[Response]]


def secured(auth: Auth) -> Callable[[Handler], Handler]:
    """Wrap a route: refuse without authentication, add the security headers and CSRF cookie."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not auth.configured:
                response: Response = PlainTextResponse(
                    "The jobframe dashboard is closed: configure dashboard_token, or "
                    "dashboard_username and dashboard_password, or pass auth= to create_app().",
                    status_code=401,
                )
            elif not auth.allows(request):
                response = PlainTextResponse("Authentication required.", status_code=401)
                if auth.username:
                    response.headers["WWW-Authenticate"] = 'Basic realm="jobframe"'
            else:
                response = await handler(request)
                token = request.scope.get("jobframe.csrf")
                if token and request.cookies.get(CSRF_COOKIE) != token:
                    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
            return headers(response)

        return guarded

    return wrap


def headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["Auth", "csrf_ok", "csrf_token", "secured"]
