"""Reliability against the real Redis with real worker processes: crashes, SIGTERM, poison pills
and bad payloads (DESIGN.md section 3)."""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_support import (  # noqa: F401 (fixtures)
    Journal,
    Workers,
    counts,
    journal_fixture,
    wait_until,
    workdir_fixture,
    workers_fixture,
)

from jobframe.testing.reliability_jobs import KillerJob, RecordJob, SleepJob
from jobframe_redis.adapter import RedisAdapter

pytestmark = pytest.mark.slow


def test_sigkill_mid_job_reruns_on_another_process(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    first, second = workers.start(concurrency=2), workers.start(concurrency=2)
    job = SleepJob.perform_later(journal.name, 1.5)
    start = wait_until(lambda: journal.started(job.job_id), 15, "the job to start")[0]
    victim = first if start["pid"] == first.pid else second
    survivor = second if victim is first else first
    workers.kill(victim)

    crashes = adapter.store.keys.crashes
    rerun = wait_until(lambda: journal.started(job.job_id)[1:], 15, "the job to run again")[0]
    assert rerun["pid"] == survivor.pid
    assert adapter.store.client.hget(crashes, job.provider_job_id) == b"1", (
        "the crash was not counted"
    )
    wait_until(lambda: journal.ended()[job.job_id], 15, "the rerun to end")
    wait_until(lambda: not adapter.store.client.hlen(crashes), 5, "the crash count to be cleared")
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claim to be acknowledged")
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}
    assert journal.ended() == {job.job_id: 1}
    assert adapter.inspector().stats()["failed"] == 0


def test_sigterm_lets_a_running_job_finish(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    proc = workers.start("--shutdown-timeout", "10")
    job = SleepJob.perform_later(journal.name, 1.0)
    wait_until(lambda: journal.started(job.job_id), 15, "the job to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert journal.ended() == {job.job_id: 1}
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}
    assert adapter.inspector().stats() == {"processed": 1, "failed": 0}
    assert not adapter.inspector().workers(), "the stopped process is still registered"


def _released(adapter: RedisAdapter) -> bool:
    return counts(adapter) == {"ready": 1, "scheduled": 0, "running": 0, "dead": 0}


def test_sigterm_releases_a_job_longer_than_the_shutdown_timeout(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    proc = workers.start("--shutdown-timeout", "0.5")
    job = SleepJob.perform_later(journal.name, 3.0)
    wait_until(lambda: journal.started(job.job_id), 15, "the job to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert _released(adapter), counts(adapter)
    assert not journal.ended()
    assert adapter.inspector().stats() == {"processed": 0, "failed": 0}
    assert not adapter.store.client.hlen(adapter.store.keys.crashes)

    workers.start()
    wait_until(lambda: journal.ended()[job.job_id], 15, "a new worker to run the released job")
    assert len(journal.started(job.job_id)) == 2
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claim to be acknowledged")
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}


def test_second_sigterm_releases_at_once(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    proc = workers.start("--shutdown-timeout", "60")
    job = SleepJob.perform_later(journal.name, 30.0)
    wait_until(lambda: journal.started(job.job_id), 15, "the job to start")
    proc.send_signal(signal.SIGTERM)
    wait_until(
        lambda: "finishing running jobs" in workers.logs(), 5, "the first SIGTERM to be handled"
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0, "a second SIGTERM did not release at once"
    assert _released(adapter), counts(adapter)
    assert not journal.ended()


def test_poison_pill_goes_to_the_dead_set(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    workers.start("--processes", "2", "--max-crashes", "2", concurrency=1)
    pill = KillerJob.perform_later(journal.name)
    dead = wait_until(lambda: adapter.inspector().jobs("dead"), 30, "the poison pill to be dead")
    assert [d.id for d in dead] == [pill.provider_job_id]
    assert len(journal.started(pill.job_id)) == 2, "it ran more often than --max-crashes"
    assert "poison pill" in dead[0].error["reason"] and "2 times" in dead[0].error["reason"]
    assert dead[0].job_class == "jobframe.reliability.KillerJob"
    assert not adapter.store.client.hlen(adapter.store.keys.crashes)

    after = RecordJob.perform_later(journal.name, "after")
    wait_until(lambda: journal.ended()[after.job_id], 20, "a normal job after the pill")
    assert counts(adapter)["dead"] == 1


def _push_raw(adapter: RedisAdapter, payload: bytes, queue: str = "default") -> str:
    """Put a payload straight onto a queue, bypassing the adapter (as a foreign producer might)."""
    client, keys = adapter.store.client, adapter.store.keys
    id = uuid.uuid4().hex
    seq = client.incr(keys.seq)
    client.hset(keys.jobs, id, payload)
    client.sadd(keys.queues, queue)
    client.zadd(keys.queue(queue), {id: (0 + 2048) * 2**40 + seq})
    client.lpush(keys.wake, "1")
    return id


def test_garbage_payload_is_dead_and_the_worker_goes_on(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    garbage = b"\xff\xfe not json {{{"
    bad = _push_raw(adapter, garbage)
    good = [RecordJob.perform_later(journal.name, str(i)) for i in range(5)]
    workers.start(concurrency=1)
    wait_until(lambda: len(journal.ended()) == 5, 15, "the good jobs behind the garbage")
    assert set(journal.ended()) == {job.job_id for job in good}
    wait_until(lambda: counts(adapter)["dead"] == 1, 5, "the garbage to be dead")
    (dead,) = adapter.inspector().jobs("dead")
    assert dead.id == bad
    assert dead.raw == garbage
    assert dead.error["reason"] == "undecodable payload"
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claims to be acknowledged")
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 1}


def test_unknown_job_classes_are_dead_and_nothing_runs(
    adapter: RedisAdapter, workers: Workers, journal: Journal, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    template = RecordJob(journal.name, "template").serialize()
    payloads = {
        "unknown": {**template, "job_class": "nowhere.NoSuchJob"},
        "os.system": {**template, "job_class": "os.system", "arguments": [f"touch {marker}"]},
        "subprocess": {
            **template,
            "job_class": "subprocess.getoutput",
            "arguments": [f"touch {marker}"],
        },
    }
    ids = {
        name: _push_raw(adapter, json.dumps(payload).encode()) for name, payload in payloads.items()
    }
    after = RecordJob.perform_later(journal.name, "after")
    workers.start(concurrency=1)
    wait_until(lambda: journal.ended()[after.job_id], 15, "the good job behind the bad ones")
    wait_until(lambda: counts(adapter)["dead"] == 3, 5, "3 dead jobs")
    dead = {info.id: info for info in adapter.inspector().jobs("dead")}
    assert set(dead) == set(ids.values())
    for name, id in ids.items():
        assert dead[id].error["reason"] == "unknown job class", name
        assert json.loads(dead[id].raw or b"") == payloads[name]
    assert not marker.exists(), "a payload made the worker call os.system"
    assert journal.ended() == {after.job_id: 1}


def test_a_signal_to_the_process_group_of_a_supervisor_lets_jobs_finish(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    """Ctrl-C in a terminal or systemd's KillMode=control-group signal every process: each child
    gets SIGTERM directly and again from the supervisor. That is one request to stop, not two."""
    supervisor = workers.start("--processes", "2", "--shutdown-timeout", "10", concurrency=1)
    wait_until(lambda: len(adapter.inspector().workers()) == 2, 15, "2 registered children")
    jobs = [SleepJob.perform_later(journal.name, 1.0) for _ in range(2)]
    wait_until(lambda: all(journal.started(j.job_id) for j in jobs), 15, "both jobs to start")
    # The group signal reaches each child directly; the supervisor's forwarded copy may come
    # after the child has handled the first (here: made sure of, by sending it only then).
    os.killpg(supervisor.pid, signal.SIGTERM)  # Workers starts each in a session of its own
    wait_until(lambda: workers.logs().count("finishing running jobs") >= 2, 10, "the group signal")
    supervisor.send_signal(signal.SIGTERM)  # forwarded to the children again at once
    assert supervisor.wait(20) == 0
    assert journal.ended() == {job.job_id: 1 for job in jobs}, "a running job was released"
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}
    assert "releasing running jobs now" not in workers.logs()
