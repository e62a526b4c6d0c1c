"""What a dashboard request asks for besides its route: a page number, and JSON or HTML."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

#: The highest page number accepted: 9 digits keep every offset within any database's integers.
MAX_PAGE = 999_999_999


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (``Accept: application/json``): a script's answer."""
    return "application/json" in request.headers.get("accept", "")


def page_number(request: Request) -> int:
    """The ``page`` query parameter; anything but a whole number from 1 to `MAX_PAGE` is a 400."""
    raw = request.query_params.get("page") or "1"
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_PAGE)) and int(raw) >= 1:
        return int(raw)
    shown = repr(raw) if len(raw) <= 20 else f"{raw[:20]!r}... ({len(raw)} characters)"
    raise HTTPException(400, f"page must be a whole number from 1 to {MAX_PAGE}, got {shown}.")


def done(request: Request, target: str, **result: Any) -> Response:
    """An action's answer: JSON for a client that asks for it, else back to the page ``target``."""
    if wants_json(request):
        return JSONResponse({"ok": True, **result})
    return RedirectResponse(target, status_code=303)


__all__ = ["MAX_PAGE", "done", "page_number", "wants_json"]
