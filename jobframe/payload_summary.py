"""What the CLI and the dashboard show of a stored payload, whatever its bytes are.

An inspector lists jobs it did not write: bytes from another producer or ``enqueue_raw`` may be
too large, not UTF-8, nested too deeply, not JSON, or JSON of the wrong shape (a list, a number,
``{"job_class": 5}``). `summarize` reads them with the worker's bounded decoder and returns only
fields of the types `jobframe.backend.JobInfo` promises, with every string safe to encode as
UTF-8 (a JSON ``"\\ud800"`` escape decodes to a lone surrogate, which no page or terminal can
print). A payload that cannot be read gets ``job_class`` None (shown as ``(undecodable)``) and a
`preview` of its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobframe.backend.payload import MAX_DEPTH, PayloadError, load_payload

#: bytes of an undecodable payload shown in listings
PREVIEW_CHARS = 200


@dataclass(frozen=True)
class PayloadSummary:
    """The fields of a stored payload that listings show, each of its promised type."""

    job_class: str | None = None
    job_id: str | None = None
    queue_name: str | None = None
    arguments: Any = None  # {"args": [...], "kwargs": {...}} with printable strings, or None
    priority: int | None = None
    executions: int = 0
    enqueued_at: datetime | None = None
    scheduled_at: datetime | None = None
    #: the name of the recurring task that enqueued the job, if one did
    recurring_task: str | None = None
    problem: str | None = None  # why the payload cannot be read, when it cannot


def preview(raw: bytes | None, limit: int = PREVIEW_CHARS) -> str:
    """The first ``limit`` bytes of ``raw`` as printable text (invalid UTF-8 and control
    characters escaped), saying how long the whole is when it was cut."""
    if not raw:
        return ""
    head = raw[:limit].decode("utf-8", "backslashreplace")
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)
    return shown if len(raw) <= limit else f"{shown}... ({len(raw):,} bytes in all)"


def printable(value: Any, depth: int = 0) -> Any:
    """``value`` (decoded JSON) with every string, key included, encodable as UTF-8."""
    if isinstance(value, str):
        return text(value)
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(value, list):
        return [printable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {text(str(k)): printable(v, depth + 1) for k, v in value.items()}
    return value


def text(value: str) -> str:
    """``value`` with lone surrogates escaped (``\\ud800``), so that it encodes as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def error(value: Any) -> dict[str, Any] | None:
    """A stored error record (class, message, traceback, reason, attempts) safe to show."""
    if not isinstance(value, dict):
        return None
    shown: dict[str, Any] = printable(value)
    return shown


def summarize(raw: bytes | None, max_bytes: int | None = None) -> PayloadSummary:
    """The listing fields of the payload stored as ``raw``; never raises."""
    if raw is None:
        return PayloadSummary()
    try:
        data = load_payload(raw) if max_bytes is None else load_payload(raw, max_bytes)
    except PayloadError as exc:
        return PayloadSummary(problem=exc.reason)
    return from_data(data)


#: how jobframe writes the key (``json.dumps``): a payload without these bytes has no task
_RECURRING_KEY = b'"recurring_task"'


def recurring_task(raw: bytes | None) -> str | None:
    """The recurring task named in the payload stored as ``raw``, or None; never raises.

    Listings call it for every row: the payload is decoded only when its bytes hold the key,
    so the jobs no task enqueued (most of them) cost one substring search, not a second decode.
    A producer that spells the key with JSON escapes is not jobframe, and gets no task shown.
    """
    if not raw or _RECURRING_KEY not in raw:
        return None
    return summarize(raw).recurring_task


def from_data(data: Any) -> PayloadSummary:
    """`summarize` for a payload already decoded (``job.serialize()``, a decoded dict)."""
    if not isinstance(data, dict):
        return PayloadSummary(problem=f"a JSON {type(data).__name__}, not a job object")
    job_class = _string(data.get("job_class"))
    return PayloadSummary(
        job_class=job_class,
        job_id=_string(data.get("job_id")),
        queue_name=_string(data.get("queue_name")),
        arguments={
            "args": printable(data.get("arguments")),
            "kwargs": printable(data.get("kwargs")),
        },
        priority=_integer(data.get("priority")),
        executions=_integer(data.get("executions")) or 0,
        enqueued_at=moment(data.get("enqueued_at")),
        scheduled_at=moment(data.get("scheduled_at")),
        recurring_task=_string(data.get("recurring_task")),
        problem=None if job_class else "no job_class string",
    )


def moment(value: Any) -> datetime | None:
    """An ISO timestamp as a datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _string(value: Any) -> str | None:
    return text(value) if isinstance(value, str) and value else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
