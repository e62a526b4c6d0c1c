"""Log setup for worker processes (readable text, or one JSON object per line), and the line a
worker writes for a job it cannot load."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from jobframe.backend.worker import Outcome
from jobframe.worker.log_handler import BufferedStreamHandler, formatter, utc_second

_STANDARD = set(vars(logging.makeLogRecord({})))
# Built once: `json.dumps` with an option builds a new encoder on every call (about 4 µs a line).
_encode = json.JSONEncoder(default=str).encode
#: the longest error message quoted in a log line (a payload may name a megabyte-long class)
MESSAGE_LIMIT = 500
#: payloads larger than this are not read again to find the job class's name
_REREAD_LIMIT = 64 * 1024

log = logging.getLogger("jobframe.worker")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``pid``,
    ``message``, then any ``extra`` fields (a job's lines carry ``job_id``, ``job_class``,
    ``queue``, ``attempt`` and, where the line reports one, ``duration_ms``), ``trace_id`` when
    tracing is on and a span is current, and ``exception`` when the record has a traceback.
    """

    def __init__(self) -> None:
        super().__init__()
        self._second: list[tuple[int, str]] = [(-1, "")]  # the current second, formatted once

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": f"{utc_second(record.created, self._second)}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if "trace_id" not in entry and (trace_id := current_trace_id()) is not None:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encode(entry)


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits, as W3C ``traceparent`` writes it), or None
    when no span is current or OpenTelemetry was never imported: tracing that is off costs a
    dictionary lookup, and this module never imports ``opentelemetry`` itself. The tracing
    contrib's `current_trace_id` answers when it is loaded (``otel = true``)."""
    contrib = sys.modules.get("jobframe.contrib.opentelemetry")
    if contrib is not None:
        found: str | None = contrib.current_trace_id()
        return found
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def setup_logging(level: str, fmt: str) -> None:
    """Send every log record to stderr, as readable text (``fmt="text"``) or one JSON object per
    line (``"json"``, :class:`JsonFormatter`), at ``level`` and above.

    Lines below WARNING are written in batches, at most a tenth of a second late
    (`jobframe.worker.log_handler.BufferedStreamHandler`): a write per line cost the default
    configuration more than the jobs themselves."""
    handler = BufferedStreamHandler()
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def unloadable(outcome: Outcome) -> Outcome:
    """Log a job that cannot be loaded (at ERROR: it goes to the dead set, not to its queue),
    with its id, queue, the reason and the fix; return ``outcome`` unchanged.

    Without this line the job vanished into the dead set silently: the worker is missing an
    import, typically, and only ``jobframe jobs --failed`` showed why.
    """
    claim, error = outcome.claim, outcome.error or {}
    reason = error.get("reason", "cannot be loaded")
    job_class = _job_class(claim.payload) if reason == "unknown job class" else None
    if job_class is not None:
        module = job_class.rpartition(".")[0] or job_class
        detail = f"{_clip(job_class)} is not a job class this worker imported"
        fix = (
            f"add the module that defines it ({_clip(module)}) to `imports` in [tool.jobframe] "
            "or pass it to `jobframe work`"
        )
    else:
        detail = _clip(str(error.get("message", ""))).rstrip(". ")
        fix = "fix what produced this payload"
    log.error(
        "job %s on queue %r cannot be loaded (%s): %s; %s. It is in the dead set with its "
        "payload: retry it once fixed (`jobframe retry %s`) or discard it",
        claim.id,
        claim.queue,
        reason,
        detail,
        fix,
        claim.id,
        extra={"job_id": claim.id, "queue": claim.queue, "reason": reason},
    )
    return outcome


def _job_class(payload: bytes) -> str | None:
    """The ``job_class`` a payload that decoded fine names (it named no registered class)."""
    if len(payload) > _REREAD_LIMIT:
        return None
    try:
        name = json.loads(payload).get("job_class")
    except Exception:  # decoded once already; whatever fails here just loses the name
        return None
    return name if isinstance(name, str) else None


def _clip(text: str) -> str:
    if len(text) <= MESSAGE_LIMIT:
        return text
    return f"{text[:MESSAGE_LIMIT]}... ({len(text) - MESSAGE_LIMIT} more characters)"
