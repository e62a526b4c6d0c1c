"""Closed by default: authentication and CSRF protection for every page and action.

The security headers every response carries are `jobframe.dashboard.headers.SecurityHeaders`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from jobframe.config import MIN_DASHBOARD_PASSWORD, MIN_DASHBOARD_TOKEN
from jobframe.errors import ConfigurationError

CSRF_COOKIE = "jobframe_csrf"
TOKEN_COOKIE = "jobframe_token"


def _wire(text: str) -> bytes:
    """A header or cookie value as the bytes the client sent.

    Starlette decodes headers as latin-1, so encoding back gives the bytes on the wire; clients
    send a non-ASCII token as UTF-8, which is what a configured token is compared as.
    """
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _same(offered: bytes, expected: str) -> bool:
    """Constant-time, on bytes: `hmac.compare_digest` refuses ``str`` with non-ASCII text."""
    return hmac.compare_digest(offered, expected.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class Auth:
    """Who may use the dashboard: a bearer/cookie token, basic credentials, or a callable.

    With none of them configured every request is refused (401): the dashboard is closed until
    someone decides who may open it. A token shorter than 16 characters or a password shorter
    than 8 is refused here as in the settings, so code cannot open it with a guessable one.
    """

    token: str | None = None
    username: str | None = None
    password: str | None = None
    check: Callable[[Request], bool] | None = None

    def __post_init__(self) -> None:
        if self.token is not None and len(self.token) < MIN_DASHBOARD_TOKEN:
            raise ConfigurationError(
                f"Auth(token=...) needs at least {MIN_DASHBOARD_TOKEN} characters, got "
                f"{len(self.token)} (not shown): generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'."
            )
        if self.password is not None and len(self.password) < MIN_DASHBOARD_PASSWORD:
            raise ConfigurationError(
                f"Auth(password=...) needs at least {MIN_DASHBOARD_PASSWORD} characters, got "
                f"{len(self.password)} (not shown): choose a longer one."
            )

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.username and self.password) or self.check)

    def allows(self, request: Request) -> bool:
        if self.check is not None and self.check(request):
            return True
        if self.token:
            cookie = request.cookies.get(TOKEN_COOKIE)
            if cookie and _same(_wire(cookie), self.token):
                return True
            if self.bearer(request):
                return True
        if self.username and self.password:
            user, password = _basic(request)
            # both compared, always: the time taken does not tell which one was wrong
            user_ok = _same(user, self.username)
            if _same(password, self.password) and user_ok:
                return True
        return False

    def bearer(self, request: Request) -> bool:
        """Whether the request carries the token in ``Authorization: Bearer``.

        Browsers never add that header on their own, so a request that has it was written by a
        script holding the token, not forged by another site: actions skip the CSRF token.
        """
        offered = _bearer(request)
        return bool(self.token and offered and _same(offered, self.token))


def _bearer(request: Request) -> bytes | None:
    header = request.headers.get("authorization", "")
    return _wire(header[7:]) if header.lower().startswith("bearer ") else None


def _basic(request: Request) -> tuple[bytes, bytes]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return b"", b""
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).partition(b":")
    except (binascii.Error, ValueError):
        return b"", b""
    return user, password


def csrf_token(request: Request) -> str:
    token: str = request.scope.setdefault(
        "jobframe.csrf", request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    )
    return token


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].lower()


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def csrf_ok(request: Request, form_token: str | None, trusted_origins: Iterable[str] = ()) -> bool:
    """Double-submit cookie, plus a check that the browser did not post from another site.

    The cross-origin check follows Go's ``http.CrossOriginProtection``: ``Sec-Fetch-Site``
    (sent by every current browser, and not settable by a page) decides when present; without
    it the ``Origin`` (or ``Referer``) must name the ``Host`` the request came in on, or one of
    ``trusted_origins`` (a reverse proxy that rewrites ``Host`` needs its public origin there).
    """
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not form_token or not hmac.compare_digest(_wire(cookie), _wire(form_token)):
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    trusted = origin is not None and _origin(origin) in {_origin(t) for t in trusted_origins}
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none") or trusted
    if origin is None:
        return True  # not a browser, or an old one that sent neither: the token decides
    return trusted or _host(origin) == request.headers.get("host", "").lower()


Handler = Callable[[Request], Awaitable[Response]]


def refusal(
    request: Request, message: str, status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """An error answer: plain text, or ``{"error": message}`` for a client that asks for JSON."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status, headers)
    return PlainTextResponse(message, status, headers)


def secured(auth: Auth) -> Callable[[Handler], Handler]:
    """Wrap a route: refuse without authentication; set the CSRF cookie a page's forms use."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not auth.configured:
                return refusal(
                    request,
                    "The jobframe dashboard is closed: configure dashboard_token, or "
                    "dashboard_username and dashboard_password, or pass auth= to create_app().",
                    401,
                )
            if not auth.allows(request):
                response = refusal(request, "Authentication required.", 401)
                if auth.username:
                    response.headers["WWW-Authenticate"] = 'Basic realm="jobframe"'
                return response
            response = await handler(request)
            token = request.scope.get("jobframe.csrf")
            if token and request.cookies.get(CSRF_COOKIE) != token:
                response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
            return response

        return guarded

    return wrap


__all__ = ["Auth", "csrf_ok", "csrf_token", "refusal", "secured"]
