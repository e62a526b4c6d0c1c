"""``jobframe work --log-format json``: a real worker process on Redis writes one JSON object per
line to stderr, and a job's lines carry ``job_id``, ``job_class``, ``queue``, ``attempt`` and
(where the line reports one) ``duration_ms`` as fields a log collector can filter on."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from jobframe import registry
from jobframe.testing.reliability_jobs import ChaosJob, RecordJob
from jobframe.testing.services import missing
from jobframe.testing.workers import Journal, Workers, wait_until, write_config
from jobframe_redis.adapter import RedisAdapter

pytestmark = pytest.mark.slow


def _entries(folder: Path) -> list[dict[str, Any]]:
    """Every line of the worker's output, parsed: a line that is not a JSON object fails."""
    text = (folder / "worker-0.log").read_text()
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(entry, dict) for entry in entries), text
    return entries


def _of(entries: list[dict[str, Any]], job_id: str, start: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("job_id") == job_id and e["message"].startswith(start)]


def test_a_worker_writes_one_json_object_per_line_with_the_job_fields(
    adapter: RedisAdapter, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    write_config(tmp_path, "redis", url=redis_url, prefix=prefix)
    journal = Journal(tmp_path / "journal.jsonl")
    workers = Workers(tmp_path, concurrency=1)
    try:
        workers.start("--log-format", "json")
        ok = RecordJob.set(queue="mailers").perform_later(journal.name, "ok")
        flaky = ChaosJob.perform_later(journal.name, 0.0, True)
        wait_until(
            lambda: journal.ended()[ok.job_id] == 1 and journal.ended()[flaky.job_id] == 2,
            30,
            "both jobs to run",
        )
        wait_until(lambda: _of(_entries(tmp_path), flaky.job_id, "Performed "), 10, "the last line")
        workers.check_alive()
    finally:
        workers.stop()
    entries = _entries(tmp_path)
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["time"].endswith("Z") and entry["level"] in {"INFO", "WARNING", "ERROR"}
        assert "trace_id" not in entry  # tracing is off

    # One line per job at the default level: its start (with the arguments) is at DEBUG.
    [performed] = [e for e in entries if e.get("job_id") == ok.job_id]
    assert performed["message"].startswith("Performed ")
    assert performed["logger"] == "jobframe" and performed["level"] == "INFO"
    assert performed["job_class"] == registry.name_of(RecordJob) == "jobframe.reliability.RecordJob"
    assert performed["queue"] == "mailers" and performed["attempt"] == 1
    assert isinstance(performed["duration_ms"], float) and 0 <= performed["duration_ms"] < 30_000

    [failed] = _of(entries, flaky.job_id, "Error performing ")
    assert failed["level"] == "WARNING" and failed["attempt"] == 1 and failed["duration_ms"] >= 0
    [retrying] = _of(entries, flaky.job_id, "Retrying ")
    assert retrying["queue"] == "default" and retrying["job_class"] == ChaosJob.job_name
    [succeeded] = _of(entries, flaky.job_id, "Performed ")
    assert succeeded["attempt"] == 2
    assert any(e["logger"] == "jobframe.worker" and "started" in e["message"] for e in entries)


def test_text_is_the_default_and_carries_no_json(
    adapter: RedisAdapter, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    write_config(tmp_path, "redis", url=redis_url, prefix=prefix)
    journal = Journal(tmp_path / "journal.jsonl")
    workers = Workers(tmp_path, concurrency=1)
    try:
        workers.start()
        job = RecordJob.perform_later(journal.name)
        wait_until(lambda: journal.ended()[job.job_id] == 1, 30, "the job to run")
        line = f"Performed {RecordJob.__qualname__} (Job ID: {job.job_id})"
        wait_until(lambda: line in (tmp_path / "worker-0.log").read_text(), 10, "the line")
    finally:
        workers.stop()
    text = (tmp_path / "worker-0.log").read_text()
    assert " INFO jobframe: Performed RecordJob" in text
    assert not any(line.startswith("{") for line in text.splitlines())


def test_with_tracing_on_a_jobs_lines_carry_the_trace_id_of_the_request_that_enqueued_it(
    adapter: RedisAdapter, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    sdk_trace = _sdk_trace()
    from jobframe.contrib.opentelemetry import JobframeInstrumentor

    write_config(tmp_path, "redis", url=redis_url, prefix=prefix)
    config = tmp_path / "jobframe.toml"
    config.write_text("otel = true\n" + config.read_text())
    journal = Journal(tmp_path / "journal.jsonl")
    instrumentor = JobframeInstrumentor(tracer_provider=sdk_trace.TracerProvider())
    instrumentor.instrument()
    try:
        tracer = sdk_trace.TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("POST /signup") as span:
            job = RecordJob.perform_later(journal.name)
        trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        instrumentor.uninstrument()
    workers = Workers(tmp_path, concurrency=1)
    try:
        workers.start("--log-format", "json", "--log-level", "DEBUG")  # the start line too
        wait_until(lambda: journal.ended()[job.job_id] == 1, 30, "the job to run")
        wait_until(lambda: _of(_entries(tmp_path), job.job_id, "Performed "), 10, "the line")
    finally:
        workers.stop()
    entries = _entries(tmp_path)
    [performing] = _of(entries, job.job_id, "Performing ")
    assert performing["level"] == "DEBUG" and "duration_ms" not in performing
    [performed] = _of(entries, job.job_id, "Performed ")
    assert performing["trace_id"] == performed["trace_id"] == trace_id
    assert all("trace_id" not in e for e in entries if e["logger"] == "jobframe.worker")


LOGGING_JOB = """
import logging

import jobframe


class ChattyJob(jobframe.Job):
    job_name = "test.ChattyJob"

    def perform(self):
        logging.getLogger("app.mail").info("sending from inside perform")
"""


def test_a_line_a_job_logs_inside_perform_carries_the_trace_id_of_its_span(
    adapter: RedisAdapter,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sdk_trace = _sdk_trace()
    from jobframe.contrib.opentelemetry import JobframeInstrumentor

    (tmp_path / "chatty_jobs.py").write_text(LOGGING_JOB)
    monkeypatch.syspath_prepend(str(tmp_path))
    write_config(tmp_path, "redis", url=redis_url, prefix=prefix)
    config = tmp_path / "jobframe.toml"
    config.write_text("otel = true\n" + config.read_text())
    instrumentor = JobframeInstrumentor(tracer_provider=sdk_trace.TracerProvider())
    instrumentor.instrument()
    try:
        with sdk_trace.TracerProvider().get_tracer("t").start_as_current_span("request") as span:
            job = importlib.import_module("chatty_jobs").ChattyJob.perform_later()
        trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        instrumentor.uninstrument()
    workers = Workers(tmp_path, jobs=["chatty_jobs"], pythonpath=[str(tmp_path)], concurrency=1)
    try:
        workers.start("--log-format", "json")
        wait_until(lambda: _of(_entries(tmp_path), job.job_id, "Performed "), 30, "the job to run")
    finally:
        workers.stop()
    [inside] = [e for e in _entries(tmp_path) if e["logger"] == "app.mail"]
    assert inside["message"] == "sending from inside perform" and inside["trace_id"] == trace_id


def _sdk_trace() -> Any:
    """``opentelemetry.sdk.trace``: in the dev group, so missing it fails the run under ``CI``."""
    try:
        import opentelemetry.sdk.trace as sdk_trace
    except ImportError:
        missing("opentelemetry-sdk is not installed (jobframe[otel]; the dev group has it)")
    return sdk_trace
