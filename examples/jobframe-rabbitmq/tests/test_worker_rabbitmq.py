"""Real ``jobframe work`` processes against the real RabbitMQ: crashes, scheduling, priorities,
graceful shutdown, and what lands in the dead-letter queue."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from jobframe_rabbitmq.scheduling import DUE_HEADER
from rabbitmq_jobs import FailingJob, RecordJob, SleepJob, read
from rabbitmq_workers import Workers, peek, publish_raw, wait_until
from rabbitmq_workers import workers as workers  # the fixture, used by name

pytestmark = pytest.mark.slow


@pytest.fixture
def journal(tmp_path: Path) -> str:
    return str(tmp_path / "journal.jsonl")


def events(journal: str, event: str, job_id: str | None = None) -> list[dict[str, object]]:
    return [e for e in read(journal) if e["event"] == event and job_id in (None, e.get("job_id"))]


def test_sigkill_mid_job_redelivers_it_and_it_completes(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    first = workers.start()
    job = SleepJob.perform_later(journal, 2.0)
    wait_until(lambda: events(journal, "start", job.job_id), 15, "the job to start")
    first.kill()  # SIGKILL: no shutdown, no release; the broker sees the connection close
    first.wait(10)
    assert not events(journal, "end")

    second = workers.start()
    wait_until(lambda: events(journal, "end", job.job_id), 20, "the redelivered job to end")
    starts = events(journal, "start", job.job_id)
    assert [s["pid"] for s in starts] == [first.pid, second.pid]
    assert len(events(journal, "end", job.job_id)) == 1
    wait_until(lambda: not peek(adapter, adapter.names.queue("default")), 5, "an empty queue")
    assert not peek(adapter, adapter.names.dead)


def test_scheduled_jobs_run_no_earlier_than_asked(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    workers.start()
    at = datetime.now(UTC) + timedelta(seconds=2.3)
    late = RecordJob.set(wait_until=at).perform_later(journal, "wait_until")
    soon = RecordJob.set(wait=timedelta(seconds=0.7)).perform_later(journal, "wait")
    now = RecordJob.perform_later(journal, "now")
    ended = wait_until(lambda: len(events(journal, "end")) == 3 and events(journal, "end"), 20, "3")
    ran = {e["tag"]: e["ran_at"] for e in ended}
    # The contract is "no earlier than asked", not an order: under load the worker may start after
    # the 0.7 s delay is over, and then "wait" rightly runs before "now".
    assert set(ran) == {"now", "wait", "wait_until"}
    assert ran["wait_until"] >= at.timestamp()
    assert soon.scheduled_at is not None and ran["wait"] >= soon.scheduled_at.timestamp()
    assert ran["wait_until"] < at.timestamp() + 10, "the delay ladder took far too long"
    assert now.provider_job_id and late.provider_job_id


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


def test_lower_priority_number_runs_first(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    for priority in (None, 7, 0, 3):
        RecordJob.set(priority=priority).perform_later(journal, str(priority))
    workers.start("--prefetch", "0", concurrency=1)
    ended = wait_until(lambda: len(events(journal, "end")) == 4 and events(journal, "end"), 20, "4")
    assert [e["tag"] for e in ended] == ["0", "3", "7", "None"]


def test_sigterm_releases_a_job_longer_than_the_shutdown_timeout(
    adapter: RabbitMQAdapter, workers: Workers, journal: str
) -> None:
    proc = workers.start("--shutdown-timeout", "0.3")
    job = SleepJob.perform_later(journal, 3.0)
    wait_until(lambda: events(journal, "start", job.job_id), 15, "the job to start")
    proc.terminate()
    assert proc.wait(10) == 0
    queued = peek(adapter, adapter.names.queue("default"))
    assert [props.message_id for props, _ in queued] == [job.provider_job_id]
    assert not events(journal, "end")


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
