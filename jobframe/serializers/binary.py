"""Serializers for `bytes` and `bytearray`, as standard base64 text."""

from __future__ import annotations

import base64

from jobframe.serializers.base import ObjectSerializer


def _decode(data: str) -> bytes:
    if not isinstance(data, str):
        raise TypeError(f"expected base64 text, got {type(data).__name__}")
    return base64.b64decode(data, validate=True)


class BytesSerializer(ObjectSerializer[bytes]):
    """``"aGVsbG8="`` for ``b"hello"``."""

    klass = bytes
    name = "bytes"

    def serialize(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode("ascii")

    def deserialize(self, data: str) -> bytes:
        return _decode(data)


class BytearraySerializer(ObjectSerializer[bytearray]):
    """Base64 text, like bytes, read back as a `bytearray`."""

    klass = bytearray
    name = "bytearray"

    def serialize(self, obj: bytearray) -> str:
        return base64.b64encode(obj).decode("ascii")

    def deserialize(self, data: str) -> bytearray:
        return bytearray(_decode(data))
