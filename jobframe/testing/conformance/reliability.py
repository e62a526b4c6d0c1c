"""The worker's reliability with real ``jobframe work`` processes (DESIGN.md section 3): a job
whose process is SIGKILLed runs again and nothing is lost, SIGTERM lets running jobs finish and
releases the rest, a second signal releases at once, a poison pill ends in the dead set, and
hostile payloads written with ``enqueue_raw`` go to the dead set without stopping the worker."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance.base import ConformanceBase, counts, idle, require, tells
from jobframe.testing.conformance.base import require_inspector as inspector_of
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.reliability_jobs import KillerJob, RecordJob, SleepJob
from jobframe.testing.workers import Journal, wait_until


def settled(adapter: QueueAdapter, dead: int = 0) -> None:
    """When the backend has an inspector: every claim acknowledged, nothing left but ``dead``."""
    inspector = adapter.inspector()
    if inspector is not None:
        wait_until(lambda: counts(inspector) == idle(dead), 15, f"idle with {dead} dead jobs")


class ReliabilityTests(ConformanceBase):
    @pytest.fixture(name="log")
    def journal_of_workers(self, tmp_path: Path) -> Journal:
        return Journal(tmp_path / "reliability.jsonl")

    @pytest.mark.slow
    def test_sigkill_mid_job_reruns_on_another_process(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal
    ) -> None:
        """No failure is counted where the inspector `counts_outcomes`, and only the survivor
        is registered where it `sees_workers`."""
        first, second = workers.start(concurrency=2), workers.start(concurrency=2)
        job = SleepJob.perform_later(log.name, 1.5)
        start = wait_until(lambda: log.started(job.job_id), 20, "the job to start")[0]
        victim, survivor = (first, second) if start["pid"] == first.pid else (second, first)
        workers.kill(victim)
        rerun = wait_until(lambda: log.started(job.job_id)[1:], 20, "the job to run again")[0]
        assert rerun["pid"] == survivor.pid
        crashes = self.crashes(adapter, job.provider_job_id or "")
        assert crashes in (None, 1), f"the crash was counted {crashes} times, not once"
        wait_until(lambda: log.ended()[job.job_id], 20, "the rerun to end")
        settled(adapter)
        assert log.ended() == {job.job_id: 1}
        inspector = adapter.inspector()
        if inspector is not None and tells(inspector, "counts_outcomes"):
            assert inspector.stats()["failed"] == 0
        if inspector is not None and tells(inspector, "sees_workers"):
            wait_until(lambda: [w.pid for w in inspector.workers()] == [survivor.pid], 15,
                       "only the survivor to be registered")  # fmt: skip

    @pytest.mark.slow
    def test_sigterm_finishes_short_jobs_and_releases_long_ones(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal
    ) -> None:
        """The finished run is counted where the inspector `counts_outcomes`, and the stopped
        process deregistered where it `sees_workers`."""
        proc = workers.start("--shutdown-timeout", "2", concurrency=2)
        short = SleepJob.perform_later(log.name, 0.5, tag="short")
        long = SleepJob.perform_later(log.name, 4.0, tag="long")
        wait_until(lambda: log.started(short.job_id) and log.started(long.job_id), 20,
                   "both jobs to start")  # fmt: skip
        workers.terminate(proc)
        assert proc.wait(20) == 0
        assert log.ended() == {short.job_id: 1}, "the short job did not finish"
        inspector = adapter.inspector()
        if inspector is not None:
            assert counts(inspector) == {**idle(), "ready": 1}
            if tells(inspector, "counts_outcomes"):
                assert inspector.stats() == {"processed": 1, "failed": 0}
            assert not inspector.workers(), "the stopped process is still registered"
            released = inspector.job(long.provider_job_id or "")
            assert released is not None and released.state == "ready"
            assert (released.error, released.worker) == (None, None), "a release is no failure"
        crashes = self.crashes(adapter, long.provider_job_id or "")
        assert crashes in (None, 0), "a release was counted as a crash"
        workers.start()
        wait_until(lambda: log.ended()[long.job_id], 30, "a new worker to run the released job")
        assert len(log.started(long.job_id)) == 2
        settled(adapter)

    @pytest.mark.slow
    def test_second_sigterm_releases_at_once(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal
    ) -> None:
        proc = workers.start("--shutdown-timeout", "60")
        job = SleepJob.perform_later(log.name, 30.0)
        wait_until(lambda: log.started(job.job_id), 20, "the job to start")
        workers.terminate(proc)
        wait_until(lambda: "finishing running jobs" in workers.logs(), 10, "the first SIGTERM")
        workers.terminate(proc)
        assert proc.wait(10) == 0, "a second SIGTERM did not release at once"
        assert not log.ended()
        inspector = adapter.inspector()
        if inspector is not None:
            assert counts(inspector) == {**idle(), "ready": 1}

    @pytest.mark.slow
    def test_a_signal_to_the_process_group_of_a_supervisor_lets_jobs_finish(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal
    ) -> None:
        """Ctrl-C in a terminal or systemd's KillMode=control-group signal every process: each
        child gets SIGTERM directly and again from the supervisor. That is one request to stop."""
        supervisor = workers.start("--processes", "2", "--shutdown-timeout", "15", concurrency=1)
        jobs = [SleepJob.perform_later(log.name, 1.5) for _ in range(2)]
        wait_until(lambda: all(log.started(j.job_id) for j in jobs), 30, "both jobs to start")
        os.killpg(supervisor.pid, signal.SIGTERM)  # each worker runs in a session of its own
        wait_until(lambda: workers.logs().count("finishing running jobs") >= 2, 15, "the signal")
        workers.terminate(supervisor)  # forwarded to the children again at once
        assert supervisor.wait(30) == 0
        assert log.ended() == {job.job_id: 1 for job in jobs}, "a running job was released"
        assert "releasing running jobs now" not in workers.logs()
        settled(adapter)

    @pytest.mark.slow
    def test_poison_pill_goes_to_the_dead_set(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal
    ) -> None:
        inspector = inspector_of(adapter)
        workers.start("--processes", "2", "--max-crashes", "2", concurrency=1)
        pill = KillerJob.perform_later(log.name)
        dead = wait_until(lambda: inspector.jobs("dead"), 45, "the poison pill to be dead")
        assert [d.id for d in dead] == [pill.provider_job_id]
        assert len(log.started(pill.job_id)) == 2, "it ran more often than --max-crashes"
        reason = (dead[0].error or {})["reason"]
        assert "poison pill" in reason and "2 times" in reason
        assert dead[0].job_class == KillerJob.job_name
        after = RecordJob.perform_later(log.name, "after")
        wait_until(lambda: log.ended()[after.job_id], 30, "a normal job after the pill")
        assert len(log.started(pill.job_id)) == 2
        settled(adapter, dead=1)

    @pytest.mark.slow
    def test_hostile_raw_payloads_are_dead_and_nothing_runs(
        self, adapter: QueueAdapter, workers: WorkerHarness, log: Journal, tmp_path: Path
    ) -> None:
        require(adapter, "raw_payloads")
        marker = tmp_path / "pwned"
        template = RecordJob(log.name, "template").serialize()
        payloads = {
            "garbage": b"\xff\xfe not json {{{",
            "unknown": {**template, "job_class": "nowhere.NoSuchJob"},
            "os.system": {**template, "job_class": "os.system", "arguments": [f"touch {marker}"]},
            "subprocess": {
                **template,
                "job_class": "subprocess.getoutput",
                "arguments": [f"touch {marker}"],
            },
        }
        raw = {name: p if isinstance(p, bytes) else json.dumps(p).encode()
               for name, p in payloads.items()}  # fmt: skip
        ids = {name: adapter.enqueue_raw("default", body) for name, body in raw.items()}
        good = [RecordJob.perform_later(log.name, str(i)) for i in range(5)]
        workers.start(concurrency=1)
        wait_until(lambda: len(log.ended()) == 5, 30, "the good jobs behind the hostile ones")
        assert log.ended() == {job.job_id: 1 for job in good}
        assert not marker.exists(), "a payload made the worker call os.system"
        inspector = adapter.inspector()
        if inspector is not None:
            wait_until(lambda: inspector.count("dead") == 4, 15, "the hostile payloads to be dead")
            dead = {info.id: info for info in inspector.jobs("dead")}
            assert set(dead) == set(ids.values())
            for name, id in ids.items():
                assert dead[id].raw == raw[name], name
                reason = "undecodable payload" if name == "garbage" else "unknown job class"
                assert (dead[id].error or {})["reason"] == reason, name
            settled(adapter, dead=4)
        assert all(p.poll() is None for p in workers.procs), "the worker died"
