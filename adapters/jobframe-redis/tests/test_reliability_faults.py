"""Reliability against Redis faults: a server restarted under a running worker, and an enqueue
while Redis is down (DESIGN.md section 3, "Faults")."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_support import Journal, Workers, free_port, wait_until, write_config

import jobframe
from jobframe import queue_adapters
from jobframe.backend.worker import Outcome
from jobframe.errors import JobTimeout
from jobframe.testing.reliability_jobs import SleepJob
from jobframe.testing.services import RedisServer, port_open, redis_server
from jobframe.worker.runtime import Worker, WorkerOptions
from jobframe_redis.adapter import RedisAdapter


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private, append-only-file-backed redis-server the test can stop and start again."""
    folder = tmp_path / "redis"
    folder.mkdir()
    aof = ("--appendonly", "yes", "--appendfsync", "always")
    with redis_server(folder, *aof) as server:
        yield server


@pytest.mark.slow
def test_worker_survives_a_redis_restart(own_redis: RedisServer, tmp_path: Path) -> None:
    write_config(tmp_path / "app", own_redis.url, "restart")
    journal = Journal(tmp_path / "journal.jsonl")
    adapter = RedisAdapter(own_redis.url, prefix="restart")
    workers = Workers(tmp_path / "app")
    try:
        # A longer heartbeat timeout: the outage below must not make the worker look dead.
        workers.start("--heartbeat-timeout", "10", concurrency=4)
        with queue_adapters.override(adapter):
            jobs = [SleepJob(journal.name, 0.05, tag=str(i)) for i in range(120)]
            jobframe.perform_all_later(jobs)
        wait_until(lambda: len(journal.ended()) >= 10, 15, "the worker to get going")

        own_redis.stop()
        assert not port_open("127.0.0.1", own_redis.port)
        done_during_outage = len(journal.ended())
        wait_until(lambda: "failed" in workers.logs(), 10, "the worker to notice the outage")
        own_redis.start()

        ids = {job.job_id for job in jobs}
        wait_until(lambda: set(journal.ended()) >= ids, 60, "every job to end after the restart")
        assert len(journal.ended()) > done_during_outage
        inspector = adapter.inspector()
        wait_until(lambda: inspector.count("running") == 0, 10, "every claim to be acknowledged")
        assert inspector.count("ready") == 0 and inspector.count("dead") == 0
        assert not adapter.store.client.hlen(adapter.store.keys.jobs), "a payload was left behind"
        assert all(p.poll() is None for p in workers.procs), "the worker died in the outage"
    finally:
        workers.close()
        adapter.shutdown()


@pytest.mark.slow
def test_a_worker_started_before_redis_waits_for_it(own_redis: RedisServer, tmp_path: Path) -> None:
    own_redis.stop()
    write_config(tmp_path / "app", own_redis.url, "late")
    journal = Journal(tmp_path / "journal.jsonl")
    workers = Workers(tmp_path / "app")
    adapter = RedisAdapter(own_redis.url, prefix="late")
    try:
        worker = workers.start(concurrency=2)
        wait_until(lambda: "registering the worker failed" in workers.logs(), 15, "a retry")
        assert worker.poll() is None, "the worker gave up instead of waiting for Redis"
        own_redis.start()
        with queue_adapters.override(adapter):
            job = SleepJob(journal.name, 0.0)
            job.enqueue()
        wait_until(lambda: job.job_id in journal.ended(), 20, "the job to run once Redis is up")
        # an INFO line: written within the log handler's flush interval, not at once
        again = r"reachable again after \d+ failed attempts .*registering"
        wait_until(lambda: re.search(again, workers.logs()), 10, "the line saying so")
        assert workers.logs().count("registering the worker failed") == 1, "one warning per outage"
    finally:
        workers.close()
        adapter.shutdown()


def test_perform_later_while_redis_is_down_raises() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    adapter = RedisAdapter(url, prefix="down")
    try:
        with queue_adapters.override(adapter):
            job = SleepJob("/dev/null", 0.0)
            with pytest.raises(jobframe.EnqueueError, match=url.replace(".", r"\.")):
                job.enqueue()
            assert not job.successfully_enqueued
            with pytest.raises(jobframe.EnqueueError, match=url.replace(".", r"\.")):
                jobframe.perform_all_later([SleepJob("/dev/null", 0.0) for _ in range(3)])
            with pytest.raises(jobframe.EnqueueError):
                SleepJob.set(wait=5).perform_later("/dev/null", 0.0)
    finally:
        adapter.shutdown()


def test_a_fetch_whose_reply_was_lost_gets_its_claims_back(adapter: RedisAdapter) -> None:
    """A FETCH that ran in Redis but whose reply a dropped connection lost (seen when Redis shut
    down under a worker) must not strand its job in "running" under a live worker: the next fetch
    (or redis-py's own retry) repeats the call's id and gets the claim back."""
    SleepJob.perform_later("/dev/null", 0.0)
    SleepJob.perform_later("/dev/null", 0.0)
    backend, store = adapter.worker_backend(), adapter.store
    lost_id = backend._fetch_id
    args = [store.stem, "proc-1", 1, 0, lost_id, backend._wait_id, 0, "*"]
    (lost_job,) = store.fetch(keys=store.fetch_keys(), args=args)[::4]  # the reply that got lost
    assert adapter.inspector().count("running") == 1

    claims = backend.fetch("proc-1", ["*"], limit=2, timeout=0)
    assert claims[0].id == lost_job.decode(), "the lost claim was not handed back"
    assert len(claims) == 2 and len({c.token for c in claims}) == 2
    backend.complete("proc-1", [Outcome(c, "done") for c in claims])
    assert adapter.inspector().count("running") == 0 and adapter.inspector().count("ready") == 0
    assert backend.fetch("proc-1", ["*"], limit=2, timeout=0) == [], "a claim was handed out twice"


def test_a_stopping_worker_releases_claims_whose_reply_was_lost(adapter: RedisAdapter) -> None:
    """If the worker stops before fetching again, deregistering puts such a claim back."""
    job = SleepJob.perform_later("/dev/null", 0.0)
    backend, store = adapter.worker_backend(), adapter.store
    args = [store.stem, "proc-2", 1, 0, "lost-call", "w", 0, "*"]
    store.fetch(keys=store.fetch_keys(), args=args)
    assert adapter.inspector().count("running") == 1
    backend.deregister("proc-2")
    assert adapter.inspector().count("running") == 0
    assert [info.id for info in adapter.inspector().jobs("ready")] == [job.provider_job_id]


@pytest.mark.slow
def test_an_outage_longer_than_the_heartbeat_timeout_reruns_nothing(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    """After Redis comes back, every process's last heartbeat is older than the timeout; the first
    worker to run maintenance must not reap its live peers (and re-run their running jobs)."""
    write_config(tmp_path / "app", own_redis.url, "outage")
    journal = Journal(tmp_path / "journal.jsonl")
    adapter = RedisAdapter(own_redis.url, prefix="outage")
    workers = Workers(tmp_path / "app")
    try:
        for _ in range(2):
            workers.start(concurrency=1)
        with queue_adapters.override(adapter):
            jobs = [SleepJob.perform_later(journal.name, 4.0, tag=str(i)) for i in range(2)]
        wait_until(lambda: len(journal.lines("start")) == 2, 15, "both jobs to start")
        own_redis.stop()
        time.sleep(2.5)  # the outage: longer than --heartbeat-timeout 1.5
        own_redis.start()
        ids = {job.job_id for job in jobs}
        wait_until(lambda: set(journal.ended()) >= ids, 30, "both jobs to end")
        wait_until(lambda: adapter.inspector().count("running") == 0, 10, "the acknowledgements")
        assert len(journal.lines("start")) == 2, "a live worker's running job was run again"
        assert journal.ended() == dict.fromkeys(ids, 1)
        assert adapter.inspector().count("ready") == 0
    finally:
        workers.close()
        adapter.shutdown()


# -- a worker in this process through an outage (issue #11, item 12) ---------------------------

RAN: list[str] = []
GATES: dict[str, threading.Event] = {}
TIMED_OUT: list[str] = []


class OutageRecordJob(jobframe.Job):
    def perform(self, tag: str) -> None:
        RAN.append(tag)


class OutageGateJob(jobframe.Job):
    """Runs until the test opens its gate: the test decides when the job ends."""

    def perform(self, gate: str) -> None:
        RAN.append(gate)
        GATES[gate].wait(30)


class OutageSpinJob(jobframe.Job):
    """Runs longer than the worker's --job-timeout, in steps the watchdog can interrupt."""

    def perform(self, tag: str) -> None:
        RAN.append(tag)
        try:
            for _ in range(600):
                time.sleep(0.05)
        except JobTimeout:
            TIMED_OUT.append(tag)
            raise


def _start_worker(adapter: RedisAdapter, **options: Any) -> tuple[Worker, threading.Thread]:
    settings = {"fetch_timeout": 0.2, "heartbeat_interval": 0.5, "report_timeout": 1.0, **options}
    worker = Worker(adapter.worker_backend(), WorkerOptions(queues=["*"], **settings))
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False}, daemon=True)
    thread.start()
    return worker, thread


def _lines(caplog: pytest.LogCaptureFixture, text: str, level: int | None = None) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "jobframe.worker"
        and text in record.getMessage()
        and (level is None or record.levelno == level)
    ]


@pytest.fixture
def outage_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    RAN.clear()
    TIMED_OUT.clear()
    with caplog.at_level(logging.INFO, logger="jobframe.worker"):
        yield caplog


@pytest.mark.slow
def test_an_outage_is_logged_once_per_state_change_and_the_worker_goes_on(
    own_redis: RedisServer, outage_log: pytest.LogCaptureFixture
) -> None:
    adapter = RedisAdapter(own_redis.url, prefix="outage-log")
    worker, thread = _start_worker(adapter)
    try:
        with queue_adapters.override(adapter):
            OutageRecordJob.perform_later("before")
        wait_until(lambda: "before" in RAN, 10, "the first job")
        inspector = adapter.inspector()
        wait_until(lambda: inspector.count("running") == 0, 10, "its outcome to be reported")
        outage_log.clear()

        own_redis.stop()
        wait_until(lambda: len(_lines(outage_log, "")) >= 2, 10, "the outage to be noticed")
        time.sleep(3.0)  # the outage under test: per-attempt logging wrote ~20 lines by now
        during = [r.getMessage() for r in outage_log.records if r.name == "jobframe.worker"]
        assert len(during) == 2, during
        assert any("backend unreachable: fetching jobs failed" in line for line in during)
        assert any(
            "backend unreachable: heartbeat and maintenance failed" in line for line in during
        )

        own_redis.start()
        with queue_adapters.override(adapter):
            OutageRecordJob.perform_later("after")
        wait_until(lambda: "after" in RAN, 20, "a job enqueued after the outage")
        wait_until(lambda: len(_lines(outage_log, "reachable again")) >= 2, 10, "the recovery")
        for line in _lines(outage_log, "reachable again", logging.INFO):
            counted = re.search(r"after (\d+) failed attempts over ([\d.]+)s", line)
            assert counted and int(counted[1]) > 1 and float(counted[2]) >= 3.0, line
        assert len(_lines(outage_log, "unreachable")) == 2, "one warning per outage and activity"
    finally:
        worker.stop()
        thread.join(15)
        adapter.shutdown()
    assert not thread.is_alive()


@pytest.mark.slow
def test_a_worker_stopped_during_an_outage_stops_and_the_reaper_recovers_its_jobs(
    own_redis: RedisServer, outage_log: pytest.LogCaptureFixture
) -> None:
    adapter = RedisAdapter(own_redis.url, prefix="outage-stop")
    GATES["stop"] = threading.Event()
    worker, thread = _start_worker(adapter, heartbeat_timeout=1.5)
    try:
        with queue_adapters.override(adapter):
            job = OutageGateJob.perform_later("stop")
        wait_until(lambda: RAN == ["stop"], 10, "the job to start")
        own_redis.stop()
        GATES["stop"].set()  # the job ends while its outcome cannot be reported
        wait_until(lambda: _lines(outage_log, "reporting"), 10, "a failed report")

        began = time.monotonic()
        worker.stop()
        thread.join(20)
        assert not thread.is_alive(), "Worker.run() hung on stop while Redis was down"
        assert time.monotonic() - began < 10
        [abandoned] = _lines(outage_log, "stopping without reporting", logging.ERROR)
        assert f"{job.provider_job_id} (done)" in abandoned and "reaper" in abandoned

        own_redis.start()  # the claim is still the stopped worker's: the reaper hands it back
        successor, successor_thread = _start_worker(adapter, heartbeat_timeout=1.5)
        try:
            wait_until(lambda: RAN == ["stop", "stop"], 20, "the job to run again elsewhere")
            inspector = adapter.inspector()
            wait_until(lambda: inspector.count("running") == 0, 10, "the acknowledgement")
        finally:
            successor.stop()
            successor_thread.join(15)
    finally:
        worker.stop()
        adapter.shutdown()


@pytest.mark.slow
def test_the_job_timeout_holds_while_the_backend_is_down(
    own_redis: RedisServer, outage_log: pytest.LogCaptureFixture
) -> None:
    adapter = RedisAdapter(own_redis.url, prefix="outage-watchdog")
    worker, thread = _start_worker(adapter, job_timeout=2.0)
    try:
        with queue_adapters.override(adapter):
            OutageSpinJob.perform_later("spin")
        wait_until(lambda: RAN == ["spin"], 10, "the job to start")
        own_redis.stop()
        wait_until(lambda: TIMED_OUT == ["spin"], 10, "the watchdog to stop the job")
    finally:
        worker.stop()
        thread.join(20)
        adapter.shutdown()
    assert not thread.is_alive()
