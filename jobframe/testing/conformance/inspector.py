"""The whole `jobframe.inspection.Inspector` of a backend, driven through its worker backend the
way a worker drives it: queues, counts, listing and paging, job detail, the dead set, running
jobs and workers, pause and resume, run-now, stats and history, and the guarded transitions (a
claim taken back by the reaper can neither finish its job nor schedule its retry)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import Inspector
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
    tells,
    unfinished,
)
from jobframe.testing.conformance_jobs import RecordingJob
from jobframe.testing.workers import wait_until

ERROR = {"class": "ValueError", "message": "boom", "traceback": "Traceback...", "reason": "x"}


def _inspected(adapter: QueueAdapter) -> tuple[Inspector, WorkerBackend]:
    return require_inspector(adapter), require_worker_backend(adapter)


def _claim(backend: WorkerBackend, process: str, count: int) -> list[Claim]:
    backend.register(ProcessInfo(process, ["*"], count))
    claims: list[Claim] = []
    while len(claims) < count:
        wanted = count - len(claims)

        def fetch(n: int = wanted) -> list[Claim]:
            return backend.fetch(process, ["*"], n, 0.2)

        claims += wait_until(fetch, 10, f"{wanted} ready jobs")
    return claims


def _fail(backend: WorkerBackend, count: int) -> list[str]:
    """Claim ``count`` jobs and report them failed, as a worker would."""
    claims = _claim(backend, "p-fail", count)
    backend.complete("p-fail", [Outcome(c, "failed", dict(ERROR), attempts=1) for c in claims])
    backend.deregister("p-fail")
    return [c.id for c in claims]


def _reap(backend: WorkerBackend) -> None:
    """Let maintenance find every registered process dead (a heartbeat timeout of 50 ms)."""
    wait_until(lambda: backend.maintain(0.05, 3).get("requeued"), 10, "the reaper to requeue")


def _job(n: int, queue: str = "inspected", **options: Any) -> jobframe.Job:
    return RecordingJob.set(queue=queue, **options).perform_later("/dev/null", str(n))


class InspectorTests(ConformanceBase):
    def test_queues_sizes_latency_pause_resume_clear(self, quiet: QueueAdapter) -> None:
        inspector, backend = _inspected(quiet)
        require(quiet, "pause")
        for n in range(3):
            _job(n)
        _job(9, queue="other")
        queues = {q.name: q for q in inspector.queues()}
        assert queues["inspected"].size == 3 and queues["other"].size == 1
        assert 0 <= queues["inspected"].latency < 60 and not queues["inspected"].paused
        inspector.pause("inspected")
        inspector.pause("inspected")  # twice is fine
        backend.register(ProcessInfo("p", ["*"], 10))
        claims = wait_until(lambda: backend.fetch("p", ["*"], 10, 0.2), 10, "a ready job")
        assert [c.queue for c in claims] == ["other"], "a paused queue was fetched from"
        assert {q.name: q.paused for q in inspector.queues()}["inspected"] is True
        inspector.resume("inspected")
        assert {q.name: q.paused for q in inspector.queues()}["inspected"] is False
        assert inspector.clear("inspected") == 3
        assert inspector.count("ready", "inspected") == 0
        assert inspector.count("running") == 1, "clear leaves other queues' and running jobs alone"
        backend.complete("p", [Outcome(c, "done") for c in claims])
        backend.deregister("p")

    def test_a_paused_queue_waits_for_resume(self, active: QueueAdapter, journal: str) -> None:
        require(active, "pause")
        inspector = require_inspector(active)
        inspector.pause("held")
        RecordingJob.set(queue="held").perform_later(journal, "held")
        RecordingJob.perform_later(journal, "free")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "free")
        assert inspector.count("ready", "held") == 1, "a job of a paused queue ran"
        inspector.resume("held")
        self._wait_for(active, journal, 1, lambda e: e["tag"] == "held")

    def test_jobs_by_state_and_pagination(self, quiet: QueueAdapter) -> None:
        inspector, _ = _inspected(quiet)
        require(quiet, "delay")
        jobs = [RecordingJob("/dev/null", str(n)) for n in range(7)]
        RecordingJob.set(queue="inspected").perform_all_later(jobs)
        later = _job(200, wait=timedelta(hours=2))
        sooner = _job(100, wait=timedelta(hours=1))
        page = inspector.jobs("ready", offset=2, limit=3)
        assert [j.arguments["args"][1] for j in page] == ["2", "3", "4"]
        assert page[0].job_class == RecordingJob.job_name and page[0].queue == "inspected"
        assert page[0].enqueued_at is not None
        assert inspector.count("ready") == 7 and inspector.count("scheduled") == 2
        assert inspector.count("ready", "elsewhere") == 0
        scheduled = inspector.jobs("scheduled")
        assert [j.id for j in scheduled] == [sooner.provider_job_id, later.provider_job_id]
        assert scheduled[0].scheduled_at is not None and scheduled[0].queue == "inspected"
        assert inspector.job(later.provider_job_id or "").state == "scheduled"  # type: ignore[union-attr]
        assert inspector.job(page[0].id).state == "ready"  # type: ignore[union-attr]
        assert inspector.job("missing") is None
        assert unfinished(inspector) == 9

    def test_dead_jobs_keep_the_error_and_retry_and_discard_one_and_all(
        self, quiet: QueueAdapter
    ) -> None:
        """The daily count of failures is checked where the inspector `counts_outcomes`."""
        inspector, backend = _inspected(quiet)
        jobframe.perform_all_later([RecordingJob("/dev/null", str(n)) for n in range(4)])
        dead = _fail(backend, 4)
        assert inspector.count("dead") == 4 and inspector.count("ready") == 0
        info = inspector.job(dead[0])
        assert info is not None and info.state == "dead"
        assert info.error == {**ERROR, "attempts": 1}
        assert info.raw and RecordingJob.job_name.encode() in info.raw
        if tells(inspector, "counts_outcomes"):
            assert inspector.stats()["failed"] == 4
        assert inspector.retry([dead[0]]) == 1
        retried = inspector.job(dead[0])
        assert retried is not None and retried.state == "ready" and retried.error is None
        assert inspector.discard([dead[1]]) == 1
        assert inspector.job(dead[1]) is None
        assert inspector.discard([dead[0]]) == 0, "a ready job is not a dead one"
        assert inspector.retry(all=True) == 2
        assert inspector.count("dead") == 0 and inspector.count("ready") == 3
        _fail(backend, 3)
        assert inspector.discard(all=True) == 3
        assert inspector.count("dead") == 0 and unfinished(inspector) == 0

    def test_a_retried_dead_job_runs_again(self, quiet: QueueAdapter) -> None:
        """Its two runs are counted where the inspector `counts_outcomes`."""
        inspector, backend = _inspected(quiet)
        RecordingJob.perform_later("/dev/null", "again")
        (failed,) = _fail(backend, 1)
        inspector.retry([failed])
        (claim,) = _claim(backend, "p2", 1)
        assert claim.id == failed
        backend.complete("p2", [Outcome(claim, "done", attempts=2)])
        backend.deregister("p2")
        assert inspector.count("dead") == 0
        if tells(inspector, "counts_outcomes"):
            assert inspector.stats() == {"processed": 2, "failed": 1}

    def test_workers_running_jobs_stats_and_history(self, quiet: QueueAdapter) -> None:
        """Workers and running jobs are checked where the inspector `sees_workers`, stats and
        history where it `counts_outcomes`; a running job is never discarded, and a finished
        one is gone, on every backend."""
        inspector, backend = _inspected(quiet)
        sees, counted = tells(inspector, "sees_workers"), tells(inspector, "counts_outcomes")
        _job(1)
        backend.register(ProcessInfo("w1", ["inspected"], 3))
        (claim,) = wait_until(lambda: backend.fetch("w1", ["inspected"], 5, 0.2), 10, "a job")
        if sees:
            (worker,) = inspector.workers()
            assert (worker.id, worker.queues, worker.concurrency, worker.running) == (
                "w1", ["inspected"], 3, [claim.id])  # fmt: skip
            assert worker.heartbeat_at >= worker.started_at - timedelta(seconds=1)
            (running,) = inspector.jobs("running")
            assert running.worker == "w1" and inspector.job(claim.id).state == "running"  # type: ignore[union-attr]
        else:
            assert inspector.workers() == [] and inspector.count("running") == 0
        with pytest.raises(ValueError, match="running"):
            inspector.discard([claim.id], state="running")
        backend.complete("w1", [Outcome(claim, "done")])
        assert inspector.jobs("running") == []
        if counted:
            assert inspector.stats()["processed"] == 1
            assert sum(inspector.history("processed").values()) == 1
        else:
            assert inspector.stats() == {} and inspector.history("processed") == {}
        assert inspector.job(claim.id) is None, "finished jobs are not listed"
        backend.deregister("w1")
        assert inspector.workers() == []

    def test_scheduled_jobs_run_now_or_are_discarded(self, quiet: QueueAdapter) -> None:
        inspector, backend = _inspected(quiet)
        require(quiet, "delay")
        jobs = [_job(n, wait=timedelta(hours=1)) for n in range(3)]
        assert inspector.run_now([jobs[0].provider_job_id or ""]) == 1
        # Run now makes the job due; the backend's maintenance may be what moves it to its queue.
        wait_until(lambda: backend.maintain(30, 3) is not None and inspector.count("ready") == 1,
                   10, "the job to be ready")  # fmt: skip
        assert inspector.count("scheduled") == 2
        assert inspector.discard([jobs[1].provider_job_id or ""], state="scheduled") == 1
        assert inspector.discard(all=True, state="scheduled") == 1
        assert inspector.count("scheduled") == 0 and inspector.count("ready") == 1
        assert unfinished(inspector) == 1, "a discarded scheduled job is still stored"

    def test_a_stale_claim_cannot_finish_a_reaped_job(self, quiet: QueueAdapter) -> None:
        """Not applicable to a backend without a reaper (`reaps`)."""
        inspector, backend = _inspected(quiet)
        require(quiet, "durable")
        self.require_reaper(quiet)
        _job(1)
        (claim,) = _claim(backend, "dead-process", 1)
        _reap(backend)
        backend.complete("dead-process", [Outcome(claim, "done")])  # too late: ignored
        backend.complete("dead-process", [Outcome(claim, "failed", dict(ERROR))])  # ignored too
        assert inspector.count("ready") == 1 and inspector.count("dead") == 0
        if tells(inspector, "counts_outcomes"):
            assert inspector.stats() == {"processed": 0, "failed": 0}
        (again,) = _claim(backend, "alive", 1)
        assert again.id == claim.id and again.token != claim.token
        backend.complete("dead-process", [Outcome(claim, "done")])  # the old token still can't
        if tells(inspector, "sees_workers"):
            assert inspector.job(claim.id).worker == "alive"  # type: ignore[union-attr]

    def test_a_retry_is_written_only_with_its_claims_outcome(self, quiet: QueueAdapter) -> None:
        """Not applicable to a backend without a reaper (`reaps`)."""
        inspector, backend = _inspected(quiet)
        require(quiet, "durable")
        self.require_reaper(quiet)
        job = _job(1)
        (claim,) = _claim(backend, "p1", 1)
        job.scheduled_at = job.now() + timedelta(minutes=5)
        retry = backend.retry_entry(job, quiet)
        assert retry is not None
        _reap(backend)  # the process looks dead: its claim is taken back
        backend.complete("p1", [Outcome(claim, "done", retries=(retry,))])
        assert inspector.count("scheduled") == 0, "a lost claim must not schedule a retry"
        (claim,) = _claim(backend, "p2", 1)
        backend.complete("p2", [Outcome(claim, "done", retries=(retry,))])
        assert inspector.count("scheduled") == 1 and inspector.count("ready") == 0
