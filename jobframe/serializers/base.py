"""The `ObjectSerializer` base class: one small subclass teaches jobframe one more argument type."""

from __future__ import annotations

import math
import sys
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from jobframe.errors import DeserializationError

T = TypeVar("T")


class ObjectSerializer(Generic[T]):
    """Turns instances of `klass` into plain JSON data and back.

    Subclass it, set `klass`, write `serialize` and `deserialize`, then register it with
    `jobframe.serializers.register(MySerializer)`. The wire name is `name`, which defaults to
    ``"module.QualName"`` of the serializer; set it explicitly to keep payloads readable after
    the serializer moves.
    """

    klass: ClassVar[type[Any]]
    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = f"{cls.__module__}.{cls.__qualname__}"

    def serialize(self, obj: T) -> Any:
        """Plain JSON data for `obj` (see `is_plain_json`)."""
        raise NotImplementedError

    def deserialize(self, data: Any) -> T:
        """The object that `serialize` turned into `data`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.name!r} for {self.klass.__qualname__}>"


def is_plain_json(data: Any) -> bool:
    """Whether `data` is str, int, finite float, bool, None, or lists and str-keyed dicts."""
    kind = type(data)
    if kind in (str, int, bool, type(None)):
        return True
    if kind is float:
        return math.isfinite(data)
    if kind is list:
        return all(is_plain_json(item) for item in data)
    if kind is dict:
        return all(type(key) is str and is_plain_json(item) for key, item in data.items())
    return False


def class_reference(cls: type[Any]) -> str:
    """The ``"module:QualName"`` a payload uses to name `cls`."""
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_class(reference: object, base: type[T]) -> type[T]:
    """The already-imported subclass of `base` that `reference` (``"module:QualName"``) names.

    Only `sys.modules` and class ``__dict__`` entries are consulted: nothing is imported, no
    module ``__getattr__`` or descriptor runs, so a payload cannot make the worker execute code.

    Raises:
        DeserializationError: the reference is malformed, its module is not imported, or it does
            not name a subclass of `base`.
    """
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise DeserializationError(f"{reference!r} is not a 'module:QualName' class reference.")
    module_name, qualname = reference.split(":")
    module = sys.modules.get(module_name)
    if module is None:
        raise DeserializationError(
            f"cannot resolve {reference!r}: module {module_name!r} is not imported in this "
            "process, and payloads never import modules. Import it in the worker."
        )
    target: object = module
    for part in qualname.split("."):
        namespace = getattr(target, "__dict__", None)
        target = namespace.get(part) if isinstance(namespace, dict | MappingProxyType) else None
        if target is None:
            break
    if not (isinstance(target, type) and issubclass(target, base)):
        raise DeserializationError(
            f"{reference!r} does not name a {base.__qualname__} subclass in an imported module."
        )
    return target


__all__ = ["ObjectSerializer", "class_reference", "is_plain_json", "resolve_class"]
