"""The stored form of a job payload, for adapters that keep it as bytes."""

from __future__ import annotations

import json
from typing import Any

# Built once: `json.dumps` with options builds a new encoder on every call (about 5 µs each).
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def dump_payload(payload: dict[str, Any]) -> bytes:
    """``job.serialize()`` as compact UTF-8 JSON (no NaN or infinity: other languages' JSON
    parsers reject them)."""
    return _encode(payload).encode()
