"""How the dashboard turns job data into HTML: escaped, printable and folded when large.

Every value shown is job data written by someone else (arguments, errors, queue names, stored
bytes), so the templates autoescape, every value is made encodable (a lone surrogate in stored JSON
would otherwise fail the whole page), and a big argument is cut short in listings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from jobframe.payload_summary import preview, recurring_task
from jobframe.reporting import when

HERE = Path(__file__).parent
#: Characters of arguments or error text a listing row shows before "show all N bytes".
FOLD_AT = 300
#: Bytes of arguments or payload the job page shows open; above this they are in a <details>.
DETAIL_OPEN_AT = 10_000

_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(value: Any) -> Any:
    """``value`` with lone surrogates replaced by U+FFFD, so the page can be sent as UTF-8."""
    if isinstance(value, Markup):
        return Markup(_SURROGATE.sub("\ufffd", str(value)))
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    return value


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def compact(value: Any) -> str:
    # not Jinja's `tojson`: that one is for <script> contexts and shows "<" as "\u003c"
    return json.dumps(value, ensure_ascii=False, default=str)


class Folded(NamedTuple):
    """A value as shown in a listing: its first `FOLD_AT` characters and its full size."""

    text: str
    size: int  # bytes of the whole text, UTF-8
    cut: bool


def fold(value: Any, limit: int = FOLD_AT) -> Folded:
    """``value`` (a string as is, anything else as compact JSON), cut to ``limit`` characters."""
    if value is None or value == "":
        return Folded("", 0, False)
    text = value if isinstance(value, str) else compact(value)
    size = len(text.encode("utf-8", "surrogatepass"))
    return Folded(text[:limit], size, len(text) > limit)


def path_for(request: Request, route: str, /, **params: Any) -> str:
    """A route's path, with the mount's or the proxy's prefix (``root_path``) but no scheme or
    host: links and redirects then survive a proxy that rewrites ``Host`` or terminates TLS.

    Parameters are percent-encoded: ``url_for`` puts them into the path as they are.
    """
    quoted = {k: quote(str(v), safe="") for k, v in params.items()}
    return str(request.url_for(route, **quoted).path)


@jinja2.pass_context
def _template_path_for(context: Any, route: str, /, **params: Any) -> str:
    return path_for(context["request"], route, **params)


def templates() -> Jinja2Templates:
    """The dashboard's templates, autoescaped, with its filters and a host-free ``url_for``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, finalize=printable
    )
    # preview: the start of an undecodable job's stored bytes, escaped; recurring_task: the
    # task that enqueued a listed job (None for most, read without decoding them again)
    env.filters.update(
        pretty=pretty, compact=compact, fold=fold, preview=preview, recurring_task=recurring_task
    )
    env.filters["when"] = when  # epoch seconds (a batch's times) as ISO 8601 UTC
    env.globals.update(url_for=_template_path_for, DETAIL_OPEN_AT=DETAIL_OPEN_AT)
    return Jinja2Templates(env=env)
