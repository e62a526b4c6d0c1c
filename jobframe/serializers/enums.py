"""Serializer for `enum.Enum` members, including IntEnum, StrEnum and Flag combinations."""

from __future__ import annotations

import enum
from typing import Any

from jobframe.errors import DeserializationError
from jobframe.serializers.base import ObjectSerializer, class_reference, resolve_class


class EnumSerializer(ObjectSerializer[enum.Enum]):
    """``{"class": "app.models:Color", "name": "RED"}``, or ``"value"`` for a Flag combination.

    The class is found only among already-imported modules, and must be an Enum subclass.
    """

    klass = enum.Enum
    name = "enum"

    def serialize(self, obj: enum.Enum) -> dict[str, Any]:
        cls = type(obj)
        reference = class_reference(cls)
        try:
            found: type[enum.Enum] | None = resolve_class(reference, enum.Enum)
        except DeserializationError:
            found = None
        if found is not cls:
            raise TypeError(
                f"enum {reference} cannot be found again by its name: define it at module level"
            )
        if cls.__members__.get(obj.name) is obj:
            return {"class": reference, "name": obj.name}
        # Flag combinations and members made by _missing_ have no usable name.
        from jobframe.arguments import serialize_value

        return {"class": reference, "value": serialize_value(obj.value)}

    def deserialize(self, data: dict[str, Any]) -> enum.Enum:
        cls = resolve_class(data["class"], enum.Enum)
        if "name" in data:
            return cls.__members__[data["name"]]
        from jobframe.arguments import deserialize_value

        return cls(deserialize_value(data["value"]))
