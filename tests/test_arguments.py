"""The argument tree walk: exact round trips, plain JSON output, helpful errors, safe payloads."""

from __future__ import annotations

import collections
import datetime as dt
import enum
import json
import math
import pathlib
import subprocess
import sys
import types
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobframe
from jobframe.arguments import deserialize, deserialize_value, serialize, serialize_value
from jobframe.errors import DeserializationError, SerializationError


class Color(enum.Enum):
    RED = "red"
    GREEN = (0, 255, 0)
    CRIMSON = "red"  # an alias of RED


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    READ = "r"
    WRITE = "w"


class Perm(enum.Flag):
    R = 4
    W = 2
    X = 1


class HelloJob(jobframe.Job):
    def perform(self) -> None:
        pass


class AbstractJob(jobframe.Job):
    abstract = True


class Opaque:
    pass


def roundtrip(value: Any) -> Any:
    data = serialize_value(value)
    text = json.dumps(data, allow_nan=False)
    return deserialize_value(json.loads(text))


def assert_same(a: Any, b: Any) -> None:
    """Equal value and exactly the same types, all the way down (NaN equals NaN here)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    elif isinstance(a, Decimal):
        assert str(a) == str(b)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert len(a) == len(b)
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            assert_same(ka, kb)
            assert_same(va, vb)
    elif isinstance(a, set | frozenset):
        assert a == b
        assert sorted(map(repr, a)) == sorted(map(repr, b))
    elif isinstance(a, dt.datetime | dt.time):
        assert a == b
        assert a.replace(tzinfo=None) == b.replace(tzinfo=None)
        assert (a.fold, a.tzinfo, a.utcoffset() if isinstance(a, dt.datetime) else None) == (
            b.fold,
            b.tzinfo,
            b.utcoffset() if isinstance(b, dt.datetime) else None,
        )
        assert a.tzname() == b.tzname()
    else:
        assert a == b


PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

EXAMPLES = [
    pytest.param((1, "a", (2,)), id="tuple"),
    pytest.param((), id="empty-tuple"),
    pytest.param([1, [2, [3]]], id="list"),
    pytest.param({"a": 1, "b": {"c": [1]}}, id="str-dict"),
    pytest.param({1: "a", None: "b", False: "c", (1, 2): "d", "e": 5}, id="mixed-keys"),
    pytest.param({2: "b", 1: "a"}, id="key-order"),
    pytest.param({Color.RED: 1, dt.date(2024, 1, 1): 2, Decimal("1.5"): 3}, id="rich-keys"),
    pytest.param({"_jf": 1, "value": 2}, id="reserved-key"),
    pytest.param({"_jf": "tuple", "value": [1]}, id="reserved-key-lookalike"),
    pytest.param({1, 2, "x"}, id="set"),
    pytest.param(frozenset({(1, 2), None}), id="frozenset"),
    pytest.param(set(), id="empty-set"),
    pytest.param(float("inf"), id="inf"),
    pytest.param(float("-inf"), id="-inf"),
    pytest.param(-0.0, id="-0.0"),
    pytest.param(dt.datetime(2024, 5, 1, 9, 30, 0, 123456), id="naive-datetime"),
    pytest.param(dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC), id="utc"),
    pytest.param(dt.datetime(2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3))), id="offset"),
    pytest.param(
        dt.datetime(2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")),
        id="named-offset",
    ),
    pytest.param(
        dt.datetime(2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(seconds=3601, microseconds=7))),
        id="odd-offset",
    ),
    pytest.param(dt.datetime(2024, 7, 1, 12, 0, 0, 1, tzinfo=PARIS), id="zoneinfo"),
    pytest.param(dt.datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK, fold=1), id="fold-1"),
    pytest.param(dt.datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK), id="fold-0"),
    pytest.param(dt.datetime(2024, 3, 10, 2, 30, tzinfo=NEW_YORK), id="imaginary-time"),
    pytest.param(dt.datetime(2024, 1, 1, fold=1), id="naive-fold"),
    pytest.param(dt.date(1999, 12, 31), id="date"),
    pytest.param(dt.time(23, 59, 59, 999999), id="time"),
    pytest.param(dt.time(8, tzinfo=dt.timezone(dt.timedelta(hours=2))), id="aware-time"),
    pytest.param(dt.time(8, tzinfo=PARIS, fold=1), id="zoneinfo-time"),
    pytest.param(dt.timedelta(days=-3, seconds=5, microseconds=7), id="timedelta"),
    pytest.param(Decimal("3.14159265358979323846264338327950288"), id="decimal"),
    pytest.param(Decimal("-0"), id="decimal-neg-zero"),
    pytest.param(Decimal("1E+3"), id="decimal-exponent"),
    pytest.param(Decimal("NaN"), id="decimal-nan"),
    pytest.param(Decimal("-sNaN123"), id="decimal-snan"),
    pytest.param(Decimal("-Infinity"), id="decimal-inf"),
    pytest.param(uuid.UUID("5f0c1a1e-8e44-4c8e-9d0e-3c1b2f7a9b10"), id="uuid"),
    pytest.param(Color.RED, id="enum"),
    pytest.param(Color.CRIMSON, id="enum-alias"),
    pytest.param(Color.GREEN, id="enum-tuple-value"),
    pytest.param(Level.HIGH, id="intenum"),
    pytest.param(Mode.WRITE, id="strenum"),
    pytest.param(Perm.R, id="flag"),
    pytest.param(Perm.R | Perm.X, id="flag-combination"),
    pytest.param(Perm(0), id="flag-empty"),
    pytest.param(pathlib.Path("/srv/data/in.csv"), id="path"),
    pytest.param(pathlib.PurePosixPath("a/b"), id="pure-posix"),
    pytest.param(pathlib.PureWindowsPath(r"C:\Users\x"), id="pure-windows"),
    pytest.param(b"\x00\xffbytes", id="bytes"),
    pytest.param(bytearray(b"abc"), id="bytearray"),
    pytest.param(HelloJob, id="job-class"),
]


@pytest.mark.parametrize("value", EXAMPLES)
def test_round_trip_is_exact(value: Any) -> None:
    assert_same(value, roundtrip(value))


@pytest.mark.parametrize(
    "value", ["text", "", 0, -(2**53 - 1), 2**53 - 1, True, False, None, 1.5, 1e-300]
)
def test_plain_json_passes_through_unchanged(value: Any) -> None:
    data = serialize_value(value)
    assert data == value and type(data) is type(value)


def test_lists_and_str_keyed_dicts_stay_json_collections() -> None:
    assert serialize_value({"a": [1, "b", None]}) == {"a": [1, "b", None]}


def test_other_values_use_the_marker() -> None:
    assert serialize_value((1,)) == {"_jf": "tuple", "value": [1]}
    assert serialize_value({1: 2}) == {"_jf": "dict", "value": [[1, 2]]}
    assert serialize_value({"_jf": 1}) == {"_jf": "dict", "value": [["_jf", 1]]}
    assert serialize_value(float("nan")) == {"_jf": "float", "value": "nan"}
    assert serialize_value(Level.LOW) == {
        "_jf": "enum",
        "value": {"class": f"{__name__}:Level", "name": "LOW"},
    }


def test_set_payloads_do_not_depend_on_the_hash_seed() -> None:
    assert serialize_value({"b", "a", 1}) == {"_jf": "set", "value": ["a", "b", 1]}


def test_nan_round_trips() -> None:
    assert math.isnan(roundtrip(float("nan")))


def test_serialize_and_deserialize_positional_and_keyword_arguments() -> None:
    args, kwargs = serialize((1, (2,)), {"when": dt.date(2024, 1, 1), "_jf": {3}})
    json.dumps([args, kwargs], allow_nan=False)
    back_args, back_kwargs = deserialize(
        json.loads(json.dumps(args)), json.loads(json.dumps(kwargs))
    )
    assert back_args == [1, (2,)]
    assert back_kwargs == {"when": dt.date(2024, 1, 1), "_jf": {3}}


def test_a_local_job_class_round_trips_by_registry_name() -> None:
    assert serialize_value(HelloJob) == {"_jf": "job", "value": f"{__name__}.HelloJob"}


def test_an_abstract_job_class_is_rejected_at_serialize() -> None:
    with pytest.raises(SerializationError, match=r"args\[0\].*AbstractJob.*abstract"):
        serialize([AbstractJob], {})


def test_an_unknown_job_class_name_is_a_deserialization_error() -> None:
    with pytest.raises(DeserializationError, match=r"not a registered jobframe\.Job"):
        deserialize_value({"_jf": "job", "value": "nowhere.GhostJob"})


# --- hypothesis -------------------------------------------------------------------------------

_ENUMS = st.sampled_from([*Color, *Level, *Mode, *Perm, Perm.R | Perm.W, Perm(0)])
_PATHS = st.builds(pathlib.PurePosixPath, st.text()) | st.builds(pathlib.PureWindowsPath, st.text())
_OFFSETS = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
)
_TZS = st.none() | st.timezones() | _OFFSETS | st.just(dt.UTC)
_HASHABLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from(["_jf", "value"]),
    st.binary(max_size=20),
    st.datetimes(timezones=_TZS, allow_imaginary=True),
    st.dates(),
    st.times(timezones=_TZS),
    st.timedeltas(),
    st.decimals(allow_nan=False),
    st.uuids(),
    _ENUMS,
    _PATHS,
)
_LEAVES = _HASHABLE | st.floats() | st.decimals() | st.binary(max_size=8).map(bytearray)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = _HASHABLE | st.tuples(_HASHABLE, _HASHABLE)
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text() | st.just("_jf"), children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.sets(_HASHABLE, max_size=4),
        st.frozensets(_HASHABLE, max_size=4),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, _containers, max_leaves=20))
def test_every_supported_tree_round_trips_through_json(value: Any) -> None:
    assert_same(value, roundtrip(value))


# --- errors -----------------------------------------------------------------------------------


def test_an_unsupported_argument_names_path_type_and_fix() -> None:
    with pytest.raises(SerializationError) as info:
        serialize([1, {"items": [0, 1, Opaque()]}], {})
    message = str(info.value)
    assert "args[1]['items'][2]" in message
    assert f"{__name__}.Opaque" in message
    assert "pass its id instead" in message.lower()
    assert "jobframe.configure(locators=[SQLAlchemyLocator(Session, Base)])" in message
    assert "register an ObjectSerializer" in message


def test_keyword_argument_paths() -> None:
    with pytest.raises(SerializationError, match=r"kwargs\['user'\]"):
        serialize([], {"user": Opaque()})


def test_dict_key_and_set_item_paths() -> None:
    with pytest.raises(SerializationError, match=r"args\[0\]\.<key 1>"):
        serialize([{1: 1, Opaque(): 2}], {})
    with pytest.raises(SerializationError, match=r"args\[0\]\.<item 0>"):
        serialize([frozenset({Opaque()})], {})


@pytest.mark.parametrize(
    "value",
    [collections.OrderedDict(a=1), collections.namedtuple("P", "x")(1), type("S", (str,), {})("x")],
    ids=["ordereddict", "namedtuple", "str-subclass"],
)
def test_subclasses_of_builtins_are_rejected_not_silently_converted(value: Any) -> None:
    with pytest.raises(SerializationError, match="convert it to the plain type"):
        serialize_value(value)


def test_a_cycle_is_a_serialization_error() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(SerializationError, match=r"args\[0\]\[1\].*cycle"):
        serialize([loop], {})
    mapping: dict[str, Any] = {}
    mapping["self"] = [mapping]
    with pytest.raises(SerializationError, match="cycle"):
        serialize_value(mapping)


def test_shared_but_acyclic_values_are_fine() -> None:
    shared = [1]
    assert roundtrip([shared, shared]) == [[1], [1]]


def test_very_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(SerializationError, match="nested too deeply"):
        serialize_value(deep)


def test_an_enum_defined_in_a_function_is_rejected_at_serialize() -> None:
    local = enum.Enum("Local", "A")
    with pytest.raises(SerializationError, match="define it at module level"):
        serialize_value(local.A)


# --- ints, surrogates -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**63, -(2**80), 10**4299, -(10**4299)])
def test_ints_beyond_what_every_json_parser_reads_travel_as_text(value: int) -> None:
    data = serialize_value(value)
    assert data == {"_jf": "int", "value": str(value)}
    assert roundtrip(value) == value


def test_an_int_over_the_digit_limit_is_refused_naming_the_argument() -> None:
    with pytest.raises(SerializationError, match=r"kwargs\['n'\].*4,300 decimal digits") as info:
        serialize([1], {"n": 10**5000})
    assert "bits" in str(info.value)
    with pytest.raises(SerializationError, match=r"args\[0\]\[1\]"):
        serialize([[1, -(10**4300)]], {})


LONE = "ok \ud800 then"


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        ([LONE], {}, r"args\[0\]"),
        ([], {"text": LONE}, r"kwargs\['text'\]"),
        ([{"a": [LONE]}], {}, r"args\[0\]\['a'\]\[0\]"),
        ([{"fine": 1, LONE: 2}], {}, r"args\[0\]\.<key 1>"),
        ([{(1, LONE): 2}], {}, r"args\[0\]\.<key 0>\[1\]"),
        ([{LONE}], {}, r"args\[0\]\.<item 0>"),
        ([pathlib.PurePosixPath("/tmp/\udcff")], {}, r"args\[0\] \(as serialized by 'path'\)"),
        ([], {"\udcff": 1}, r"keyword argument name"),
    ],
)
def test_a_string_that_cannot_be_utf8_is_refused_naming_where(
    args: list[Any], kwargs: dict[str, Any], where: str
) -> None:
    with pytest.raises(SerializationError, match=where) as info:
        serialize(args, kwargs)
    assert "lone surrogate" in str(info.value) and "errors='replace'" in str(info.value)


def test_non_ascii_text_is_fine() -> None:
    assert roundtrip(["é", {"ключ": "値"}, "😀"]) == ["é", {"ключ": "値"}, "😀"]


def test_keyword_names_must_be_strings() -> None:
    with pytest.raises(SerializationError):
        serialize([], {1: 2})  # type: ignore[dict-item]


GARBAGE = [
    {"_jf": "tuple"},
    {"_jf": "tuple", "value": 1},
    {"_jf": "tuple", "value": [], "extra": 1},
    {"_jf": 5, "value": []},
    {"_jf": "set", "value": [[1]]},
    {"_jf": "dict", "value": [[1]]},
    {"_jf": "dict", "value": [[[1], 2]]},
    {"_jf": "dict", "value": {"a": 1}},
    {"_jf": "datetime", "value": "yesterday"},
    {"_jf": "datetime", "value": {"iso": "2024-01-01T00:00:00", "zone": "../../etc/passwd"}},
    {"_jf": "datetime", "value": {"iso": "2024-01-01T00:00:00", "zone": "No/Such_Zone"}},
    {"_jf": "datetime", "value": {"iso": "2024-01-01T00:00:00", "fold": 7}},
    {"_jf": "date", "value": 20240101},
    {"_jf": "time", "value": {"iso": "25:00"}},
    {"_jf": "timedelta", "value": [1, 2]},
    {"_jf": "timedelta", "value": [1.5, 0, 0]},
    {"_jf": "decimal", "value": "twelve"},
    {"_jf": "decimal", "value": 12},
    {"_jf": "uuid", "value": "not-a-uuid"},
    {"_jf": "float", "value": 1.5},
    {"_jf": "bytes", "value": "***"},
    {"_jf": "path", "value": {"class": "Evil", "path": "/"}},
    {"_jf": "path", "value": {"class": "PosixPath", "path": 5}},
    {"_jf": "enum", "value": {"class": f"{__name__}:Color", "name": "PURPLE"}},
    {"_jf": "enum", "value": {"class": f"{__name__}:Level", "value": 99}},
    {"_jf": "enum", "value": "Color.RED"},
    {"_jf": "job", "value": 3},
    {"_jf": "gid", "value": "not a gid"},
    {"_jf": "gid", "value": "gid://jobframe/Nobody/1"},
    {"_jf": "no.such.Serializer", "value": 1},
    {"_jf": "int", "value": 5},
    {"_jf": "int", "value": "12x"},
    {"_jf": "int", "value": "-"},
    {"_jf": "int", "value": "\u0663"},
    {"_jf": "int", "value": "9" * 4301},
]


@pytest.mark.parametrize("payload", GARBAGE, ids=[str(i) for i in range(len(GARBAGE))])
def test_malformed_payloads_are_deserialization_errors(payload: Any) -> None:
    with pytest.raises(DeserializationError):
        deserialize_value(payload)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [({}, {}), ([], []), ([], {1: 2}), ([object()], {}), ([{1: 2}], {})],
)
def test_malformed_argument_containers(args: Any, kwargs: Any) -> None:
    with pytest.raises(DeserializationError):
        deserialize(args, kwargs)


def test_an_unknown_serializer_name_says_to_register_it_in_the_worker() -> None:
    with pytest.raises(DeserializationError, match=r"'app\.Money'.*[Rr]egister the serializer"):
        deserialize([{"_jf": "app.Money", "value": "1 EUR"}], {})


def test_deserialization_errors_name_the_path() -> None:
    with pytest.raises(DeserializationError, match=r"kwargs\['when'\]\[1\]"):
        deserialize([], {"when": [1, {"_jf": "date", "value": "never"}]})


# --- class names in payloads are resolved without importing or running anything ----------------


@pytest.mark.parametrize(
    "reference",
    [
        "os:system",
        "os:path",
        "builtins:object",
        "subprocess:Popen",
        f"{__name__}:Opaque",
        "noformat",
    ],
)
def test_enum_references_must_name_an_imported_enum(reference: str) -> None:
    payload = {"_jf": "enum", "value": {"class": reference, "name": "x"}}
    with pytest.raises(DeserializationError):
        deserialize_value(payload)


def test_an_enum_reference_never_imports_its_module() -> None:
    assert "xml.dom.minidom" not in sys.modules or pytest.skip("already imported")
    payload = {"_jf": "enum", "value": {"class": "xml.dom.minidom:Node", "name": "x"}}
    with pytest.raises(DeserializationError, match="not imported"):
        deserialize_value(payload)
    assert "xml.dom.minidom" not in sys.modules


def test_an_enum_reference_never_runs_module_getattr(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    trap = types.ModuleType("jobframe_test_trap")
    trap.__getattr__ = lambda name: calls.append(name)  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "jobframe_test_trap", trap)
    with pytest.raises(DeserializationError):
        deserialize_value(
            {"_jf": "enum", "value": {"class": "jobframe_test_trap:Evil", "name": "A"}}
        )
    assert calls == []


def test_nothing_here_imports_sqlalchemy() -> None:
    code = (
        "import sys, jobframe.arguments, jobframe.global_id, jobframe.serializers;"
        "from jobframe.global_id import SQLAlchemyLocator;"
        "assert 'sqlalchemy' not in sys.modules, 'sqlalchemy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sub_second_utc_offsets_survive() -> None:
    # Found by the property test: Python 3.11's fromisoformat() drops a microsecond offset.
    tz = dt.timezone(dt.timedelta(hours=5, microseconds=1))
    value = dt.datetime(2000, 1, 1, tzinfo=tz)
    back = roundtrip(value)
    assert back == value and back.utcoffset() == tz.utcoffset(None)
    assert roundtrip(dt.time(1, 2, tzinfo=tz)).utcoffset() == tz.utcoffset(None)
