"""Serializer for `pathlib` paths, pure or concrete, keeping the path class."""

from __future__ import annotations

import pathlib
from typing import Any

from jobframe.serializers.base import ObjectSerializer

# A closed list: the payload picks one of these by name, never an arbitrary class.
_CLASSES: dict[str, type[pathlib.PurePath]] = {
    cls.__name__: cls
    for cls in (
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
        pathlib.PosixPath,
        pathlib.WindowsPath,
    )
}


class PathSerializer(ObjectSerializer[pathlib.PurePath]):
    """``{"class": "PosixPath", "path": "/srv/data/in.csv"}``."""

    klass = pathlib.PurePath
    name = "path"

    def serialize(self, obj: pathlib.PurePath) -> dict[str, Any]:
        # A user subclass travels as the pathlib class it derives from.
        cls = next(c for c in type(obj).__mro__ if c.__name__ in _CLASSES)
        return {"class": cls.__name__, "path": str(obj)}

    def deserialize(self, data: dict[str, Any]) -> pathlib.PurePath:
        cls, path = _CLASSES[data["class"]], data["path"]
        if not isinstance(path, str):
            raise TypeError(f"expected the path as a string, got {type(path).__name__}")
        return cls(path)
