"""OpenTelemetry tracing in process (the SDK's in-memory exporter): a PRODUCER span per enqueue
and per bulk enqueue, the trace context in the payload, a CONSUMER span per perform, child of
the producer's, with the messaging attributes and the error of a failed run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.retry_job import RetryJob, ShortWaitError
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import jobframe
from jobframe.contrib.opentelemetry import JobframeInstrumentor, current_trace_id
from jobframe.testing import JobsHelper


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider()


@pytest.fixture
def exporter(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = JobframeInstrumentor(tracer_provider=provider)
    instrumentor.instrument()
    yield memory
    instrumentor.uninstrument()


def spans(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.kind is kind]


def test_enqueue_and_perform_make_one_trace(
    jobs: JobsHelper, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    with provider.get_tracer("app").start_as_current_span("request") as request:
        job = HelloJob.perform_later("Ann")
    carried = job.trace_context
    assert carried is not None and carried["traceparent"].startswith("00-")
    jobs.perform_enqueued_jobs()
    (producer,) = spans(exporter, SpanKind.PRODUCER)
    (consumer,) = spans(exporter, SpanKind.CONSUMER)
    trace_id = request.get_span_context().trace_id
    assert producer.context.trace_id == consumer.context.trace_id == trace_id
    assert producer.parent is not None
    assert producer.parent.span_id == request.get_span_context().span_id
    assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
    assert producer.name == "send default" and consumer.name == "process default"
    assert dict(producer.attributes or {}) == {
        "messaging.system": "jobframe",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.message.id": job.job_id,
        "jobframe.job.class": "fixture_jobs.hello_job.HelloJob",
        "messaging.destination.name": "default",
    }
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.message.id"] == job.job_id
    assert consumer.attributes["jobframe.job.attempt"] == 1
    assert consumer.status.status_code is StatusCode.UNSET


def test_the_payload_carries_the_trace_context(
    exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    job = HelloJob("Ann")
    with provider.get_tracer("app").start_as_current_span("request"):
        job.enqueue()
    payload = job.serialize()
    (producer,) = spans(exporter, SpanKind.PRODUCER)
    span_id = format(producer.context.span_id, "016x")
    assert payload["trace"]["traceparent"].split("-")[2] == span_id
    assert HelloJob.deserialize(payload).trace_context == payload["trace"]


def test_no_trace_key_when_not_instrumented(jobs: JobsHelper) -> None:
    job = HelloJob.perform_later("Ann")
    assert job.trace_context is None
    assert "trace" not in job.serialize()


def test_a_malformed_trace_key_is_refused() -> None:
    payload = HelloJob("Ann").serialize()
    payload["trace"] = {"traceparent": 1}
    with pytest.raises(jobframe.DeserializationError, match="'trace'"):
        HelloJob.deserialize(payload)


def test_failed_runs_record_the_error_and_retries_stay_in_the_trace(
    jobs: JobsHelper, exporter: InMemorySpanExporter, provider: TracerProvider
) -> None:
    with provider.get_tracer("app").start_as_current_span("request") as request:
        RetryJob.perform_later("ShortWaitError", 5)
    with pytest.raises(ShortWaitError):
        jobs.perform_enqueued_jobs()
    consumers = spans(exporter, SpanKind.CONSUMER)
    assert [(s.attributes or {}).get("jobframe.job.attempt") for s in consumers] == [1, 2, 3]
    for span in consumers:
        assert span.status.status_code is StatusCode.ERROR
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes is not None
        assert str(event.attributes["exception.type"]).endswith("ShortWaitError")
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in exporter.get_finished_spans()} == {trace_id}
    assert len(spans(exporter, SpanKind.PRODUCER)) == 3  # the enqueue and two retries


def test_bulk_enqueue_is_one_span_for_the_batch(
    jobs: JobsHelper, exporter: InMemorySpanExporter
) -> None:
    batch = [HelloJob("a"), HelloJob("b"), HelloJob("c")]
    assert jobframe.perform_all_later(batch) == 3
    (producer,) = spans(exporter, SpanKind.PRODUCER)
    assert producer.attributes is not None
    assert producer.attributes["messaging.batch.message_count"] == 3
    assert producer.attributes["messaging.destination.name"] == "default"
    jobs.perform_enqueued_jobs()
    consumers = spans(exporter, SpanKind.CONSUMER)
    assert len(consumers) == 3
    assert {s.parent.span_id for s in consumers if s.parent} == {producer.context.span_id}
    assert {s.context.trace_id for s in consumers} == {producer.context.trace_id}


def test_current_trace_id(provider: TracerProvider) -> None:
    assert current_trace_id() is None
    with provider.get_tracer("app").start_as_current_span("request") as span:
        assert current_trace_id() == format(span.get_span_context().trace_id, "032x")
    assert trace.get_current_span().get_span_context().is_valid is False


def test_uninstrument_stops_tracing(jobs: JobsHelper, provider: TracerProvider) -> None:
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = JobframeInstrumentor(tracer_provider=provider)
    instrumentor.instrument()
    instrumentor.instrument()  # twice is once
    HelloJob.perform_later("a")
    instrumentor.uninstrument()
    assert not JobframeInstrumentor.is_instrumented()
    HelloJob.perform_later("b")
    assert len(memory.get_finished_spans()) == 1


def test_the_otel_setting_instruments() -> None:
    assert not JobframeInstrumentor.is_instrumented()
    try:
        jobframe.configure(otel=True)
        assert JobframeInstrumentor.is_instrumented()
    finally:
        JobframeInstrumentor().uninstrument()
