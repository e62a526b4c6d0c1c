"""Real ``jobframe work`` processes against the real RabbitMQ: what only this plugin does (the
delay ladder) and what lands in its dead-letter queue. Crashes, scheduling, priorities and
graceful shutdown are tests of jobframe's conformance suite (`test_conformance_rabbitmq.py`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from jobframe_rabbitmq.scheduling import DUE_HEADER
from rabbitmq_jobs import FailingJob, RecordJob, read
from rabbitmq_workers import Workers, peek, publish_raw, wait_until
from rabbitmq_workers import workers as workers  # the fixture, used by name

pytestmark = pytest.mark.slow


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.jsonl")


def events(journal: str, event: str, job_id: str | None = None) -> list[dict[str, object]]:
    return [e for e in read(journal) if e["event"] == event and job_id in (None, e.get("job_id"))]


def test_a_job_due_beyond_one_ride_is_sent_down_the_ladder_again(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    # As a job due in 60 days arrives after the longest ride (49.7 days): early, with its due time.
    job = RecordJob(journal, "early")
    message = adapter.message(job, None)
    due = int(time.time() * 1000) + 1500
    headers = {**message.properties.headers, DUE_HEADER: due}
    publish_raw(adapter, "default", message.body, message_id="early", headers=headers)
    workers.start()
    [entry] = wait_until(lambda: events(journal, "end"), 20, "the early job to run")
    assert entry["ran_at"] * 1000 >= due


def test_garbage_payload_is_dead_lettered_with_its_raw_bytes(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    garbage = b"\xff\xfe not json {{{"
    publish_raw(adapter, "default", garbage, message_id="garbage")
    good = RecordJob.perform_later(journal, "after")
    workers.start(concurrency=1)
    wait_until(lambda: events(journal, "end", good.job_id), 15, "the job behind the garbage")
    [(properties, body)] = wait_until(lambda: peek(adapter, adapter.names.dead), 5, "a dead letter")
    assert body == garbage
    assert properties.message_id == "garbage"
    assert properties.headers["jobframe-reason"] == "undecodable payload"
    assert properties.headers["jobframe-queue"] == "default"
    error = json.loads(properties.headers["jobframe-error"])
    assert error["reason"] == "undecodable payload" and "traceback" in error
    wait_until(lambda: not peek(adapter, adapter.names.queue("default")), 5, "an empty queue")


def test_failed_job_is_dead_lettered_with_its_error(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    job = FailingJob.perform_later(journal)
    workers.start()
    [(properties, body)] = wait_until(lambda: peek(adapter, adapter.names.dead), 15, "dead letter")
    assert json.loads(body)["job_id"] == job.job_id
    assert properties.message_id == job.provider_job_id
    error = json.loads(properties.headers["jobframe-error"])
    assert error["class"] == "builtins.ValueError" and error["message"] == "fails on purpose"
    assert error["attempts"] == 1
