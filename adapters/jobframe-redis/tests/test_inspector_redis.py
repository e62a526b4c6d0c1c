"""The Redis inspector and the worker backend's state transitions, against the real server."""

from __future__ import annotations

from datetime import timedelta

import jobframe
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe_redis.adapter import RedisAdapter


class InspectedJob(jobframe.Job):
    queue_as = "inspected"

    def perform(self, n: int) -> None:
        pass


def _fail(adapter: RedisAdapter, count: int) -> list[str]:
    """Claim ``count`` jobs and report them failed, as a worker would."""
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], 1))
    claims = backend.fetch("p1", ["*"], count, 0)
    error = {"class": "ValueError", "message": "boom", "traceback": "Traceback...", "reason": "x"}
    backend.complete("p1", [Outcome(c, "failed", error, attempts=1) for c in claims])
    return [c.id for c in claims]


def test_queues_sizes_latency_pause_resume_clear(adapter: RedisAdapter) -> None:
    inspector = adapter.inspector()
    for n in range(3):
        InspectedJob.perform_later(n)
    InspectedJob.set(queue="other").perform_later(9)
    queues = {q.name: q for q in inspector.queues()}
    assert queues["inspected"].size == 3 and queues["other"].size == 1
    assert queues["inspected"].latency >= 0 and not queues["inspected"].paused
    inspector.pause("inspected")
    backend = adapter.worker_backend()
    assert [c.queue for c in backend.fetch("p", ["*"], 10, 0)] == ["other"]
    assert {q.name: q.paused for q in inspector.queues()}["inspected"] is True
    inspector.resume("inspected")
    assert inspector.clear("inspected") == 3
    assert inspector.count("ready", "inspected") == 0


def test_jobs_by_state_and_pagination(adapter: RedisAdapter) -> None:
    inspector = adapter.inspector()
    jobs = [InspectedJob(n) for n in range(7)]
    jobframe.perform_all_later(jobs)
    InspectedJob.set(wait=timedelta(hours=1)).perform_later(100)
    page = inspector.jobs("ready", offset=2, limit=3)
    assert [j.arguments["args"] for j in page] == [[2], [3], [4]]
    assert page[0].job_class and page[0].job_class.endswith("InspectedJob")
    assert inspector.count("ready") == 7 and inspector.count("scheduled") == 1
    (scheduled,) = inspector.jobs("scheduled")
    assert scheduled.scheduled_at is not None and scheduled.queue == "inspected"
    assert inspector.job(scheduled.id).state == "scheduled"  # type: ignore[union-attr]
    assert inspector.job(page[0].id).state == "ready"  # type: ignore[union-attr]
    assert inspector.job("missing") is None


def test_dead_jobs_retry_and_discard_one_and_all(adapter: RedisAdapter) -> None:
    inspector = adapter.inspector()
    jobframe.perform_all_later([InspectedJob(n) for n in range(4)])
    dead = _fail(adapter, 4)
    assert inspector.count("dead") == 4
    info = inspector.job(dead[0])
    assert info is not None and info.state == "dead"
    assert info.error == {"class": "ValueError", "message": "boom", "traceback": "Traceback...",
                          "reason": "x", "attempts": 1}  # fmt: skip
    assert inspector.stats()["failed"] == 4
    assert inspector.retry([dead[0]]) == 1
    assert inspector.count("ready", "inspected") == 1
    assert inspector.discard([dead[1]]) == 1
    assert inspector.retry(all=True) == 2
    assert inspector.count("dead") == 0 and inspector.count("ready") == 3
    _fail(adapter, 3)
    assert inspector.discard(all=True) == 3
    assert inspector.count("dead") == 0
    assert adapter.store.client.hlen(adapter.store.keys.jobs) == 0, "discarded payloads are deleted"


def test_workers_and_running_jobs(adapter: RedisAdapter) -> None:
    inspector = adapter.inspector()
    InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("w1", ["inspected"], 3))
    (claim,) = backend.fetch("w1", ["inspected"], 5, 0)
    (worker,) = inspector.workers()
    assert (worker.id, worker.queues, worker.concurrency, worker.running) == (
        "w1", ["inspected"], 3, [claim.id])  # fmt: skip
    (running,) = inspector.jobs("running")
    assert running.worker == "w1" and inspector.job(claim.id).state == "running"  # type: ignore[union-attr]
    backend.complete("w1", [Outcome(claim, "done")])
    assert inspector.jobs("running") == [] and inspector.stats()["processed"] == 1
    backend.deregister("w1")
    assert inspector.workers() == []


def test_a_stale_claim_cannot_finish_a_reaped_job(adapter: RedisAdapter) -> None:
    InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("dead-process", ["*"], 1))
    (claim,) = backend.fetch("dead-process", ["*"], 1, 0)
    adapter.store.client.zadd(adapter.store.keys.processes, {"dead-process": 0})  # expired
    assert backend.maintain(heartbeat_timeout=1, max_crashes=3)["requeued"] == 1
    backend.complete("dead-process", [Outcome(claim, "done")])  # too late: ignored
    assert adapter.inspector().count("ready") == 1
    assert adapter.inspector().stats()["processed"] == 0


def test_a_retry_is_written_only_with_its_claims_outcome(adapter: RedisAdapter) -> None:
    job = InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    inspector = adapter.inspector()
    backend.register(ProcessInfo("p1", ["*"], 1))
    (claim,) = backend.fetch("p1", ["*"], 1, 0)
    job.scheduled_at = job.now() + timedelta(minutes=5)
    retry = backend.retry_entry(job, adapter)
    assert retry is not None
    assert backend.retry_entry(job, RedisAdapter(adapter.store.url, prefix="elsewhere")) is None
    adapter.store.client.zadd(adapter.store.keys.processes, {"p1": 0})  # the process looks dead
    backend.maintain(heartbeat_timeout=1, max_crashes=3)
    backend.complete("p1", [Outcome(claim, "done", retries=(retry,))])
    assert inspector.count("scheduled") == 0, "a lost claim must not schedule a retry"
    (claim,) = backend.fetch("p2", ["*"], 1, 0)
    backend.complete("p2", [Outcome(claim, "done", retries=(retry,))])
    assert inspector.count("scheduled") == 1 and inspector.count("ready") == 0


def test_scheduled_jobs_run_now_or_are_discarded(adapter: RedisAdapter) -> None:
    inspector = adapter.inspector()
    jobs = [InspectedJob.set(wait=timedelta(hours=1)).perform_later(n) for n in range(3)]
    assert inspector.run_now([jobs[0].provider_job_id or ""]) == 1
    adapter.worker_backend().maintain(heartbeat_timeout=30, max_crashes=3)
    assert inspector.count("ready") == 1 and inspector.count("scheduled") == 2
    assert inspector.discard([jobs[1].provider_job_id or ""], state="scheduled") == 1
    assert inspector.discard(all=True, state="scheduled") == 1
    assert inspector.count("scheduled") == 0
    assert adapter.store.client.hlen(adapter.store.keys.jobs) == 1
