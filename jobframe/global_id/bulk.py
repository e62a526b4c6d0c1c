"""Bulk locating: a job whose arguments hold many models of one class (a list of 100 orders)
loads them with one query per class, not one per model.

A locator that can do so implements `BulkLocator` (``locate_many``) on top of `Locator`. While a
job's arguments are decoded (`jobframe.arguments.deserialize`), `prefetching` gathers every
GlobalID in them, asks each bulk locator once for all the ids of each of its model classes, and
`locate` answers from what came back. A model the bulk answer lacks (its row is gone, or its id
is malformed) is looked up alone with `Locator.locate`, which raises the usual error for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

from jobframe.errors import DeserializationError, JobframeError
from jobframe.global_id.locator import Locator, app_of, locators
from jobframe.global_id.locator import locate as locate_one
from jobframe.global_id.uri import GlobalID

MARKER, GID = "_jf", "gid"  # how `jobframe.arguments` marks a GlobalID: {"_jf": "gid", ...}


@runtime_checkable
class BulkLocator(Locator, Protocol):
    """A `Locator` that also finds many models of one class at once."""

    def locate_many(self, gids: Sequence[GlobalID]) -> Mapping[GlobalID, Any]:
        """The models `gids` (all of one app and model name) name, by GlobalID; those whose row
        is gone, or whose id is malformed, are left out."""


#: GlobalID -> model, found in bulk for the arguments being decoded in this context
_found: ContextVar[Mapping[GlobalID, Any] | None] = ContextVar("jobframe_gid_bulk", default=None)
#: whether each locator class implements `BulkLocator` (a Protocol isinstance check is slow)
_bulk_types: dict[type, bool] = {}


def _is_bulk(locator: Any) -> bool:
    kind = type(locator)
    known = _bulk_types.get(kind)
    if known is None:
        known = _bulk_types[kind] = isinstance(locator, BulkLocator)
    return known


def gids_in(data: Any) -> list[GlobalID]:
    """Every GlobalID marked in serialized arguments `data` (JSON), in order, without recursion."""
    found: list[GlobalID] = []
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is list:
            stack.extend(reversed(item))
        elif kind is dict:
            if item.get(MARKER) == GID:
                gid = GlobalID.parse(item.get("value"))
                if gid is not None:
                    found.append(gid)
            else:
                stack.extend(reversed(item.values()))
    return found


def _groups(gids: list[GlobalID]) -> dict[tuple[int, str, str], tuple[Any, list[GlobalID]]]:
    """The GlobalIDs each bulk locator serves, by (locator, app, model name): the locator that
    `jobframe.global_id.locate` would pick for each, if it is a bulk one."""
    everyone = locators()
    groups: dict[tuple[int, str, str], tuple[Any, list[GlobalID]]] = {}
    chosen: dict[tuple[str, str], Any] = {}
    for gid in dict.fromkeys(gids):  # each once, in order
        where = (gid.app, gid.model_name)
        if where not in chosen:
            serving = (o for o in everyone if app_of(o) == gid.app and o.can_locate(gid.model_name))
            chosen[where] = next(serving, None)
        locator = chosen[where]
        if locator is not None and _is_bulk(locator):
            groups.setdefault((id(locator), *where), (locator, []))[1].append(gid)
    return groups


def prefetching(args: Any, kwargs: Any) -> AbstractContextManager[None]:
    """Within the block, `locate` answers from one bulk lookup per model class for the GlobalIDs
    in serialized ``args`` and ``kwargs`` (classes with a single id are left to `locate`).

    Raises:
        DeserializationError: a bulk locator failed with a `JobframeError`; its other errors
            (an unreachable database) stay themselves, so ``retry_on`` can retry them.
    """
    if not any(_is_bulk(one) for one in locators()):
        return _NOTHING  # every job's arguments pass here: no generator, no walk
    return _prefetched(args, kwargs)


_NOTHING = nullcontext()


@contextmanager
def _prefetched(args: Any, kwargs: Any) -> Iterator[None]:
    gids = gids_in([args, kwargs])
    found: dict[GlobalID, Any] = {}
    if len(gids) > 1:
        for locator, group in _groups(gids).values():
            if len(group) < 2:
                continue
            try:
                found.update(locator.locate_many(group))
            except JobframeError as exc:
                raise DeserializationError(
                    f"{locator!r} could not locate {len(group)} {group[0].model_name} models "
                    f"at once: {exc}"
                ) from exc
    token = _found.set(found or None)
    try:
        yield
    finally:
        _found.reset(token)


def locate(value: GlobalID | str) -> Any:
    """`jobframe.global_id.locate`, answered from the enclosing `prefetching` block when it
    found the model."""
    found = _found.get()
    if found is not None:
        gid = GlobalID.parse(value)
        if gid is not None and gid in found:
            return found[gid]
    return locate_one(value)


__all__ = ["BulkLocator", "gids_in", "locate", "prefetching"]
