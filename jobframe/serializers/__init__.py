"""The registry of argument serializers.

A serializer is found for a value by its exact type first, then by ``isinstance`` checks in
registration order; on the wire it is named by its `ObjectSerializer.name`. The built-in ones are
registered when this package is imported; plugins add theirs through the
``register_serializers(register)`` hook, loaded on the first lookup miss.
"""

from __future__ import annotations

import threading
from typing import Any

from jobframe.errors import ConfigurationError
from jobframe.serializers.base import ObjectSerializer
from jobframe.serializers.binary import BytearraySerializer, BytesSerializer
from jobframe.serializers.enums import EnumSerializer
from jobframe.serializers.identifiers import UUIDSerializer
from jobframe.serializers.numeric import DecimalSerializer, FloatSerializer
from jobframe.serializers.paths import PathSerializer
from jobframe.serializers.temporal import (
    DateSerializer,
    DateTimeSerializer,
    TimeDeltaSerializer,
    TimeSerializer,
)

# Names the tree walk in `jobframe.arguments` uses for containers and references.
RESERVED_NAMES = frozenset({"dict", "tuple", "set", "frozenset", "gid", "job", "int"})

_lock = threading.Lock()
_by_name: dict[str, ObjectSerializer[Any]] = {}
_by_type: dict[type, ObjectSerializer[Any] | None] = {}
_generation = 0  # bumped on every change so a lookup racing a register caches nothing stale


def _instance(serializer: Any) -> ObjectSerializer[Any]:
    instance = serializer() if isinstance(serializer, type) else serializer
    if not isinstance(instance, ObjectSerializer):
        raise ConfigurationError(f"{serializer!r} is not a jobframe.ObjectSerializer (sub)class.")
    if not isinstance(getattr(instance, "klass", None), type):
        raise ConfigurationError(f"{serializer!r} must set `klass` to the type it serializes.")
    return instance


def register(serializer: Any) -> Any:
    """Make `serializer` (an `ObjectSerializer` subclass or instance) available; returns it.

    A later serializer for the same `klass` wins for new payloads; the earlier one still reads
    payloads that name it.

    Raises:
        ConfigurationError: not a serializer, no `klass`, or its name is taken by another one.
    """
    instance = _instance(serializer)
    with _lock:
        existing = _by_name.get(instance.name)
        if instance.name in RESERVED_NAMES or (
            existing is not None and type(existing) is not type(instance)
        ):
            raise ConfigurationError(
                f"serializer name {instance.name!r} of {serializer!r} is already used; "
                "set a different `name` on the serializer class."
            )
        _by_name.pop(instance.name, None)
        _by_name[instance.name] = instance
        _changed()
    return serializer


def unregister(serializer: Any) -> None:
    """Forget a serializer given as class, instance or wire name (no error if unknown)."""
    name = serializer if isinstance(serializer, str) else getattr(serializer, "name", None)
    with _lock:
        if isinstance(name, str) and _by_name.pop(name, None) is not None:
            _changed()


def _changed() -> None:
    global _generation
    _generation += 1
    _by_type.clear()


def _ensure_plugins() -> bool:
    """Load plugins once so their serializers are known; True if that was done just now."""
    from jobframe import plugins  # late: plugins import this package to register serializers

    return plugins.ensure_loaded()


def _find(cls: type) -> ObjectSerializer[Any] | None:
    serializers: list[ObjectSerializer[Any]] = list(_by_name.values())
    exact = [serializer for serializer in serializers if serializer.klass is cls]
    if exact:
        return exact[-1]
    return next((s for s in serializers if issubclass(cls, s.klass)), None)


def lookup(cls: type) -> ObjectSerializer[Any] | None:
    """The serializer for instances of `cls`, or None."""
    try:
        return _by_type[cls]
    except KeyError:
        pass
    with _lock:
        generation, found = _generation, _find(cls)
    if found is None and _ensure_plugins():
        with _lock:
            generation, found = _generation, _find(cls)
    with _lock:
        if generation == _generation:
            _by_type[cls] = found
    return found


def named(name: str) -> ObjectSerializer[Any] | None:
    """The serializer registered under wire name `name`, or None."""
    found = _by_name.get(name)
    if found is None and _ensure_plugins():
        found = _by_name.get(name)
    return found


def registered() -> dict[str, ObjectSerializer[Any]]:
    """A copy of the registry: wire name -> serializer, in registration order."""
    with _lock:
        return dict(_by_name)


# Order matters for the isinstance fallback: datetime before its base class date.
for _builtin in (
    DateTimeSerializer,
    DateSerializer,
    TimeSerializer,
    TimeDeltaSerializer,
    FloatSerializer,
    DecimalSerializer,
    UUIDSerializer,
    EnumSerializer,
    PathSerializer,
    BytesSerializer,
    BytearraySerializer,
):
    register(_builtin)

__all__ = [
    "RESERVED_NAMES",
    "BytearraySerializer",
    "BytesSerializer",
    "DateSerializer",
    "DateTimeSerializer",
    "DecimalSerializer",
    "EnumSerializer",
    "FloatSerializer",
    "ObjectSerializer",
    "PathSerializer",
    "TimeDeltaSerializer",
    "TimeSerializer",
    "UUIDSerializer",
    "lookup",
    "named",
    "register",
    "registered",
    "unregister",
]
