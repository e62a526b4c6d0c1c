"""The tree walk that turns job arguments into plain JSON and back.

Plain JSON values pass through untouched: str, int (within +-(2**53 - 1)), bool, None, finite
floats, lists, and dicts whose keys are all strings. Every other value becomes a marked object,
``{"_jf": <name>, "value": <data>}``, where the name is ``tuple``, ``set``, ``frozenset``,
``dict`` (a list of key/value pairs), ``int`` (a bigger int, as decimal text), ``job`` (a job
class), ``gid`` (a model's GlobalID URI) or the wire name of a registered
`jobframe.serializers.ObjectSerializer`. See docs/arguments.md.

Every string must be storable as UTF-8: a lone surrogate (``"\\ud800"``, e.g. from
``errors="surrogateescape"``) is refused at `serialize`, since PostgreSQL, the dashboard and
other JSON readers cannot take it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jobframe import global_id, registry, serializers
from jobframe.backend.payload import MAX_DEPTH
from jobframe.errors import DeserializationError, JobframeError, SerializationError
from jobframe.global_id import bulk
from jobframe.serializers.base import is_plain_json

MARKER = "_jf"
#: Containers arguments may nest. A marked container (a tuple, a set, a dict with other keys)
#: takes two JSON levels, and the payload's envelope two more, so any argument within this limit
#: fits the `MAX_DEPTH` levels a worker reads: what ``perform_later`` accepts, a worker can run.
MAX_CONTAINERS = (MAX_DEPTH - 2) // 2

_PLAIN = (str, int, bool, type(None))
#: Ints in this range are plain JSON numbers: the range every JSON parser reads exactly
#: (I-JSON, RFC 7493; JavaScript's Number.MAX_SAFE_INTEGER). Bigger ones travel as decimal text.
JSON_SAFE_INT = 2**53 - 1
#: The most digits an int argument may have: CPython's default limit for int <-> str conversion
#: (``sys.get_int_max_str_digits()``), which every worker can read back.
MAX_INT_DIGITS = 4300
_FIX = (
    "Pass its id instead, make the model locatable with a GlobalID (configure a locator for its "
    "declarative base: jobframe.configure(locators=[SQLAlchemyLocator(Session, Base)])), or "
    "register an ObjectSerializer for it (jobframe.serializers.register(...))."
)


def serialize(args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Plain JSON for a job's positional and keyword arguments.

    Raises:
        SerializationError: an argument cannot be serialized; the message names its path
            (``args[0]['items'][2]``), its type and how to fix it.
    """
    out_args = [serialize_value(value, f"args[{i}]") for i, value in enumerate(args)]
    out_kwargs: dict[str, Any] = {}
    for key, value in kwargs.items():
        if type(key) is not str:
            raise SerializationError(f"keyword argument names must be strings, got {key!r}.")
        if not key.isascii():
            _check_text(key, f"the keyword argument name {_short(key)}")
        out_kwargs[key] = serialize_value(value, f"kwargs[{key!r}]")
    return out_args, out_kwargs


def deserialize(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The arguments that `serialize` turned into `args` and `kwargs`.

    Raises:
        DeserializationError: the payload is malformed, names an unknown serializer or class, or
            a GlobalID whose row is gone (then its ``__cause__`` is `RecordNotFound`).
    """
    if type(args) is not list or type(kwargs) is not dict:
        raise DeserializationError(
            f"arguments must be a JSON list and object, got {type(args).__name__} and "
            f"{type(kwargs).__name__}."
        )
    if _scalars(args, kwargs):
        # Numbers, strings, booleans and nulls read back as themselves: no GlobalID to
        # prefetch, no path to name (most jobs' arguments; the walk cost 3.5 µs for one int).
        return args[:], dict(kwargs)
    with bulk.prefetching(args, kwargs):  # many models of one class: one query (BulkLocator)
        out_args = [deserialize_value(value, f"args[{i}]") for i, value in enumerate(args)]
        out_kwargs: dict[str, Any] = {}
        for key, value in kwargs.items():
            if type(key) is not str:
                raise DeserializationError(f"keyword argument names must be strings: {_short(key)}")
            out_kwargs[key] = deserialize_value(value, f"kwargs[{_short(key)}]")
    return out_args, out_kwargs


_SCALARS = frozenset((*_PLAIN, float))
_STR = frozenset((str,))


def _scalars(args: list[Any], kwargs: dict[Any, Any]) -> bool:
    """Whether every argument is a JSON scalar (what `_deserialize` returns unchanged) and every
    keyword argument's name a string."""
    if not _SCALARS.issuperset(map(type, args)):
        return False
    return not kwargs or (
        _STR.issuperset(map(type, kwargs)) and _SCALARS.issuperset(map(type, kwargs.values()))
    )


def serialize_value(value: Any, path: str = "value") -> Any:
    """Plain JSON for one value; `path` names it in error messages.

    Raises:
        SerializationError: the value, or something inside it, cannot be serialized.
    """
    try:
        return _serialize(value, path, set())
    except RecursionError:
        raise SerializationError(f"{path}: the argument is nested too deeply.") from None


def deserialize_value(data: Any, path: str = "value") -> Any:
    """The value that `serialize_value` turned into `data`.

    Raises:
        DeserializationError: `data` is malformed or cannot be resolved.
    """
    try:
        return _deserialize(data, path, 0)
    except RecursionError:  # a custom serializer that decodes nested values itself
        raise DeserializationError(f"{path}: the payload is nested too deeply.") from None


def _mark(name: str, data: Any) -> dict[str, Any]:
    return {MARKER: name, "value": data}


def _short(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_text(text: str, path: str) -> None:
    """Refuse a string that cannot be encoded as UTF-8 (it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(
            f"{path}: the string holds {text[exc.start]!r} at index {exc.start}, a lone "
            "surrogate that cannot be stored as UTF-8. Decode bytes with errors='replace' "
            "(or 'backslashreplace'), or pass the raw bytes instead of a string."
        ) from None


def _big_int(value: int, path: str) -> dict[str, Any]:
    try:
        text = str(value)
    except ValueError:  # over the interpreter's int -> str digit limit
        text = ""
    if not text or len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise SerializationError(
            f"{path}: the int has {value.bit_length():,} bits, more than the "
            f"{MAX_INT_DIGITS:,} decimal digits an argument may have. Pass it as bytes "
            "(value.to_bytes(...)) or store it and pass its id."
        )
    return _mark("int", text)


def _serialize(value: Any, path: str, active: set[int]) -> Any:
    kind = type(value)
    if kind is str:
        if not value.isascii():
            _check_text(value, path)
        return value
    if kind is int:
        return value if -JSON_SAFE_INT <= value <= JSON_SAFE_INT else _big_int(value, path)
    if kind in _PLAIN or (kind is float and math.isfinite(value)):
        return value
    walk = _CONTAINERS.get(kind)
    if walk is not None:
        if len(active) >= MAX_CONTAINERS:
            raise SerializationError(
                f"{path}: the argument is nested too deeply (over {MAX_CONTAINERS} containers, "
                "more than a worker reads back); pass flatter data, or a reference to it."
            )
        if id(value) in active:
            raise SerializationError(
                f"{path}: the {kind.__name__} contains itself (a reference cycle); "
                "arguments must be trees."
            )
        active.add(id(value))
        try:
            return walk(value, path, active)
        finally:
            active.discard(id(value))
    if isinstance(value, type) and getattr(value, "__jobframe_job__", False):
        return _mark("job", _job_name(value, path))
    serializer = serializers.lookup(kind)
    if serializer is not None:
        return _mark(serializer.name, _custom(serializer, value, path))
    try:
        gid = global_id.identify(value)
    except SerializationError as exc:
        raise SerializationError(f"{path}: {exc}") from exc
    if gid is not None:
        if not gid.uri.isascii():
            _check_text(gid.uri, f"{path} (GlobalID)")
        return _mark("gid", gid.uri)
    raise _unsupported(value, path)


def _serialize_list(value: list[Any], path: str, active: set[int]) -> list[Any]:
    return [_serialize(item, f"{path}[{i}]", active) for i, item in enumerate(value)]


def _serialize_tuple(value: tuple[Any, ...], path: str, active: set[int]) -> dict[str, Any]:
    return _mark("tuple", _serialize_list(list(value), path, active))


def _serialize_set(value: set[Any] | frozenset[Any], path: str, active: set[int]) -> Any:
    items = [_serialize(item, f"{path}.<item {i}>", active) for i, item in enumerate(value)]
    # Sorted so that equal sets give equal payloads whatever the process's hash seed.
    items.sort(key=lambda item: json.dumps(item, sort_keys=True))
    return _mark(type(value).__name__, items)


def _serialize_dict(value: dict[Any, Any], path: str, active: set[int]) -> Any:
    if all(type(key) is str for key in value) and MARKER not in value:
        for i, key in enumerate(value):
            if not key.isascii():
                _check_text(key, f"{path}.<key {i}>")
        return {key: _serialize(item, f"{path}[{key!r}]", active) for key, item in value.items()}
    pairs = [
        [
            _serialize(key, f"{path}.<key {i}>", active),
            _serialize(item, f"{path}[{_short(key)}]", active),
        ]
        for i, (key, item) in enumerate(value.items())
    ]
    return _mark("dict", pairs)


_CONTAINERS: dict[type, Callable[[Any, str, set[int]], Any]] = {
    list: _serialize_list,
    tuple: _serialize_tuple,
    set: _serialize_set,
    frozenset: _serialize_set,
    dict: _serialize_dict,
}


def _job_name(cls: type, path: str) -> str:
    name = registry.name_of(cls)
    if registry.registered().get(name) is not cls:
        raise SerializationError(
            f"{path}: job class {cls.__qualname__} is not registered under {name!r} (is it "
            "abstract?); only runnable job classes can be passed as arguments."
        )
    return name


def _custom(serializer: serializers.ObjectSerializer[Any], value: Any, path: str) -> Any:
    try:
        data = serializer.serialize(value)
    except Exception as exc:
        raise SerializationError(
            f"{path}: serializer {serializer.name!r} failed on {_qualname(type(value))}: {exc}"
        ) from exc
    if not is_plain_json(data):
        raise SerializationError(
            f"{path}: serializer {serializer.name!r} returned {_short(data)}, which is not plain "
            "JSON (str, int, finite float, bool, None, lists, dicts with str keys); have it "
            "call jobframe.arguments.serialize_value on nested values."
        )
    _check_texts(data, f"{path} (as serialized by {serializer.name!r})")
    return data


def _check_texts(data: Any, path: str) -> None:
    """`_check_text` on every string in plain JSON `data`, keys included."""
    if type(data) is str:
        if not data.isascii():
            _check_text(data, path)
    elif type(data) is list:
        for item in data:
            _check_texts(item, path)
    elif type(data) is dict:
        for key, item in data.items():
            _check_texts(key, path)
            _check_texts(item, path)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _unsupported(value: Any, path: str) -> SerializationError:
    cls = type(value)
    what = f"{path}: cannot serialize an object of type {_qualname(cls)}."
    hint = global_id.missing_locator_hint(value)
    if hint is not None:
        return SerializationError(f"{what} {hint}")
    if isinstance(value, (*_PLAIN, float, *_CONTAINERS)):
        return SerializationError(
            f"{what} Subclasses of built-in types are not kept: convert it to the plain type, "
            "or register an ObjectSerializer for it (jobframe.serializers.register(...))."
        )
    return SerializationError(f"{what} {_FIX}")


def _deserialize(data: Any, path: str, depth: int) -> Any:
    """`deserialize_value`'s walk; ``depth`` counts the JSON levels above ``data``, so data that
    did not come through the bounded `load_payload` (a dict handed in directly) cannot make it
    recurse without limit either."""
    kind = type(data)
    if kind in _PLAIN or kind is float:
        return data
    if depth >= MAX_DEPTH:
        raise DeserializationError(
            f"{path}: the payload is nested too deeply (over {MAX_DEPTH} levels, more than "
            "jobframe reads)."
        )
    depth += 1
    if kind is list:
        return [_deserialize(item, f"{path}[{i}]", depth) for i, item in enumerate(data)]
    if kind is not dict:
        raise DeserializationError(f"{path}: {kind.__name__} is not JSON data.")
    if MARKER in data:
        return _unmark(data, path, depth)
    for key in data:
        if type(key) is not str:
            raise DeserializationError(
                f"{path}: JSON object keys must be strings, got {_short(key)}."
            )
    return {key: _deserialize(item, f"{path}[{_short(key)}]", depth) for key, item in data.items()}


def _unmark(data: dict[str, Any], path: str, depth: int) -> Any:
    name, value = data[MARKER], data.get("value")
    if type(name) is not str or set(data) != {MARKER, "value"}:
        raise DeserializationError(
            f"{path}: a marked value must be exactly {{{MARKER!r}: name, 'value': data}}, got "
            f"{_short(data)}."
        )
    reader = _READERS.get(name)
    if reader is not None:
        return reader(value, path, depth)
    serializer = serializers.named(name)
    if serializer is None:
        raise DeserializationError(
            f"{path}: no serializer named {name!r} is registered. Register the serializer in the "
            "worker too (jobframe.serializers.register(...) in a module the worker imports, or "
            "the register_serializers plugin hook)."
        )
    try:
        return serializer.deserialize(value)
    except Exception as exc:
        raise DeserializationError(
            f"{path}: serializer {name!r} could not read {_short(value)}: {exc}"
        ) from exc


def _items(value: Any, path: str, depth: int) -> list[Any]:
    if type(value) is not list:
        raise DeserializationError(f"{path}: expected a list of items, got {_short(value)}.")
    return [_deserialize(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]


def _read_set(factory: Callable[[list[Any]], Any], value: Any, path: str, depth: int) -> Any:
    try:
        return factory(_items(value, path, depth))
    except TypeError as exc:
        raise DeserializationError(f"{path}: set items must be hashable: {exc}") from exc


def _read_dict(value: Any, path: str, depth: int) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for i, pair in enumerate(_items(value, path, depth)):
        if type(pair) is not list or len(pair) != 2:
            raise DeserializationError(f"{path}[{i}]: expected a [key, value] pair.")
        try:
            result[pair[0]] = pair[1]
        except TypeError as exc:
            raise DeserializationError(f"{path}[{i}]: dict keys must be hashable: {exc}") from exc
    return result


def _read_int(value: Any, path: str, depth: int = 0) -> int:
    """A big int, from its decimal text (`depth` is unused: the text holds no nesting)."""
    digits = value[1:] if type(value) is str and value[:1] == "-" else value
    if type(digits) is not str or not (digits.isascii() and digits.isdigit()):
        raise DeserializationError(f"{path}: expected an int as decimal text, got {_short(value)}.")
    if len(digits) > MAX_INT_DIGITS:
        raise DeserializationError(
            f"{path}: an int of {len(digits):,} digits; arguments hold at most {MAX_INT_DIGITS:,}."
        )
    return int(value)


def _resolve(find: Callable[[Any], Any], value: Any, path: str) -> Any:
    try:
        return find(value)
    except JobframeError as exc:  # the cause, e.g. RecordNotFound, stays as __cause__
        raise DeserializationError(f"{path}: {exc}") from exc


_READERS: dict[str, Callable[[Any, str, int], Any]] = {
    "tuple": lambda value, path, depth: tuple(_items(value, path, depth)),
    "set": lambda value, path, depth: _read_set(set, value, path, depth),
    "frozenset": lambda value, path, depth: _read_set(frozenset, value, path, depth),
    "dict": _read_dict,
    "int": _read_int,
    "job": lambda value, path, depth: _resolve(registry.lookup, value, path),
    "gid": lambda value, path, depth: _resolve(bulk.locate, value, path),
}

__all__ = ["MARKER", "deserialize", "deserialize_value", "serialize", "serialize_value"]
