"""Turns instrumentation events into log lines on ``logging.getLogger("jobframe")``.

A job that runs writes one line at INFO, when it ends (``Performed ...`` with its duration, or
its error at WARNING/ERROR); the line as it starts, with its arguments, is at DEBUG. A worker at
the default level pays for that one line per job, so its path is kept lean: nothing is built
below the level, the text is formatted only by a handler that writes it (lazy %-arguments), and
the record is made without `logging`'s search of the call stack for the caller's file and line
(`emit`). Under the worker's own logging alone (`jobframe.worker.log_handler.direct`) the line
of a job that ran well is written with no record at all. Measured with
``benchmarks/logging_cost.py``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from jobframe import notifications, process_id, registry
from jobframe.errors import Abort, Cancelled, DuplicateJobError, Interrupted
from jobframe.notifications import Event
from jobframe.worker.log_handler import direct

logger = logging.getLogger("jobframe")


#: job classes' wire names for the ``job_class`` field (`registry.name_of` formats one per call)
_names: dict[type, str] = {}


def _describe(job: Any) -> str:
    task = getattr(job, "recurring_task", None)  # a job built by `deserialize` always has it
    of_task = f" of recurring task {task!r}" if task else ""
    return f"{type(job).__qualname__} (Job ID: {job.job_id}){of_task} on queue {job.queue_name!r}"


def _performed(job: Any, ms: float) -> str:
    """The message of the line of a job that ran well (``"Performed %s in %.2fms"``)."""
    return f"Performed {_describe(job)} in {ms:.2f}ms"


class _Described:
    """`_describe` of a job, built only if a handler formats the line (a lazy %-argument)."""

    __slots__ = ("job",)

    def __init__(self, job: Any) -> None:
        self.job = job

    def __str__(self) -> str:
        return _describe(self.job)


def emit(level: int, msg: str, args: tuple[Any, ...], extra: dict[str, Any]) -> None:
    """Log ``msg % args`` at ``level`` (already known to be enabled) with the ``extra`` fields.

    What `Logger.info` does, less the walk up the call stack to find the caller's file and line
    (2 µs a line; every line of this module would name this module anyway): the record names
    this module, line 0. It goes through the logger's filters and handlers as any other.
    """
    if logging.getLogRecordFactory() is logging.LogRecord and type(logger) is logging.Logger:
        record = _record(level, msg, args, extra)
    else:  # a factory or a logger class of the application's: theirs makes the record
        record = logger.makeRecord(
            logger.name, level, __file__, 0, msg, args, None, "on_event", extra
        )
    logger.handle(record)


#: a record of this module's, as `logging.LogRecord` fills it in, for `_record` to copy
_template: dict[str, Any] = {}


def _record(level: int, msg: str, args: tuple[Any, ...], extra: dict[str, Any]) -> Any:
    """The `logging.LogRecord` `Logger.makeRecord` would make, built from a copy of one made
    before: its constructor spends 2.9 µs a line (half of it on the file name of the source,
    the same on every line of this module); this copies what never changes and fills in the
    rest as it does (time, thread, process, and on Python 3.12+ the asyncio task)."""
    if not _template:
        made = logging.LogRecord(logger.name, logging.INFO, __file__, 0, "", (), None, "on_event")
        _template.update(vars(made))
    fields = _template.copy()  # a copy of a whole dict: 3x quicker than an update into another
    now = time.time()
    fields["created"] = now
    fields["msecs"] = int((now - int(now)) * 1000) + 0.0
    fields["relativeCreated"] = (now - logging._startTime) * 1000  # type: ignore[attr-defined]
    fields["levelno"], fields["levelname"] = level, logging.getLevelName(level)
    fields["msg"], fields["args"] = msg, args
    if logging.logThreads:
        fields["thread"] = threading.get_ident()
        fields["threadName"] = threading.current_thread().name
    if logging.logProcesses:
        fields["process"] = process_id.PID
    if logging.logMultiprocessing and (mp := sys.modules.get("multiprocessing")) is not None:
        try:  # noqa: SIM105  (contextlib.suppress: three calls more per line)
            fields["processName"] = mp.current_process().name
        except Exception:
            pass
    if "taskName" in fields:
        fields["taskName"] = _task_name()
    if not fields.keys().isdisjoint(extra) or "message" in extra or "asctime" in extra:
        clash = next(k for k in extra if k in fields or k in ("message", "asctime"))
        raise KeyError(f"Attempt to overwrite {clash!r} in LogRecord")
    fields.update(extra)
    record = logging.LogRecord.__new__(logging.LogRecord)
    record.__dict__ = fields
    return record


def _task_name() -> str | None:
    """The current asyncio task's name, as `logging.LogRecord` finds it (Python 3.12+)."""
    if not getattr(logging, "logAsyncioTasks", False):
        return None
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        task = asyncio.current_task()
    except Exception:  # no running loop in this thread
        return None
    return None if task is None else task.get_name()


def _fields(job: Any, ms: float | None = None) -> dict[str, Any]:
    """The structured fields of a job's log line (``extra``): what ``--log-format json`` prints
    beside the message, so a log collector can filter on them without parsing the text.

    ``attempt`` is the execution count (1 on the first run; 0 before the job first ran);
    ``duration_ms`` only where the line reports a duration (performed, failed); ``trace_id``
    when the job carries a trace context (tracing was on where it was enqueued): the trace of
    the request that enqueued it, which its perform span joins. These lines are written outside
    the perform span (before it opens, after it ends), so the current span would not tell."""
    kind = type(job)
    fields: dict[str, Any] = {
        "job_id": getattr(job, "job_id", None),
        "job_class": _names.get(kind) or _names.setdefault(kind, registry.name_of(kind)),
        "queue": getattr(job, "queue_name", None),
        "attempt": getattr(job, "executions", None),
    }
    if ms is not None:
        fields["duration_ms"] = round(ms, 3)
    carried = getattr(job, "trace_context", None)
    if carried:
        trace_id = _trace_id(carried.get("traceparent"))
        if trace_id is not None:
            fields["trace_id"] = trace_id
    return fields


def _trace_id(traceparent: object) -> str | None:
    """The trace id of a W3C ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``), or None."""
    if not isinstance(traceparent, str):
        return None
    parts = traceparent.split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1].lower()


def _with_args(job: Any) -> str:
    text = job.loggable_arguments()
    return f" with arguments: {text}" if text else ""


def _handled(job: Any, exc: BaseException) -> bool:
    return any(handler.matches(exc) for handler in job._all_handlers())


def _adapter(event: Event) -> str:
    return type(event.adapter).__name__ if event.adapter is not None else "?"


def on_event(event: Event) -> None:
    """Log one event; nothing is formatted unless the level is enabled."""
    job, exc, ms = event.job, event.exception, event.duration * 1000
    name = event.name
    if name == "perform" and exc is None:  # every job that ran well: tested first
        if not logger.isEnabledFor(logging.INFO):
            pass
        elif (handler := direct(logger, logging.INFO)) is not None:
            # The worker's own logging, which alone sees the line: written without a record.
            handler.write_line(time.time(), logging.INFO, logger.name, _performed(job, ms))
        else:
            emit(logging.INFO, "Performed %s in %.2fms", (_Described(job), ms), _fields(job, ms))
    elif name == "enqueue_recurring":
        if exc is not None:
            logger.error(
                "Failed enqueuing %s to %s: %r", _describe(job), _adapter(event), exc,
                extra=_fields(job),
            )  # fmt: skip
        elif logger.isEnabledFor(logging.INFO) and job.successfully_enqueued:
            logger.info(
                "Enqueued %s to %s for the tick at %s%s",
                _describe(job), _adapter(event), job.scheduled_at.isoformat(), _with_args(job),
                extra=_fields(job),
            )  # fmt: skip
    elif name in ("enqueue", "enqueue_at"):
        in_caller = event.adapter is not None and event.adapter.capabilities.performs_in_caller
        if exc is not None and in_caller:
            pass  # inline: the job itself failed, and its perform event said so
        elif isinstance(exc, DuplicateJobError):
            logger.info("Skipped enqueuing %s: %s", _describe(job), exc, extra=_fields(job))
        elif exc is not None:
            logger.error(
                "Failed enqueuing %s to %s: %r", _describe(job), _adapter(event), exc,
                extra=_fields(job),
            )  # fmt: skip
        elif logger.isEnabledFor(logging.INFO) and job.successfully_enqueued:
            when = f" at {job.scheduled_at.isoformat()}" if name == "enqueue_at" else ""
            logger.info(
                "Enqueued %s to %s%s%s", _describe(job), _adapter(event), when, _with_args(job),
                extra=_fields(job),
            )  # fmt: skip
    elif name == "enqueue_all" and logger.isEnabledFor(logging.INFO):
        jobs = event.payload.get("jobs", [])
        logger.info("Enqueued %d jobs to %s", len(jobs), _adapter(event))
    elif name == "perform_start" and logger.isEnabledFor(logging.DEBUG):
        emit(logging.DEBUG, "Performing %s%s", (_Described(job), _with_args(job)), _fields(job))
    elif name == "perform":
        if isinstance(exc, Cancelled | Interrupted):
            pass  # the cancel or interrupt event that follows says so
        elif isinstance(exc, Abort):
            # A callback halted the job on purpose: say so, without a traceback.
            logger.info(
                "Halted %s: a perform callback aborted it (%s)", _describe(job), exc,
                extra=_fields(job, ms),
            )  # fmt: skip
        elif exc is not None and _handled(job, exc):
            # retry_on / discard_on / rescue_from take it from here and log what they do.
            logger.warning(
                "Error performing %s in %.2fms: %s: %s",
                _describe(job), ms, type(exc).__name__, exc, extra=_fields(job, ms),
            )  # fmt: skip
        elif exc is not None:
            logger.error(
                "Error performing %s in %.2fms: %s: %s",
                _describe(job),
                ms,
                type(exc).__name__,
                exc,
                exc_info=exc,
                extra=_fields(job, ms),
            )
    elif name == "enqueue_retry" and logger.isEnabledFor(logging.INFO):
        error = event.payload.get("error")
        logger.info(
            "Retrying %s in %.1fs, due to a %s (%s)",
            _describe(job),
            event.payload.get("wait", 0),
            type(error).__name__,
            error,
            extra=_fields(job),
        )
    elif name == "retry_stopped":
        error = event.payload.get("error")
        logger.error(
            "Stopped retrying %s due to a %s (%s), which reoccurred on %d executions",
            _describe(job),
            type(error).__name__,
            error,
            job.executions,
            exc_info=error,
            extra=_fields(job),
        )
    elif name == "discard":
        error = event.payload.get("error")
        logger.error(
            "Discarded %s due to a %s (%s)", _describe(job), type(error).__name__, error,
            extra=_fields(job),
        )  # fmt: skip
    elif name in _FLOW:
        _FLOW[name](event)


def _expired(event: Event) -> None:
    late = event.payload.get("late", 0.0)
    logger.warning(
        "Expired %s unperformed: %.1fs past its expires_in", _describe(event.job), late,
        extra=_fields(event.job),
    )  # fmt: skip


def _throttled(event: Event) -> None:
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "Throttled %s: rate limit %r, starts in %.2fs",
            _describe(event.job), event.payload.get("key"), event.payload.get("wait", 0.0),
            extra=_fields(event.job),
        )  # fmt: skip


def _cancelled(event: Event) -> None:
    logger.info("Cancelled %s while it ran", _describe(event.job), extra=_fields(event.job))


def _timed_out(event: Event) -> None:
    limit = event.payload.get("limit", 0.0)
    logger.warning(
        "Stopping %s: it ran past its time limit of %gs", _describe(event.job), limit,
        extra=_fields(event.job),
    )  # fmt: skip


def _interrupted(event: Event) -> None:
    logger.info("%s; re-enqueued to resume there", event.payload.get("message", "Interrupted"))


_FLOW = {"expire": _expired, "throttle": _throttled, "cancel": _cancelled, "timeout": _timed_out,
         "interrupt": _interrupted}  # fmt: skip


def _wants(name: str) -> bool:
    """The events this subscriber logs at the current level (`notifications.subscribe`'s
    ``when``): ``perform_start`` only at DEBUG, every other one always (it may log a warning)."""
    return name != "perform_start" or logger.isEnabledFor(logging.DEBUG)


_unsubscribe = notifications.subscribe("*", on_event, when=_wants)


def detach() -> None:
    """Stop logging job events (an app that has its own subscriber may want this)."""
    _unsubscribe()
