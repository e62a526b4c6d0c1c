"""`load_payload`: bytes from anywhere are read within bounds (size, UTF-8, nesting depth) before
``json.loads`` sees them, and arguments are kept within the depth a worker reads back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobframe import DeserializationError, SerializationError, UnknownJobError
from jobframe.arguments import MAX_CONTAINERS, deserialize_value, serialize_value
from jobframe.backend.payload import (
    MAX_DEPTH,
    PayloadError,
    dump_payload,
    load_payload,
    nesting_depth,
)
from jobframe.job.base import Job


def nest(depth: int, inner: Any = None) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "payload",
    [
        {"version": 1, "arguments": [1, -2.5, "é\u2028\"\\", None, True], "kwargs": {"x": []}},
        {"big": 10**30, "nested": {"a": [{"b": {}}]}, "": ""},
    ],
)
def test_payloads_are_compact_ascii_json(payload: dict[str, Any]) -> None:
    # `dump_payload` keeps one C encoder (no per-call set-up): the same bytes as json.dumps
    expected = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    assert dump_payload(payload) == expected
    assert load_payload(dump_payload(payload)) == payload


@pytest.mark.parametrize(
    ("payload", "error"),
    [({"f": float("nan")}, ValueError), ({"o": object()}, TypeError), ({"s": {1}}, TypeError)],
)
def test_what_json_cannot_hold_is_refused(payload: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        dump_payload(payload)


def test_json_at_the_depth_limit_is_read() -> None:
    assert load_payload(json.dumps(nest(MAX_DEPTH)).encode()) == nest(MAX_DEPTH)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a":' * 300 + b"1" + b"}" * 300,
        b"[" * 100_000,  # not even JSON: refused for its depth before the parser recurses
    ],
)
def test_deeper_json_is_refused_before_it_is_parsed(raw: bytes) -> None:
    with pytest.raises(PayloadError, match=f"workers read at most {MAX_DEPTH}") as caught:
        load_payload(raw)
    assert caught.value.reason == "payload nested too deeply"


def test_brackets_inside_strings_do_not_count() -> None:
    raw = json.dumps(["[" * 5000, '\\"[[[', {"k": "{" * 500}]).encode()
    assert nesting_depth(raw) is None
    assert load_payload(raw)[0] == "[" * 5000


def test_a_payload_over_the_size_limit_is_refused_and_says_which_setting() -> None:
    with pytest.raises(PayloadError, match="max_payload_bytes") as caught:
        load_payload(b'"' + b"x" * 2000 + b'"', max_bytes=1024)
    assert caught.value.reason == "payload too large"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe[]", "not UTF-8"),
        ('["\u00e9"]'.encode("utf-16"), "not UTF-8"),
        (b"", "not JSON"),
        (b"{'single': 'quotes'}", "not JSON"),
        (b"1" * 5000, "not JSON"),  # an integer too long for int(): a ValueError, caught
    ],
)
def test_undecodable_bytes_are_a_payload_error(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as caught:
        load_payload(raw)
    assert caught.value.reason == "undecodable payload"


def test_arguments_a_worker_could_not_read_are_refused_at_enqueue() -> None:
    serialize_value(nest(MAX_CONTAINERS))  # the deepest accepted
    with pytest.raises(SerializationError, match="nested too deeply"):
        serialize_value(nest(MAX_CONTAINERS + 1))


class DeepJob(Job):
    job_name = "tests.worker.DeepJob"

    def perform(self, value: Any) -> Any:
        return value


def test_the_deepest_accepted_arguments_survive_the_worker_decoder() -> None:
    deepest: Any = "leaf"
    for _ in range(MAX_CONTAINERS):  # tuples take two JSON levels each: the worst case
        deepest = (deepest,)
    payload = load_payload(dump_payload(DeepJob(deepest).serialize()))
    assert Job.deserialize(payload).perform_now() == deepest


def test_the_argument_decoder_counts_depth_on_data_handed_in_directly() -> None:
    with pytest.raises(DeserializationError, match="nested too deeply"):
        deserialize_value(nest(MAX_DEPTH + 5))


@pytest.mark.parametrize(
    "fields",
    [
        {"arguments": {}},
        {"executions": "x"},
        {"exception_executions": [1]},
        {"enqueued_at": "0001-01-01T00:00:00+14:00"},  # an OverflowError once made UTC
        {"priority": "high"},
        {"job_id": 7},
    ],
)
def test_fields_of_the_wrong_type_are_a_deserialization_error(fields: dict[str, Any]) -> None:
    data = {**DeepJob(1).serialize(), **fields}
    with pytest.raises(DeserializationError):
        Job.deserialize(data)


def test_a_class_name_that_is_no_string_is_an_unknown_job() -> None:
    with pytest.raises(UnknownJobError, match="5 is not a registered"):
        Job.deserialize({**DeepJob(1).serialize(), "job_class": 5})
