"""OpenTelemetry end to end: a job enqueued inside a span of this process runs in a real
``jobframe work`` process (``otel = true`` in its configuration) on Redis and on PostgreSQL, and
the worker's CONSUMER span is in the same trace, child of the enqueue's PRODUCER span."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_jobs.hello_job import HelloJob
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import jobframe
from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.contrib.opentelemetry import JobframeInstrumentor
from jobframe.testing.workers import Workers, wait_until, write_config

pytestmark = pytest.mark.slow

TESTS = str(Path(__file__).parents[1])
CONTRIB = str(Path(__file__).parent)


@pytest.fixture(params=["redis", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, QueueAdapter]]:
    """The adapter of this test's process and the ``adapter_options`` its workers need."""
    if request.param == "redis":
        from jobframe.testing.databases import REDIS_URL
        from jobframe_redis.testing import redis_adapter

        prefix = f"jfotel-{uuid.uuid4().hex[:8]}"
        with redis_adapter(prefix) as redis:
            write_config(tmp_path, "redis", url=REDIS_URL, prefix=prefix)
            yield "redis", redis
    else:
        from jobframe_sql.testing import sql_adapter

        with sql_adapter("postgresql") as sql:
            url = sql.engine.url.render_as_string(hide_password=False)
            write_config(tmp_path, "sql", url=url)
            yield "sql", sql


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_one_trace_from_the_enqueue_to_the_worker(
    backend: tuple[str, QueueAdapter], tmp_path: Path
) -> None:
    _, adapter = backend
    config = tmp_path / "jobframe.toml"
    config.write_text("otel = true\n" + config.read_text())
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = JobframeInstrumentor(tracer_provider=provider)
    instrumentor.instrument()
    workers = Workers(tmp_path, jobs=["fixture_jobs.hello_job", "otel_export"],
                      pythonpath=[TESTS, CONTRIB], concurrency=2)  # fmt: skip
    try:
        with queue_adapters.override(adapter):
            with provider.get_tracer("app").start_as_current_span("request") as request:
                job = HelloJob.perform_later("Ann")
                batch = [HelloJob("a"), HelloJob("b")]
                assert jobframe.perform_all_later(batch) == 2
            workers.start()
            ids = {job.job_id, *(j.job_id for j in batch)}

            def consumers() -> list[dict[str, Any]]:
                done = [
                    s
                    for s in read_spans(tmp_path / "spans.jsonl")
                    if s["kind"] == "SpanKind.CONSUMER"
                ]
                return (
                    done if {s["attributes"]["messaging.message.id"] for s in done} == ids else []
                )

            found = wait_until(consumers, 30, "the worker's three CONSUMER spans")
            workers.check_alive()
    finally:
        instrumentor.uninstrument()
        workers.stop()
    trace_id = f"0x{request.get_span_context().trace_id:032x}"
    producers = {
        (span.attributes or {}).get("messaging.message.id"): span
        for span in memory.get_finished_spans()
        if span.kind is SpanKind.PRODUCER
    }
    assert len(producers) == 2  # the job's, and the batch's (no message id)
    by_id = {span["attributes"]["messaging.message.id"]: span for span in found}
    for job_id, span in by_id.items():
        assert span["context"]["trace_id"] == trace_id
        producer = producers[job_id if job_id == job.job_id else None]
        assert span["parent_id"] == f"0x{producer.context.span_id:016x}"
        assert span["attributes"]["messaging.system"] == "jobframe"
        assert span["attributes"]["messaging.destination.name"] == "default"
        assert span["attributes"]["jobframe.job.class"] == "fixture_jobs.hello_job.HelloJob"
        assert span["attributes"]["jobframe.job.attempt"] == 1
        assert span["status"]["status_code"] == "UNSET"
