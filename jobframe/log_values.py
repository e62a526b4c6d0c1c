"""Arguments as log lines and test listings show them: models as their GlobalID, long text cut.

``<User object at 0x7f...>`` tells a reader nothing and differs in every process, while
``gid://shop/User/42`` names the row; a 10 MB argument must not become a 10 MB log line.
"""

from __future__ import annotations

from typing import Any

from jobframe import global_id
from jobframe.errors import JobframeError

_PLAIN = (str, int, float, bool, type(None), bytes)


def loggable_repr(value: Any) -> str:
    """`repr` of `value`, with every model a locator knows shown as its ``gid://`` URI."""
    kind = type(value)
    if kind in _PLAIN:
        return repr(value)
    if kind is list:
        return f"[{', '.join(map(loggable_repr, value))}]"
    if kind is tuple:
        inner = ", ".join(map(loggable_repr, value))
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if kind is dict:
        items = (f"{loggable_repr(k)}: {loggable_repr(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if kind in (set, frozenset) and value:
        inner = "{" + ", ".join(map(loggable_repr, value)) + "}"
        return inner if kind is set else f"frozenset({inner})"
    try:
        gid = global_id.identify(value)
    except (JobframeError, RecursionError):  # e.g. a model with no id yet
        gid = None
    return gid.uri if gid is not None else repr(value)


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters]"


__all__ = ["loggable_repr", "truncate"]
