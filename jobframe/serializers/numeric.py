"""Serializers for the numbers JSON cannot carry exactly: non-finite floats and `Decimal`."""

from __future__ import annotations

from decimal import Decimal

from jobframe.serializers.base import ObjectSerializer


class FloatSerializer(ObjectSerializer[float]):
    """``"nan"``, ``"inf"`` or ``"-inf"``; finite floats never get here, they are plain JSON."""

    klass = float
    name = "float"

    def serialize(self, obj: float) -> str:
        return repr(float(obj))

    def deserialize(self, data: str) -> float:
        if not isinstance(data, str):
            raise TypeError(f"expected a string, got {type(data).__name__}")
        return float(data)


class DecimalSerializer(ObjectSerializer[Decimal]):
    """``"3.14"``, ``"-0"``, ``"1E+3"``, ``"NaN"``, ``"sNaN"``: `str` is exact for every Decimal."""

    klass = Decimal
    name = "decimal"

    def serialize(self, obj: Decimal) -> str:
        return str(obj)

    def deserialize(self, data: str) -> Decimal:
        if not isinstance(data, str):
            raise TypeError(f"expected a string, got {type(data).__name__}")
        return Decimal(data)
