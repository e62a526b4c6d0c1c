"""``jobframe jobs|retry|discard|pause`` over real backends (Redis, SQLite, PostgreSQL): unknown ids
are reported, jobs are found by the application's ``job_id`` too, the dead set shows failure
times, and pausing an unknown queue warns (issue #11, "what a new user trips over")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from stores import store_adapter

import jobframe
from jobframe import queue_adapters
from jobframe.backend.worker import ProcessInfo
from jobframe.cli import main
from jobframe.testing.outcomes import fail_ready

LONG_AGO = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


class AdminJob(jobframe.Job):
    queue_as = "admin"

    def perform(self, text: str) -> None:
        pass


@pytest.fixture(params=["redis", "sqlite", "postgresql"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with (
        store_adapter(request.param, tmp_path, label="jfcli") as made,
        queue_adapters.override(made),
    ):
        yield made


def fail(adapter: Any, *jobs: jobframe.Job) -> None:
    """Run ``jobs`` (already enqueued) into the dead set, as a worker whose job raised would."""
    error = {"class": "ValueError", "message": "boom", "traceback": "Traceback (here)"}
    failed = fail_ready(adapter.worker_backend(), len(jobs), error=error, process="cli-worker")
    assert len(failed) == len(jobs)


def backdate(adapter: Any, job: jobframe.Job) -> None:
    """Make ``job``'s last enqueue look long ago, as a retry's enqueue before a long run would."""
    id = job.provider_job_id
    if hasattr(adapter, "store"):
        store = adapter.store
        payload = json.loads(store.client.hget(store.keys.jobs, id))
        payload["enqueued_at"] = LONG_AGO.isoformat()
        store.client.hset(store.keys.jobs, id, json.dumps(payload))
        return
    from jobframe_sql.schema import jobs

    with adapter.engine.begin() as conn:
        millis = int(LONG_AGO.timestamp() * 1000)
        conn.execute(sa.update(jobs).where(jobs.c.id == id).values(enqueued_at=millis))


def test_retry_and_discard_report_unknown_ids_and_fail(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = AdminJob.perform_later("x")
    fail(adapter, job)

    assert main(["retry", "nosuchid"]) == 1
    out, err = capsys.readouterr()
    assert out == "retry: 0 job(s)\n"
    assert "retry: no dead job with id nosuchid (neither an ID nor a job_id)" in err
    assert "jobframe jobs --failed" in err

    assert main(["discard", "nosuchid", "otherid"]) == 1
    assert "no dead job with id nosuchid, otherid" in capsys.readouterr().err
    assert adapter.inspector().count("dead") == 1, "nothing was discarded"

    assert main(["retry", str(job.provider_job_id), "nosuchid"]) == 1
    out, err = capsys.readouterr()
    assert out == "retry: 1 job(s)\n" and "nosuchid" in err
    assert adapter.inspector().count("dead") == 0


def test_jobs_are_found_by_the_job_id_the_application_holds(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = AdminJob.perform_later("by job_id")
    fail(adapter, job)

    for name in (job.job_id, str(job.provider_job_id)):
        assert main(["jobs", "show", name]) == 0
        out = capsys.readouterr().out
        assert f"ID:        {job.provider_job_id}\n" in out
        assert f"JOB_ID:    {job.job_id}\n" in out
        assert "STATE:     dead\n" in out and "ERROR:     ValueError: boom\n" in out
        assert "TRACEBACK:\nTraceback (here)" in out

    assert main(["jobs", "show", job.job_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == job.provider_job_id

    assert main(["jobs", "show", "nosuchid"]) == 1
    assert "no job with ID or job_id 'nosuchid'" in capsys.readouterr().err

    assert main(["retry", job.job_id]) == 0
    assert capsys.readouterr().out == "retry: 1 job(s)\n"
    [ready] = adapter.inspector().jobs("ready")
    assert ready.job_id == job.job_id


def test_discard_takes_a_job_id_too(adapter: Any, capsys: pytest.CaptureFixture[str]) -> None:
    job = AdminJob.perform_later("discard me")
    fail(adapter, job)

    assert main(["discard", job.job_id]) == 0
    assert capsys.readouterr().out == "discard: 1 job(s)\n"
    assert adapter.inspector().count("dead") == 0


def test_the_dead_set_shows_when_each_job_failed(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = AdminJob.perform_later("late")
    backdate(adapter, job)
    before = datetime.now(UTC).replace(microsecond=0)
    fail(adapter, job)

    [info] = adapter.inspector().jobs("dead")
    assert info.failed_at is not None and info.failed_at >= before
    assert info.enqueued_at is not None and info.enqueued_at <= LONG_AGO
    assert main(["jobs", "--failed"]) == 0
    out = capsys.readouterr().out
    assert info.failed_at.isoformat(timespec="seconds") in out
    assert LONG_AGO.isoformat(timespec="seconds") not in out


def test_pausing_an_unknown_queue_warns_names_the_known_ones_and_pauses(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    AdminJob.perform_later("x")

    assert main(["pause", "admni"]) == 0
    out, err = capsys.readouterr()
    assert out == "admni: paused\n"
    assert "pause: warning: jobframe knows no queue named 'admni' (known: admin)" in err
    assert "`jobframe resume admni` undoes it" in err
    assert {q.name: q.paused for q in adapter.inspector().queues()}["admni"] is True

    assert main(["pause", "admin"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["resume", "admni"]) == 0
    assert capsys.readouterr().err == ""


def test_jobs_cancel_removes_a_waiting_job_and_flags_a_running_one(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    by_job_id = AdminJob.perform_later("mistake 1")
    by_backend_id = AdminJob.perform_later("mistake 2")

    assert main(["jobs", "cancel", by_job_id.job_id]) == 0
    assert capsys.readouterr().out == f"{by_job_id.job_id}: cancelled\n"
    assert main(["jobs", "cancel", str(by_backend_id.provider_job_id)]) == 0
    assert capsys.readouterr().out == f"{by_backend_id.provider_job_id}: cancelled\n"
    assert adapter.inspector().count("ready") == 0

    running = AdminJob.perform_later("long")
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("cli-worker", ["*"], 1))
    [claim] = backend.fetch("cli-worker", ["*"], 1, 0)
    assert main(["jobs", "cancel", running.job_id]) == 0
    out, err = capsys.readouterr()
    assert out == f"{running.job_id}: running\n"
    assert "raises jobframe.Cancelled at the job's next checkpoint" in err
    assert backend.cancelled("cli-worker", [claim.token]) == {claim.token}

    assert main(["jobs", "cancel", by_job_id.job_id]) == 1
    out, err = capsys.readouterr()
    assert out == f"{by_job_id.job_id}: unknown\n"
    assert "no waiting or running job with job_id or ID" in err


def test_jobs_cancel_on_an_adapter_that_cannot_cancel_names_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with queue_adapters.override(queue_adapters.lookup("inline")):
        assert main(["jobs", "cancel", "anyid"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jobframe: error: the 'inline' adapter ")
