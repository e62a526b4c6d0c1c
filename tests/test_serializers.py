"""Custom argument serializers: registration, lookup by exact type then subclass, wire names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

import jobframe
import jobframe.serializers as serializers
from jobframe.arguments import deserialize, deserialize_value, serialize, serialize_value
from jobframe.errors import ConfigurationError, DeserializationError, SerializationError


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Euro(Money):
    pass


class MoneySerializer(jobframe.ObjectSerializer[Money]):
    klass = Money
    name = "money"

    def serialize(self, obj: Money) -> Any:
        return {"amount": serialize_value(obj.amount), "currency": obj.currency}

    def deserialize(self, data: Any) -> Money:
        return Money(deserialize_value(data["amount"]), data["currency"])


class EuroSerializer(jobframe.ObjectSerializer[Euro]):
    klass = Euro

    def serialize(self, obj: Euro) -> Any:
        return str(obj.amount)

    def deserialize(self, data: Any) -> Euro:
        return Euro(Decimal(data), "EUR")


class BrokenSerializer(jobframe.ObjectSerializer[Money]):
    klass = Money
    name = "broken"

    def serialize(self, obj: Money) -> Any:
        return obj  # not JSON

    def deserialize(self, data: Any) -> Money:
        raise ValueError("cannot")


@pytest.fixture
def registered() -> Iterator[list[Any]]:
    """Register serializers within one test; all of them are unregistered afterwards."""
    added: list[Any] = []
    yield added
    for serializer in added:
        serializers.unregister(serializer)


def _register(registered: list[Any], serializer: Any) -> Any:
    registered.append(serializer)
    return serializers.register(serializer)


def roundtrip(value: Any) -> Any:
    return deserialize_value(json.loads(json.dumps(serialize_value(value), allow_nan=False)))


def test_the_base_class_is_public() -> None:
    assert jobframe.ObjectSerializer is serializers.ObjectSerializer


def test_a_registered_serializer_round_trips_its_type(registered: list[Any]) -> None:
    _register(registered, MoneySerializer)
    value = Money(Decimal("9.99"), "EUR")
    data = serialize_value(value)
    assert data == {
        "_jf": "money",
        "value": {"amount": {"_jf": "decimal", "value": "9.99"}, "currency": "EUR"},
    }
    assert roundtrip(value) == value


def test_default_wire_name_is_module_and_qualname() -> None:
    assert EuroSerializer.name == f"{__name__}.EuroSerializer"


def test_subclasses_fall_back_to_the_base_serializer(registered: list[Any]) -> None:
    _register(registered, MoneySerializer)
    back = roundtrip(Euro(Decimal(1), "EUR"))
    assert type(back) is Money


def test_exact_type_wins_over_the_subclass_fallback(registered: list[Any]) -> None:
    _register(registered, MoneySerializer)
    _register(registered, EuroSerializer)
    assert serializers.lookup(Euro) is not None
    assert serializers.lookup(Euro).name == EuroSerializer.name  # type: ignore[union-attr]
    assert serializers.lookup(Money).name == "money"  # type: ignore[union-attr]
    assert roundtrip(Euro(Decimal(2), "EUR")) == Euro(Decimal(2), "EUR")


def test_unregister_forgets_it(registered: list[Any]) -> None:
    _register(registered, MoneySerializer)
    serializers.unregister(MoneySerializer)
    assert serializers.lookup(Money) is None
    with pytest.raises(SerializationError, match="register an ObjectSerializer"):
        serialize([Money(Decimal(1), "EUR")], {})


def test_unregister_accepts_instance_and_name(registered: list[Any]) -> None:
    instance = MoneySerializer()
    _register(registered, instance)
    serializers.unregister("money")
    assert "money" not in serializers.registered()


def test_register_returns_its_argument_so_it_works_as_a_decorator(registered: list[Any]) -> None:
    assert _register(registered, MoneySerializer) is MoneySerializer


def test_an_unknown_name_on_the_wire_says_to_register_it_in_the_worker(
    registered: list[Any],
) -> None:
    _register(registered, MoneySerializer)
    args, kwargs = serialize([Money(Decimal(1), "EUR")], {})
    serializers.unregister(MoneySerializer)
    with pytest.raises(
        DeserializationError, match=r"(?i)'money'.*register the serializer in the worker"
    ):
        deserialize(args, kwargs)


def test_a_serializer_must_return_plain_json(registered: list[Any]) -> None:
    _register(registered, BrokenSerializer)
    with pytest.raises(SerializationError, match=r"args\[0\].*'broken'.*not plain JSON"):
        serialize([Money(Decimal(1), "EUR")], {})


def test_a_failing_deserialize_becomes_a_deserialization_error(registered: list[Any]) -> None:
    _register(registered, BrokenSerializer)
    with pytest.raises(DeserializationError, match="'broken' could not read") as info:
        deserialize_value({"_jf": "broken", "value": 1})
    assert isinstance(info.value.__cause__, ValueError)


def test_a_serializer_that_raises_becomes_a_serialization_error(registered: list[Any]) -> None:
    class Exploding(jobframe.ObjectSerializer[Money]):
        klass = Money
        name = "exploding"

        def serialize(self, obj: Money) -> Any:
            raise RuntimeError("boom")

    _register(registered, Exploding)
    with pytest.raises(SerializationError, match=r"kwargs\['price'\].*'exploding'.*boom"):
        serialize([], {"price": Money(Decimal(1), "EUR")})


@pytest.mark.parametrize("name", ["tuple", "dict", "set", "frozenset", "gid", "job", "decimal"])
def test_reserved_and_taken_names_are_refused(name: str) -> None:
    clash = type("Clash", (jobframe.ObjectSerializer,), {"klass": Money, "name": name})
    with pytest.raises(ConfigurationError, match="already used"):
        serializers.register(clash)


@pytest.mark.parametrize(
    "thing", [object(), int, type("NoKlass", (jobframe.ObjectSerializer,), {})]
)
def test_only_serializers_with_a_klass_can_be_registered(thing: Any) -> None:
    with pytest.raises(ConfigurationError):
        serializers.register(thing)


def test_registering_the_same_serializer_twice_is_harmless(registered: list[Any]) -> None:
    _register(registered, MoneySerializer)
    _register(registered, MoneySerializer)
    assert list(serializers.registered()).count("money") == 1


def test_builtins_are_registered() -> None:
    names = set(serializers.registered())
    assert {"datetime", "date", "time", "timedelta", "decimal", "uuid", "enum", "path"} <= names
    assert {"bytes", "bytearray", "float"} <= names


def test_a_miss_loads_plugins_once(monkeypatch: pytest.MonkeyPatch, registered: list[Any]) -> None:
    import jobframe.plugins

    calls: list[int] = []

    def fake_ensure_loaded() -> bool:
        calls.append(1)
        if len(calls) > 1:
            return False  # loaded already: nothing new to look at
        _register(registered, MoneySerializer)
        return True

    monkeypatch.setattr(jobframe.plugins, "ensure_loaded", fake_ensure_loaded)
    assert serializers.lookup(Money) is not None
    assert serializers.lookup(Money) is not None
    assert calls == [1]


def test_the_plugin_hook_registers_serializers(registered: list[Any]) -> None:
    import jobframe.plugins

    class Plugin:
        @jobframe.hookimpl
        def register_serializers(self, register: Any) -> None:
            register(MoneySerializer)

    registered.append(MoneySerializer)
    with jobframe.plugins.fresh_manager(entry_points=False):
        jobframe.plugins.register_plugin(Plugin(), "money-plugin")
        jobframe.plugins.ensure_loaded()
        assert serializers.lookup(Money) is not None
