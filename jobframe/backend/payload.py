"""The stored form of a job payload (compact UTF-8 JSON), and the one bounded way to read it back.

Workers, the CLI and the dashboard read bytes that anything may have written (another producer,
``enqueue_raw``, a hand-edited row). `load_payload` therefore never hands the standard library
input that makes it recurse without limit or allocate without bound: it refuses a payload larger
than the configured size, one that is not UTF-8, and JSON nested deeper than `MAX_DEPTH` levels,
*before* ``json.loads`` sees it. Each refusal is a `PayloadError` that says what is wrong.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from jobframe.config import DEFAULT_MAX_PAYLOAD_BYTES
from jobframe.errors import DeserializationError

#: JSON nesting levels a payload may have. A job's envelope takes two (the payload object and its
#: ``arguments`` list); `jobframe.arguments` refuses deeper arguments at ``perform_later``. Far
#: below the interpreter's recursion limit, so neither ``json.loads`` nor the argument decoder can
#: exhaust the stack of the thread that reads it.
MAX_DEPTH = 200

# Built once: `json.dumps` with options builds a new encoder on every call (about 5 µs each).
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# And `JSONEncoder.encode` still builds a C encoder per call, in Python: 3.5 µs for a no-op job's
# payload, against 2.1 µs for one C encoder made once (every enqueue pays it). Made without the
# circular-reference check (markers None): a payload is a tree that `job.serialize()` builds
# anew, of arguments `jobframe.arguments` checked (and a cycle would still stop, as a
# RecursionError); same output as `_encode`, byte for byte.
_c_encode: Any
try:
    from _json import make_encoder
except ImportError:  # an interpreter without the C accelerator
    _c_encode = None
else:
    _c_encode = make_encoder(
        None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",", False, False,
        False,
    )  # fmt: skip

_decode = json.JSONDecoder().decode

# orjson, when installed (``pip install 'jobframe[fast]'``), decodes a no-op job's payload in
# 40% less time (`load_payload` 3.1 -> 1.9 µs, see docs/performance.md). It gives
# what ``json.loads`` gives for every payload it accepts, except integers beyond 64 bits, which
# it turns into floats silently: a payload with a run of 19 digits or more (the shortest such
# integer, -9223372036854775809, has 19) is left to ``json``, as is everything orjson refuses
# (NaN, 1e400, a lone surrogate escape: ``json`` reads them) and every error message.
_fast_loads: Any
try:
    from orjson import loads as _fast_loads
except ImportError:
    _fast_loads = None
# Digits as "0", everything else as " ": a run of 19 digits is then found by a substring search
# (0.4 µs on a no-op job's payload; the regular expression [0-9]{19} took 2.9).
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_NUMBER = b"0" * 19

# A JSON string, escapes included (the unrolled form: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = frozenset(b"[]{}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class PayloadError(DeserializationError):
    """Stored bytes that are not a payload jobframe will decode: too large, not UTF-8, too deeply
    nested, or not JSON. ``reason`` is the short form the dead set shows."""

    def __init__(self, message: str, reason: str = "undecodable payload") -> None:
        super().__init__(message)
        self.reason = reason


def dump_payload(payload: dict[str, Any]) -> bytes:
    """``job.serialize()`` as compact UTF-8 JSON (no NaN or infinity: other languages' JSON
    parsers reject them)."""
    if _c_encode is None:
        return _encode(payload).encode()
    return "".join(_c_encode(payload, 0)).encode()


def nesting_depth(raw: bytes, limit: int = MAX_DEPTH) -> int | None:
    """How deeply the JSON in ``raw`` (UTF-8) nests arrays and objects, brackets inside strings
    not counted, when that is more than ``limit``; None when it is not. For malformed JSON the
    depth may come out too high, never too low.

    Cost: a payload with no more brackets than ``limit`` cannot nest deeper, and two
    ``bytes.count`` calls tell (0.8 µs on a 470-byte payload, against 7 µs for its
    ``json.loads``, on a busy 2-core machine). Only a payload with more brackets pays the exact
    scan: strings removed by one regular expression, then a running sum over the brackets left,
    all at C speed (1.4 s for 16 MiB made of brackets, the worst case the size limit allows).
    In UTF-8 no byte of a multi-byte character is ASCII, so scanning bytes is exact.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
    return depth if depth > limit else None


def load_payload(raw: bytes, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> Any:
    """The JSON value stored in ``raw``, read within bounds.

    Raises:
        PayloadError: ``raw`` is larger than ``max_bytes``, not UTF-8, nested deeper than
            `MAX_DEPTH`, or not JSON; the message says which and what to do.
    """
    if len(raw) > max_bytes:
        raise PayloadError(
            f"the payload is {len(raw):,} bytes, over the max_payload_bytes setting "
            f"({max_bytes:,}); raise the setting on workers, or pass a reference (a file, a row "
            "id) instead of the data itself.",
            "payload too large",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"the payload is not UTF-8 ({exc.reason} at byte {exc.start}); jobframe payloads are "
            "UTF-8 JSON: have the producer encode its JSON as UTF-8."
        ) from None
    depth = nesting_depth(raw)
    if depth is not None:
        raise PayloadError(
            f"the payload nests {depth} levels deep; workers read at most {MAX_DEPTH}. Pass "
            "flatter arguments.",
            "payload nested too deeply",
        )
    if _fast_loads is not None and _LONG_NUMBER not in raw.translate(_DIGITS):
        try:
            return _fast_loads(raw)
        except ValueError:  # orjson.JSONDecodeError: json says what it accepts and why not
            pass
    try:
        return _decode(text)
    except ValueError as exc:
        raise PayloadError(f"the payload is not JSON: {exc}") from None
    except RecursionError:  # only if the thread's stack was already nearly full
        raise PayloadError(
            "the payload is nested too deeply to decode here", "payload nested too deeply"
        ) from None


def check_raw(queue: object, payload: object) -> tuple[str, bytes]:
    """``enqueue_raw``'s arguments, checked the same way for every adapter.

    Raises:
        InvalidOptionError: ``queue`` is not a valid queue name.
        TypeError: ``payload`` is not bytes.
    """
    from jobframe.job.queue_name import validate_queue_name

    name = validate_queue_name(queue, "enqueue_raw(queue=...)")
    if not isinstance(payload, bytes):
        raise TypeError(
            f"enqueue_raw(payload=...) takes bytes, got {type(payload).__name__}; encode text "
            "first (payload.encode()), or use perform_later for a job object."
        )
    return name, payload
