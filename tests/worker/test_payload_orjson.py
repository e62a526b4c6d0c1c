"""`load_payload` with orjson (the ``fast`` extra): the values are those ``json`` gives, for
what orjson reads differently (integers beyond 64 bits), refuses (NaN, 1e400, a lone surrogate
escape) or accepts; errors are ``json``'s. The dev group installs orjson: under CI its absence
fails here instead of skipping the faster path's tests."""

from __future__ import annotations

import json
import os

import pytest

from jobframe.backend import payload
from jobframe.backend.payload import PayloadError, load_payload

CASES = [
    b'{"version":1,"arguments":[1,-2.5,"\\u00e9\\u2028",null,true],"kwargs":{"x":[]}}',
    b"[18446744073709551616, 1234567890123456789]",
    b"[-9223372036854775809]",
    b"[-922337203685477580, 123456789012345678]",
    b'{"id":"1234567890123456789012", "n": 12345678901234567}',
    b"[NaN, Infinity, -Infinity, 1e400, -0.0, 0.1, 1E2, 5e-324]",
    b'["\\ud800", "\\udfff\\ud800", {"a": 1, "a": 2}]',
    b' [1, {"": ""}] ',
]


@pytest.fixture
def orjson_loads() -> object:
    if payload._fast_loads is None:
        if os.environ.get("CI"):
            pytest.fail("orjson is not installed: pip install orjson (it is in the dev group)")
        pytest.skip("orjson not installed")
    return payload._fast_loads


@pytest.mark.parametrize("raw", CASES, ids=range(len(CASES)))
def test_with_orjson_the_values_are_jsons(
    raw: bytes, orjson_loads: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = json.loads(raw)
    found = load_payload(raw)
    assert repr(found) == repr(expected)  # repr: nan != nan, and 1 == 1.0 would hide a float
    monkeypatch.setattr(payload, "_fast_loads", None)
    assert repr(load_payload(raw)) == repr(expected)


def test_orjson_is_used_for_an_ordinary_payload(
    orjson_loads: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bytes] = []

    def counting(raw: bytes) -> object:
        calls.append(raw)
        return orjson_loads(raw)  # type: ignore[operator]

    monkeypatch.setattr(payload, "_fast_loads", counting)
    assert load_payload(CASES[0]) == json.loads(CASES[0])
    assert load_payload(CASES[1]) == json.loads(CASES[1])  # a long number: json's way only
    assert calls == [CASES[0]]


@pytest.mark.parametrize("raw", [b"[1]x", b'["a\tb"]', b"\xef\xbb\xbf[1]", b"{"])
def test_errors_are_jsons_message(raw: bytes, orjson_loads: object) -> None:
    with pytest.raises(PayloadError) as found:
        load_payload(raw)
    with pytest.raises(ValueError) as expected:
        json.JSONDecoder().decode(raw.decode("utf-8"))
    assert str(found.value) == f"the payload is not JSON: {expected.value}"
