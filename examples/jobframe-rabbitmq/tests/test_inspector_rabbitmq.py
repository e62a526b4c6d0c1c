"""The RabbitMQ inspector against the real broker: listing leaves every message in place, retry,
run-now, discard and clear move or remove exactly the jobs named, what AMQP cannot tell is
declared, and ``jobframe queues|jobs|retry|discard`` work on it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from jobframe_rabbitmq.inspector import (
    BrokerUnavailable,
    RabbitMQInspector,
    UnsupportedInspection,
)
from jobframe_rabbitmq.messages import dead_message
from rabbitmq_jobs import FailingJob, RecordJob, read
from rabbitmq_workers import peek, wait_until
from tcp_proxy import Proxy

import jobframe
from jobframe.cli import main
from jobframe.worker.runtime import Worker, WorkerOptions


def bury(adapter: RabbitMQAdapter, job: jobframe.Job, message: str = "it broke") -> None:
    """Put ``job`` in the dead-letter queue as a worker does when it fails for good."""
    body = json.dumps(job.serialize()).encode()
    error = {"class": "builtins.ValueError", "message": message, "traceback": "Traceback..."}
    error |= {"reason": "failed", "attempts": 1}
    assert job.provider_job_id is None
    job.provider_job_id = f"dead-{job.job_id}"
    dead = dead_message(adapter.names, job.queue_name, job.provider_job_id, body, error)
    adapter.publisher.publish([dead])


def ids(jobs: list[jobframe.Job]) -> list[str | None]:
    return [job.provider_job_id for job in jobs]


def test_listing_ready_and_scheduled_jobs_leaves_them_in_place(adapter: RabbitMQAdapter) -> None:
    inspector = adapter.inspector()
    assert isinstance(inspector, RabbitMQInspector) and adapter.inspector() is inspector
    ready = [RecordJob.set(queue="alpha").perform_later("j", str(i)) for i in range(3)]
    other = RecordJob.set(queue="beta", priority=2).perform_later("j", "beta")
    now = datetime.now(UTC)
    later = RecordJob.set(wait=timedelta(hours=2)).perform_later("j", "later")
    sooner = RecordJob.set(wait=timedelta(hours=1), queue="alpha").perform_later("j", "sooner")

    queues = {q.name: q.size for q in inspector.queues()}
    assert queues["alpha"] == 3 and queues["beta"] == 1
    assert inspector.count("ready") == 4 and inspector.count("ready", "alpha") == 3
    assert [i.id for i in inspector.jobs("ready", "alpha")] == ids(ready)
    assert [i.id for i in inspector.jobs("ready", "alpha", offset=1, limit=1)] == ids(ready[1:2])
    [listed] = inspector.jobs("ready", "beta")
    assert (listed.job_class, listed.job_id, listed.priority) == (
        "rabbitmq_tests.RecordJob",
        other.job_id,
        2,
    )
    assert listed.arguments["args"] == ["j", "beta"]

    assert inspector.count("scheduled") == 2 and inspector.count("scheduled", "alpha") == 1
    scheduled = inspector.jobs("scheduled")
    assert [i.id for i in scheduled] == ids([sooner, later])  # soonest due first
    assert scheduled[0].queue == "alpha" and scheduled[1].queue == "default"
    due = scheduled[1].scheduled_at
    assert due is not None
    assert now + timedelta(hours=2) <= due < now + timedelta(hours=2, seconds=30)

    # Nothing was consumed: every message is still in its queue, in its order.
    assert [p.message_id for p, _ in peek(adapter, adapter.names.queue("alpha"))] == ids(ready)
    assert inspector.count("ready") == 4 and inspector.count("scheduled") == 2
    assert inspector.job(str(later.provider_job_id)).state == "scheduled"  # type: ignore[union-attr]
    assert inspector.job(str(ready[2].provider_job_id)).queue == "alpha"  # type: ignore[union-attr]
    assert inspector.job("no-such-id") is None


def redelivered(adapter: RabbitMQAdapter, queue: str) -> list[bool]:
    """For each message of a RabbitMQ queue, in order: whether anyone has read it before."""
    connection = pika.BlockingConnection(pika.URLParameters(adapter.url))
    try:
        channel = connection.channel()
        flags = []
        while True:
            method, _properties, _body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                return flags
            flags.append(bool(method.redelivered))
    finally:
        connection.close()  # puts them all back


def test_a_page_or_a_lookup_reads_only_the_messages_up_to_what_it_wants(
    adapter: RabbitMQAdapter,
) -> None:
    jobs = [RecordJob("j", str(i)) for i in range(6)]
    jobframe.perform_all_later(jobs)
    inspector = adapter.inspector()
    [second] = inspector.jobs("ready", offset=1, limit=1)
    assert second.arguments["args"] == ["j", "1"]
    found = inspector.job(str(jobs[3].provider_job_id))
    assert found is not None and found.arguments["args"] == ["j", "3"]
    assert redelivered(adapter, adapter.names.queue("default")) == [True] * 4 + [False] * 2


def test_dead_jobs_are_shown_retried_and_discarded(adapter: RabbitMQAdapter) -> None:
    inspector = adapter.inspector()
    jobs = [RecordJob("j", str(i)).set(queue="mail", priority=0) for i in range(5)]
    for job in jobs:
        bury(adapter, job)
    assert inspector.count("dead") == 5
    assert inspector.retry(ids=[str(jobs[0].provider_job_id)]) == 1
    # Found at the head: the jobs behind it were not even read.
    assert redelivered(adapter, adapter.names.dead) == [False] * 4
    assert inspector.discard(ids=[str(jobs[0].provider_job_id)]) == 0, "ready, not dead"
    assert inspector.clear("mail") == 1

    assert inspector.count("dead", "mail") == 4 and inspector.count("dead", "other") == 0
    first = inspector.jobs("dead")[0]
    assert first.id == jobs[1].provider_job_id and first.job_id == jobs[1].job_id
    assert first.error is not None and first.error["message"] == "it broke"
    assert first.failed_at is not None and first.queue == "mail"

    assert inspector.retry(ids=[str(jobs[1].provider_job_id), "unknown"]) == 1
    [(properties, body)] = peek(adapter, adapter.names.queue("mail"))
    assert properties.message_id == jobs[1].provider_job_id
    assert json.loads(body)["job_id"] == jobs[1].job_id
    assert properties.priority == adapter.topology.max_priority + 1  # jobframe priority 0
    assert "jobframe-error" not in properties.headers

    assert inspector.discard(ids=[str(jobs[2].provider_job_id)]) == 1
    left = [i.id for i in inspector.jobs("dead")]
    assert left == ids(jobs[3:])  # the others kept their place
    assert inspector.retry(all=True) == 2
    assert inspector.count("dead") == 0 and inspector.count("ready", "mail") == 3


def test_a_job_that_failed_in_a_worker_is_dead_and_can_be_retried(
    adapter: RabbitMQAdapter, tmp_path: Path
) -> None:
    inspector = adapter.inspector()
    job = FailingJob.perform_later(str(tmp_path / "journal"))
    raw_id = adapter.enqueue_raw("default", b"\xff not a job")
    worker = Worker(adapter.worker_backend(), WorkerOptions(queues=["default"], concurrency=2))
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        wait_until(lambda: inspector.count("dead") == 2, 20, "two dead jobs")
    finally:
        worker.stop()
        thread.join(15)
    assert not thread.is_alive()
    failed = inspector.job(str(job.provider_job_id))
    assert failed is not None and failed.state == "dead"
    assert failed.error is not None and failed.error["class"] == "builtins.ValueError"
    garbage = inspector.job(raw_id)
    assert garbage is not None and garbage.job_class is None and garbage.raw == b"\xff not a job"
    assert inspector.retry(all=True) == 2
    assert sorted(p.message_id for p, _ in peek(adapter, adapter.names.queue("default"))) == sorted(
        [job.provider_job_id, raw_id]
    )


@pytest.mark.parametrize("action", ["run_now", "discard"])
def test_scheduled_jobs_run_now_or_are_discarded(adapter: RabbitMQAdapter, action: str) -> None:
    inspector = adapter.inspector()
    jobs = [RecordJob.set(wait=timedelta(hours=1)).perform_later("j", str(i)) for i in range(3)]
    if action == "run_now":
        assert inspector.run_now(ids=[str(jobs[0].provider_job_id)]) == 1
        assert inspector.run_now(all=True) == 2
    else:
        assert inspector.discard(ids=[str(jobs[0].provider_job_id)], state="scheduled") == 1
        assert inspector.discard(all=True, state="scheduled") == 2
    assert inspector.count("scheduled") == 0
    ready = [p.message_id for p, _ in peek(adapter, adapter.names.queue("default"))]
    assert sorted(ready) == (sorted(ids(jobs)) if action == "run_now" else [])
    if action == "run_now":
        [(properties, _)] = peek(adapter, adapter.names.queue("default"))[:1]
        assert "jobframe-due" not in properties.headers


def test_clear_deletes_the_ready_jobs_of_one_queue(adapter: RabbitMQAdapter) -> None:
    inspector = adapter.inspector()
    for i in range(3):
        RecordJob.set(queue="purge").perform_later("j", str(i))
    RecordJob.perform_later("j", "kept")
    assert inspector.clear("purge") == 3
    assert inspector.clear("never-declared") == 0
    assert inspector.count("ready") == 1
    too_long = "q" * 300  # no RabbitMQ queue can have this name: it holds nothing
    assert inspector.clear(too_long) == 0 and inspector.count("ready", too_long) == 0
    assert inspector.jobs("ready", too_long) == []


def test_what_amqp_cannot_tell_is_declared_not_made_up(adapter: RabbitMQAdapter) -> None:
    inspector = adapter.inspector()
    flags = (inspector.counts_outcomes, inspector.counts_pending, inspector.sees_workers)
    assert flags == (False, False, False), "the inspector claims to tell what AMQP cannot"
    RecordJob.perform_later("j", "waiting")
    assert inspector.jobs("running") == [] and inspector.count("running") == 0
    assert inspector.workers() == [] and inspector.stats() == {}
    assert inspector.history("processed") == {} and inspector.history("failed", 0) == {}
    assert [q.latency for q in inspector.queues()] == [0.0]
    with pytest.raises(UnsupportedInspection, match="cannot pause a queue"):
        inspector.pause("default")
    with pytest.raises(UnsupportedInspection, match="resume"):
        inspector.resume("default")
    with pytest.raises(NotImplementedError, match="unacknowledged"):
        inspector.pending()
    with pytest.raises(ValueError, match="supports_search is False"):
        inspector.jobs("ready", search="waiting")


def test_the_admin_commands_work_on_rabbitmq(
    adapter: RabbitMQAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    waiting = RecordJob.set(queue="cli").perform_later("j", "waiting")
    dead = RecordJob("j", "dead").set(queue="cli")
    bury(adapter, dead, "boom in the cli")
    assert main(["queues"]) == 0
    assert "cli" in capsys.readouterr().out
    assert main(["jobs", "--queue", "cli"]) == 0
    assert str(waiting.provider_job_id) in capsys.readouterr().out
    assert main(["jobs", "--failed"]) == 0
    assert "boom in the cli" in capsys.readouterr().out
    assert main(["jobs", "show", str(waiting.job_id)]) == 0  # found by the application's job_id
    shown = capsys.readouterr().out
    assert f"ID:        {waiting.provider_job_id}" in shown and "STATE:     ready" in shown
    assert main(["retry", str(dead.job_id)]) == 0  # by the application's job_id
    assert "retry: 1 job(s)" in capsys.readouterr().out
    assert adapter.inspector().count("ready", "cli") == 2
    assert main(["discard", "--all"]) == 0
    assert main(["pause", "cli"]) == 1
    assert "cannot pause a queue" in capsys.readouterr().err


def test_browsing_while_a_worker_consumes_loses_and_repeats_nothing(
    adapter: RabbitMQAdapter, tmp_path: Path
) -> None:
    inspector = adapter.inspector()
    journal = str(tmp_path / "journal.jsonl")
    jobframe.perform_all_later([RecordJob(journal, str(i)) for i in range(40)])
    worker = Worker(adapter.worker_backend(), WorkerOptions(queues=["default"], concurrency=2))
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:

        def drained() -> bool:
            # Each listing holds the messages it reads, in the middle of the worker's fetches.
            inspector.jobs("ready", limit=10)
            inspector.job("no-such-id")
            return len(read(journal)) >= 40 and inspector.count("ready") == 0

        wait_until(drained, 30, "the worker to run every job while pages are listed")
    finally:
        worker.stop()
        thread.join(15)
    assert not thread.is_alive()
    assert sorted(int(e["tag"]) for e in read(journal)) == list(range(40))


def test_an_unreachable_broker_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "s3cr%2Ft-pw"  # percent-encoded in the URL: "s3cr/t-pw" once decoded
    unreachable = RabbitMQAdapter(f"amqp://guest:{password}@127.0.0.1:1/%2F", prefix="gone")
    with pytest.raises(BrokerUnavailable, match=r"RabbitMQ at 127\.0\.0\.1:1 .*JOBFRAME_URL"):
        unreachable.inspector().count("ready")
    monkeypatch.setenv("JOBFRAME_ADAPTER", "rabbitmq")
    monkeypatch.setenv("JOBFRAME_URL", f"amqp://guest:{password}@127.0.0.1:1/%2F")
    assert main(["queues"]) == 1
    err = capsys.readouterr().err
    assert "cannot talk to RabbitMQ at 127.0.0.1:1" in err
    assert "s3cr" not in err
    unreachable.shutdown()


def test_the_inspector_reconnects_after_a_dropped_connection(
    adapter: RabbitMQAdapter, prefix: str
) -> None:
    RecordJob.perform_later("j", "kept")
    proxy = Proxy(("127.0.0.1", 5672))
    via_proxy = RabbitMQAdapter(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F", prefix=prefix)
    try:
        inspector = via_proxy.inspector()
        assert inspector.count("ready") == 1
        proxy.cut()  # as a broker restart or a network failure would
        assert wait_until(lambda: _count(inspector), 10, "an answer after the cut") == 1
    finally:
        via_proxy.shutdown()
        proxy.close()


def _count(inspector: RabbitMQInspector) -> int | None:
    """The ready count, or None while the broker is being reached again."""
    try:
        return inspector.count("ready")
    except BrokerUnavailable:
        return None
