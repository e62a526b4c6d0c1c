"""Credentials of any bytes: non-ASCII tokens and Basic credentials compare as UTF-8 bytes (401 on
a mismatch, never a 500), and a short token is refused without being echoed."""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest
from dashboard.browser_support import serve

import jobframe
from jobframe.dashboard import Auth, create_app
from jobframe.errors import ConfigurationError

ASCII_TOKEN = "a" * 32
UNICODE_TOKEN = "jobframe-tökén-é-" + "ü" * 16


def _basic(credentials: bytes) -> bytes:
    return b"Basic " + base64.b64encode(credentials)


def _status(app: Any, **headers: bytes) -> int:
    """GET / over real HTTP with these exact header bytes (a client sends non-ASCII as UTF-8).

    Not Starlette's TestClient: it re-encodes header values, so it cannot send latin-1 bytes.
    """
    with serve(app) as url:
        return httpx2.get(url + "/", headers=headers, timeout=10).status_code


def test_a_non_ascii_token_works_as_bearer_and_cookie(adapter: Any) -> None:
    app = create_app(adapter.inspector(), Auth(token=UNICODE_TOKEN))
    utf8 = UNICODE_TOKEN.encode()
    assert _status(app, authorization=b"Bearer " + utf8) == 200
    assert _status(app, cookie=b"jobframe_token=" + utf8) == 200
    assert _status(app, authorization=b"Bearer " + utf8[:-2]) == 401
    assert _status(app, authorization=b"Bearer " + UNICODE_TOKEN.encode("latin-1")) == 401


def test_non_ascii_basic_credentials_work(adapter: Any) -> None:
    app = create_app(adapter.inspector(), Auth(username="opé", password="pässwörd-1"))
    assert _status(app, authorization=_basic("opé:pässwörd-1".encode())) == 200
    assert _status(app, authorization=_basic("opé:passwörd-1".encode())) == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": b"Bearer " + "é".encode() * 32},
        {"cookie": b"jobframe_token=" + "é".encode() * 32},
        {"authorization": _basic("é:é".encode())},
        {"authorization": _basic("ops:é".encode())},
        {"authorization": _basic(b"\xff\xfe:\xff")},  # not even UTF-8
        {"authorization": b"Basic \xc3\xa9not-base64"},
    ],
    ids=["bearer", "cookie", "basic-user", "basic-password", "basic-bytes", "basic-garbage"],
)
@pytest.mark.parametrize("configured", ["ascii", "unicode"])
def test_non_ascii_credentials_that_do_not_match_get_401(
    adapter: Any, headers: dict[str, bytes], configured: str
) -> None:
    if configured == "ascii":
        auth = Auth(token=ASCII_TOKEN, username="ops", password="secret-pw")
    else:
        auth = Auth(token=UNICODE_TOKEN, username="öps", password="sécret-pw")
    app = create_app(adapter.inspector(), auth)
    assert _status(app, **headers) == 401


def test_auth_in_code_enforces_the_settings_minimum_without_echoing() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 characters") as short:
        Auth(token="sekrit-1234")
    assert "sekrit" not in str(short.value)
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        Auth(token="x")
    with pytest.raises(ConfigurationError, match="at least 8 characters") as weak:
        Auth(username="ops", password="hunter2")
    assert "hunter2" not in str(weak.value)
    assert Auth(token="t" * 16).configured


def test_a_short_token_in_the_settings_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError, match="dashboard_token") as in_code:
        jobframe.configure(dashboard_token="sekrit-1234")
    assert "sekrit" not in str(in_code.value) and "11 characters" in str(in_code.value)
    environ = {"JOBFRAME_DASHBOARD_PASSWORD": "hunter2"}
    with pytest.raises(ConfigurationError, match="JOBFRAME_DASHBOARD_PASSWORD") as from_env:
        jobframe.config.load(environ=environ)
    assert "hunter2" not in str(from_env.value)
