"""Serializer for `uuid.UUID`."""

from __future__ import annotations

from uuid import UUID

from jobframe.serializers.base import ObjectSerializer


class UUIDSerializer(ObjectSerializer[UUID]):
    """``"5f0c1a1e-8e44-4c8e-9d0e-3c1b2f7a9b10"``."""

    klass = UUID
    name = "uuid"

    def serialize(self, obj: UUID) -> str:
        return str(obj)

    def deserialize(self, data: str) -> UUID:
        return UUID(data)
