"""OpenTelemetry tracing for jobframe (``pip install jobframe[otel]``, `opentelemetry-api` only).

``JobframeInstrumentor().instrument()`` (or ``otel = true`` in ``[tool.jobframe]``) traces:

- every enqueue (``perform_later``, ``perform_at``/``set(wait=...)``, a retry): a PRODUCER span
  ``send {queue}`` around the adapter's write, its W3C trace context carried in the payload
  (key ``trace``: ``{"traceparent": ..., "tracestate": ...}``);
- every ``perform_all_later`` group: ONE PRODUCER span ``send {queue}`` for the batch (attribute
  ``messaging.batch.message_count``), whose context every message of the batch carries. The
  messaging conventions allow per-message "create" spans linked from the publish span; jobframe
  does not create them, so a 5,000-job batch costs one span, not 5,001, and each job's span is a
  child of the batch's span;
- every perform: a CONSUMER span ``process {queue}``, child of the context the payload carries
  (the producer's span, in another process), or of the current span when the job has none
  (``perform_now``). On failure the span has status ERROR and an ``exception`` event, also when
  ``retry_on`` or ``discard_on`` then handles the error.

A retry enqueued by the worker (after the perform span ended) is a child of the job's carried
context, so every attempt of a job is in the trace of the request that enqueued it.

Attributes (messaging semantic conventions): ``messaging.system`` = ``"jobframe"``,
``messaging.destination.name`` (the queue), ``messaging.message.id`` (the job id),
``messaging.operation.type`` (``send`` / ``process``), plus ``jobframe.job.class`` and
``jobframe.job.attempt`` (1 on the first run). The tracer provider is the global one
(``opentelemetry.trace.set_tracer_provider``) unless one is given to `JobframeInstrumentor`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from jobframe import notifications
from jobframe.notifications import Event

__all__ = ["JobframeInstrumentor", "current_trace_id", "instrument_from_settings"]

SYSTEM = "jobframe"
_lock = threading.Lock()
_unsubscribers: list[Callable[[], None]] = []


def current_trace_id() -> str | None:
    """The current span's trace id (32 lowercase hex digits), or None outside a valid span.
    For log formatters: cheap, and safe to call whether or not jobframe is instrumented."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x")


def _queue(job: Any) -> str | None:
    return getattr(job, "queue_name", None)


def _job_attributes(job: Any, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": SYSTEM,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.message.id": job.job_id,
        "jobframe.job.class": type(job).job_class_name(),
    }
    queue = _queue(job)
    if queue is not None:
        attributes["messaging.destination.name"] = queue
    return attributes


def _carrier() -> dict[str, str] | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def _finish(span: Span, token: object, event: Event) -> None:
    exc = event.exception
    try:
        if exc is not None:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:500]))
    finally:
        context.detach(token)  # type: ignore[arg-type]
        span.end()


class _Tracing:
    """The openers `JobframeInstrumentor` subscribes: each opens a span and returns its closer."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self.tracer = tracer

    def _start(self, name: str, kind: SpanKind, parent: Any, attributes: dict[str, Any]) -> Any:
        span = self.tracer.start_span(name, context=parent, kind=kind, attributes=attributes)
        token = context.attach(trace.set_span_in_context(span, parent))
        return lambda event: _finish(span, token, event)

    def enqueue(self, event: Event) -> Any:
        job = event.job
        parent = None
        if not trace.get_current_span().get_span_context().is_valid and job.trace_context:
            parent = propagate.extract(job.trace_context)  # a retry: stay in the job's trace
        closer = self._start(
            f"send {_queue(job)}", SpanKind.PRODUCER, parent, _job_attributes(job, "send")
        )
        job._set_trace_context(_carrier())
        return closer

    def enqueue_all(self, event: Event) -> Any:
        jobs = event.payload.get("jobs") or []
        queues = {_queue(job) for job in jobs}
        attributes: dict[str, Any] = {
            "messaging.system": SYSTEM,
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.batch.message_count": len(jobs),
        }
        queue = queues.pop() if len(queues) == 1 else None
        if queue is not None:
            attributes["messaging.destination.name"] = queue
        closer = self._start(f"send {queue or 'jobframe'}", SpanKind.PRODUCER, None, attributes)
        carrier = _carrier()
        for job in jobs:
            job._set_trace_context(carrier)
        return closer

    def perform(self, event: Event) -> Any:
        job = event.job
        parent = propagate.extract(job.trace_context) if job.trace_context else None
        attributes = _job_attributes(job, "process")
        attributes["jobframe.job.attempt"] = job.executions
        return self._start(f"process {_queue(job)}", SpanKind.CONSUMER, parent, attributes)


class JobframeInstrumentor:
    """Turns jobframe's tracing on (`instrument`) and off (`uninstrument`), process-wide.

    Instrumenting twice is harmless (the second call does nothing until `uninstrument`).
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.tracer_provider = tracer_provider

    def instrument(self) -> None:
        """Open spans on enqueue, bulk enqueue and perform (see the module's docstring)."""
        from jobframe import __version__

        tracer = trace.get_tracer("jobframe", __version__, tracer_provider=self.tracer_provider)
        tracing = _Tracing(tracer)
        with _lock:
            if _unsubscribers:
                return
            for name, opener in (
                ("enqueue", tracing.enqueue),
                ("enqueue_at", tracing.enqueue),
                ("enqueue_all", tracing.enqueue_all),
                ("perform", tracing.perform),
            ):
                _unsubscribers.append(notifications.subscribe_start(name, opener))

    def uninstrument(self) -> None:
        """Stop tracing: jobs enqueued from now on carry no ``trace`` key."""
        with _lock:
            while _unsubscribers:
                _unsubscribers.pop()()

    @staticmethod
    def is_instrumented() -> bool:
        """Whether jobframe's tracing is on in this process."""
        return bool(_unsubscribers)


def instrument_from_settings(otel: bool) -> None:
    """Instrument when the ``otel`` setting is true (called at configure and worker start)."""
    if otel and not JobframeInstrumentor.is_instrumented():
        JobframeInstrumentor().instrument()
