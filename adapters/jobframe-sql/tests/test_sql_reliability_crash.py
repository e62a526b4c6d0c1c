"""Reliability of the SQL backend with real databases and real worker processes: crashes, SIGTERM,
poison pills and bad rows (DESIGN.md section 3)."""

from __future__ import annotations

import json
import signal
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sql_reliability_support import (  # noqa: F401 (fixtures)
    Journal,
    Workers,
    counts,
    idle,
    journal_fixture,
    stored,
    wait_until,
    workdir_fixture,
    workers_fixture,
)

from jobframe.testing.reliability_jobs import KillerJob, RecordJob, SleepJob
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import jobs

pytestmark = pytest.mark.slow


def test_sigkill_mid_job_reruns_on_another_process(
    adapter: SQLAdapter, workers: Workers, journal: Journal
) -> None:
    first, second = workers.start(concurrency=2), workers.start(concurrency=2)
    wait_until(lambda: len(adapter.inspector().workers()) == 2, 15, "2 registered workers")
    job = SleepJob.perform_later(journal.name, 1.5)
    start = wait_until(lambda: journal.started(job.job_id), 15, "the job to start")[0]
    victim = first if start["pid"] == first.pid else second
    survivor = second if victim is first else first
    workers.kill(victim)

    rerun = wait_until(lambda: journal.started(job.job_id)[1:], 15, "the job to run again")[0]
    assert rerun["pid"] == survivor.pid
    wait_until(lambda: journal.ended()[job.job_id], 15, "the rerun to end")
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claim to be acknowledged")
    row = stored(adapter, job.provider_job_id)
    assert (row.state, row.crashes) == ("finished", 1), "the crash was not counted"
    assert counts(adapter) == idle()
    assert journal.ended() == {job.job_id: 1}
    assert adapter.inspector().stats() == {"processed": 1, "failed": 0}
    assert [w.pid for w in adapter.inspector().workers()] == [survivor.pid], "the dead one stays"


def test_sigterm_finishes_short_jobs_and_releases_long_ones(
    adapter: SQLAdapter, workers: Workers, journal: Journal
) -> None:
    proc = workers.start("--shutdown-timeout", "1.2", concurrency=2)
    short = SleepJob.perform_later(journal.name, 0.6, tag="short")
    long = SleepJob.perform_later(journal.name, 3.0, tag="long")
    wait_until(lambda: journal.started(short.job_id), 15, "the short job to start")
    wait_until(lambda: journal.started(long.job_id), 15, "the long job to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert journal.ended() == {short.job_id: 1}, "the short job did not finish"
    assert counts(adapter) == {"ready": 1, "scheduled": 0, "running": 0, "dead": 0}
    row = stored(adapter, long.provider_job_id)
    assert (row.state, row.crashes, row.error, row.claimed_by) == ("ready", 0, None, None)
    assert adapter.inspector().stats() == {"processed": 1, "failed": 0}
    assert not adapter.inspector().workers(), "the stopped process is still registered"

    workers.start()
    wait_until(lambda: journal.ended()[long.job_id], 20, "a new worker to run the released job")
    assert len(journal.started(long.job_id)) == 2
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claim to be acknowledged")
    assert counts(adapter) == idle()
    assert adapter.inspector().stats() == {"processed": 2, "failed": 0}


@pytest.mark.parametrize("sql_url", ["sqlite", "postgresql"], indirect=True)
def test_poison_pill_fails_after_max_crashes(
    adapter: SQLAdapter, workers: Workers, journal: Journal
) -> None:
    workers.start("--processes", "2", "--max-crashes", "2", concurrency=1)
    pill = KillerJob.perform_later(journal.name)
    dead = wait_until(lambda: adapter.inspector().jobs("dead"), 40, "the poison pill to be dead")
    assert [d.id for d in dead] == [pill.provider_job_id]
    assert len(journal.started(pill.job_id)) == 2, "it ran more often than --max-crashes"
    assert "poison pill" in dead[0].error["reason"] and "2 times" in dead[0].error["reason"]
    assert dead[0].job_class == "jobframe.reliability.KillerJob"
    assert stored(adapter, pill.provider_job_id).crashes == 2

    after = RecordJob.perform_later(journal.name, "after")
    wait_until(lambda: journal.ended()[after.job_id], 30, "a normal job after the pill")
    assert counts(adapter)["dead"] == 1
    assert len(journal.started(pill.job_id)) == 2


def _insert_raw(adapter: SQLAdapter, payload: bytes, job_class: str | None = None) -> str:
    """Put a row straight into the table, bypassing the adapter (as a foreign producer might)."""
    id = uuid.uuid4().hex
    now = now_ms()
    with adapter.engine.begin() as conn:
        conn.execute(
            sa.insert(jobs).values(id=id, queue="default", priority=0, state="ready", run_at=now,
                                   enqueued_at=now, job_class=job_class, payload=payload,
                                   crashes=0, attempts=0)
        )  # fmt: skip
    return id


def test_bad_rows_fail_with_their_payload_and_the_worker_goes_on(
    adapter: SQLAdapter, workers: Workers, journal: Journal, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    template = RecordJob(journal.name, "template").serialize()
    garbage = b"\xff\xfe not json {{{"
    payloads = {
        "unknown": {**template, "job_class": "nowhere.NoSuchJob"},
        "os.system": {**template, "job_class": "os.system", "arguments": [f"touch {marker}"]},
    }
    bad = {"garbage": _insert_raw(adapter, garbage)}
    for name, payload in payloads.items():
        bad[name] = _insert_raw(adapter, json.dumps(payload).encode(), payload["job_class"])
    good = [RecordJob.perform_later(journal.name, str(i)) for i in range(5)]
    workers.start(concurrency=1)

    wait_until(lambda: len(journal.ended()) == 5, 20, "the good jobs behind the bad rows")
    assert journal.ended() == {job.job_id: 1 for job in good}
    wait_until(lambda: counts(adapter)["dead"] == 3, 5, "the bad rows to be failed")
    dead = {info.id: info for info in adapter.inspector().jobs("dead")}
    assert set(dead) == set(bad.values())
    assert dead[bad["garbage"]].raw == garbage
    assert dead[bad["garbage"]].error["reason"] == "undecodable payload"
    for name, payload in payloads.items():
        assert dead[bad[name]].error["reason"] == "unknown job class", name
        assert json.loads(dead[bad[name]].raw or b"") == payload, name
    assert not marker.exists(), "a payload made the worker call os.system"
    wait_until(lambda: counts(adapter)["running"] == 0, 5, "the claims to be acknowledged")
    assert counts(adapter) == idle(dead=3)
    assert all(p.poll() is None for p in workers.procs), "the worker died"
