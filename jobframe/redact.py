"""Credentials out of messages: every adapter shows its URL through `mask_url`.

A backend URL often carries a password (``redis://:secret@host/0``,
``postgresql://app:secret@db/app``) or a token in its query (``?password=...``). Error messages,
log lines, the CLI, the worker's banner and the dashboard name the backend by its URL, so they
show it masked, and text from a driver passes through `mask_secrets` before it is shown.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
#: Shorter passwords are masked inside URLs only: replacing every "1" of a message with ``***``
#: would garble it, and a password that short is no secret anyway.
MIN_FREE_SECRET = 4

#: Query (or ``key=value`` DSN) parameters whose value is a secret.
_SECRET_PARAMETER = re.compile(
    r"(?i)((?:^|[?&;\s])[\w.-]*(?:pass|pwd|token|secret|auth|credential|api[_-]?key|access[_-]?key)"
    r"[\w.-]*\s*=\s*)[^&#;\s]*"
)


def _userinfo_end(url: str) -> tuple[int, int]:
    """Where the authority of `url` starts and where its ``user:password@`` part ends (or -1)."""
    start = url.find("://")
    start = 0 if start < 0 else start + 3
    stop = len(url)
    for sep in "?#":  # not "/": a password with an unescaped "/" must be masked too
        at = url.find(sep, start)
        if at >= 0:
            stop = min(stop, at)
    return start, url.rfind("@", start, stop)


def mask_url(url: str) -> str:
    """`url` with its password and secret query parameters replaced by ``***``.

    The user name stays (it tells which account was used); a lone ``user@`` with no password is
    kept as is. Text that is not a URL comes back unchanged but for ``password=...`` pairs.

    >>> mask_url("redis://:hunter2@127.0.0.1:6379/9?ssl_password=x&db=1")
    'redis://:***@127.0.0.1:6379/9?ssl_password=***&db=1'
    """
    start, at = _userinfo_end(url)
    if at >= 0:
        user, colon, _password = url[start:at].partition(":")
        if colon:
            url = f"{url[:start]}{user}:{MASK}{url[at:]}"
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + MASK, url)


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def mask_secrets(text: str, url: str | None = None) -> str:
    """`text` (e.g. a driver's error message) with every URL in it masked by `mask_url`.

    When the backend's `url` is given, its password is also replaced wherever it appears, raw
    or percent-encoded, so a driver that quotes its connection parameters cannot leak it.
    """
    if url:
        start, at = _userinfo_end(url)
        raw = url[start:at].partition(":")[2] if at >= 0 else ""
        for secret in sorted({raw, unquote(raw)}, key=len, reverse=True):
            if len(secret) >= MIN_FREE_SECRET:
                text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group()), text)
    return _SECRET_PARAMETER.sub(lambda m: m.group(1) + MASK, text)


__all__ = ["MASK", "mask_secrets", "mask_url"]
