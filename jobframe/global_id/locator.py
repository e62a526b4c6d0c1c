"""Locators: the objects that turn a model into a GlobalID and a GlobalID back into the model.

The locators consulted are those in ``jobframe.configure(locators=[...])`` first, then those added
with `register_locator` (or a plugin's ``register_locators(register)`` hook), in that order.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Protocol, runtime_checkable

from jobframe import config
from jobframe.errors import DeserializationError, SerializationError
from jobframe.global_id.uri import GlobalID


@runtime_checkable
class Locator(Protocol):
    """What a locator provides; an optional ``app`` attribute scopes it to one app name."""

    def can_locate(self, model_name: str) -> bool:
        """Whether GlobalIDs naming `model_name` are this locator's to find."""

    def locate(self, gid: GlobalID) -> Any:
        """The model `gid` names. Raises `RecordNotFound` when its row is gone."""

    def global_id_parts(self, model: Any) -> tuple[str, str] | None:
        """``(model_name, id)`` for `model`, or None when this locator does not know it."""


_lock = threading.Lock()
_registered: list[Any] = []


def register_locator(locator: Any) -> Any:
    """Consult `locator` after the configured ones; returns it."""
    if not isinstance(locator, Locator):
        raise TypeError(f"{locator!r} does not implement the jobframe Locator protocol.")
    with _lock:
        if locator not in _registered:
            _registered.append(locator)
    return locator


def unregister_locator(locator: Any) -> None:
    """Stop consulting a locator added with `register_locator` (no error if unknown)."""
    with _lock:
        if locator in _registered:
            _registered.remove(locator)


def locators() -> tuple[Any, ...]:
    """The locators in the order they are consulted."""
    with _lock:
        return (*config.settings().locators, *_registered)


def _ensure_plugins() -> bool:
    """Load plugins once so their locators are known; True if that was done just now."""
    from jobframe import plugins  # late: plugins import this package to register locators

    return plugins.ensure_loaded()


def app_of(locator: Any) -> str:
    """The GlobalID app `locator` serves: its ``app`` attribute, else the ``global_id_app``."""
    app = getattr(locator, "app", None)
    return app if isinstance(app, str) and app else config.settings().global_id_app


def identify(model: Any, app: str | None = None) -> GlobalID | None:
    """The GlobalID of `model`, or None when no locator knows it.

    Raises:
        SerializationError: a locator knows the model but cannot name it (e.g. no id yet).
    """
    for attempt in range(2):
        for locator in locators():
            parts = locator.global_id_parts(model)
            if parts is not None:
                return GlobalID(app or app_of(locator), *parts)
        if attempt or not _ensure_plugins():
            break
    return None


def require(model: Any, app: str | None = None) -> GlobalID:
    """Like `identify`, but a model that no locator knows is an error."""
    gid = identify(model, app)
    if gid is None:
        hint = missing_locator_hint(model) or (
            "Configure a locator that knows it: jobframe.configure(locators=[...])."
        )
        raise SerializationError(f"{type(model).__qualname__} has no GlobalID. {hint}")
    return gid


def locate(value: GlobalID | str) -> Any:
    """The model a GlobalID (or its ``gid://`` string) names, found by the locator for its app.

    Raises:
        DeserializationError: not a GlobalID, or no locator of that app can locate that model
            (a payload can only name models that a configured locator covers).
        RecordNotFound: the row is gone.
    """
    gid = GlobalID.parse(value)
    if gid is None:
        raise DeserializationError(f"{value!r:.200} is not a GlobalID (gid://app/Model/id).")
    for attempt in range(2):
        for locator in locators():
            if app_of(locator) == gid.app and locator.can_locate(gid.model_name):
                return locator.locate(gid)
        if attempt or not _ensure_plugins():
            break
    raise DeserializationError(
        f"no locator for app {gid.app!r} can locate {gid.model_name!r} models ({gid}). Configure "
        "a locator whose bases include that model: "
        "jobframe.configure(locators=[SQLAlchemyLocator(Session, Base)])."
    )


def missing_locator_hint(model: Any) -> str | None:
    """How to make `model` locatable, when it is a SQLAlchemy mapped instance; else None."""
    cls = type(model)
    if not any("__mapper__" in vars(klass) for klass in cls.__mro__):
        return None
    variable = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    return (
        f"The model `{cls.__name__}` is a SQLAlchemy model but no SQLAlchemyLocator is configured "
        "for its base. Configure one: jobframe.configure(locators=[SQLAlchemyLocator(Session, "
        f"Base)]) (from jobframe.global_id import SQLAlchemyLocator), or pass `{variable}.id`."
    )
