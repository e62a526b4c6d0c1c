"""Moved to jobframe.backend; kept for third-party imports."""

from jobframe.backend.payload import (
    MAX_DEPTH,
    PayloadError,
    check_raw,
    dump_payload,
    load_payload,
    nesting_depth,
)

__all__ = [
    "MAX_DEPTH",
    "PayloadError",
    "check_raw",
    "dump_payload",
    "load_payload",
    "nesting_depth",
]
