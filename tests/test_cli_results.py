"""``jobframe jobs show ID`` with a job's report (status, progress, result folded, error,
batch, chain) and ``jobframe batches [show ID]``, on Redis and SQLite with a worker in a
thread: a finished job is shown by its ``job_id`` with no backend copy left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fixture_jobs.tracked_jobs import FailingReportJob, FetchJob, NotifyJob, ParseJob, ReportJob
from stores import store_adapter

import jobframe
from jobframe import queue_adapters
from jobframe.cli import main
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import worker_thread
from jobframe.worker.runtime import WorkerOptions


@pytest.fixture(params=["redis", "sqlite"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A backend with results and batches, and a worker in a thread performing its jobs."""
    options = WorkerOptions(queues=["*"], concurrency=2, heartbeat_interval=1.0, fetch_timeout=0.2)
    with (
        store_adapter(request.param, tmp_path, label="jfclires") as made,
        queue_adapters.override(made),
        worker_thread(made.worker_backend(), options),
    ):
        yield made


def test_a_finished_job_is_shown_by_its_job_id(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = ReportJob.perform_later("daily")
    assert job.result(timeout=10)["path"] == "/tmp/daily.csv"
    assert adapter.inspector().job(str(job.provider_job_id)) is None, "no copy left to find"

    assert main(["jobs", "show", job.job_id]) == 0
    out = capsys.readouterr().out
    assert f"JOB_ID:    {job.job_id}\n" in out
    assert "STATUS:    succeeded\n" in out
    assert "tracked_jobs.ReportJob" in out and "QUEUE:     tracked\n" in out
    assert "PROGRESS:  100% written\n" in out
    assert 'RESULT:    {"path": "/tmp/daily.csv"' in out
    assert "FINISHED:  " in out and "STATE:" not in out

    assert main(["jobs", "show", job.job_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "succeeded" and shown["has_result"] is True
    assert shown["result"]["path"] == "/tmp/daily.csv"
    assert shown["progress"][0] == 1.0


def test_a_big_result_is_folded_in_text_and_whole_in_json(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = ReportJob.perform_later("big", 5_000)
    job.result(timeout=10)
    assert main(["jobs", "show", job.job_id]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("RESULT:")]
    assert "folded:" in line and "--json shows all" in line
    assert len(line) < 2_200
    assert main(["jobs", "show", job.job_id, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["result"]["text"]) == 5_000


def test_a_failed_job_shows_its_error_and_traceback(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    job = FailingReportJob.perform_later("march")
    with pytest.raises(jobframe.JobFailed):
        job.result(timeout=10)
    assert main(["jobs", "show", job.job_id]) == 0
    out = capsys.readouterr().out
    assert "STATUS:    failed\n" in out
    assert "ValueError: no data for march" in out
    assert "TRACEBACK:\nTraceback" in out


def test_an_unknown_job_id_fails_and_says_how_long_jobs_are_kept(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jobs", "show", "no-such-job"]) == 1
    err = capsys.readouterr().err
    assert "no job with ID or job_id 'no-such-job'" in err and "history_ttl" in err


def test_a_chain_link_names_its_neighbours(
    adapter: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = jobframe.chain(FetchJob("a.example"), ParseJob()).perform_later()
    assert second.result(timeout=10) == len("<html>a.example</html>")
    assert main(["jobs", "show", first.job_id]) == 0
    out = capsys.readouterr().out
    assert f"CHAIN:     link 1 of 2; next {second.job_id}\n" in out
    assert main(["jobs", "show", second.job_id]) == 0
    assert f"CHAIN:     link 2 of 2; previous {first.job_id}\n" in capsys.readouterr().out


def test_batches_lists_and_shows_a_batch(adapter: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with jobframe.batch(on_success=NotifyJob("import"), description="nightly import") as batch:
        jobframe.perform_all_later([ReportJob(f"row{i}") for i in range(3)])
    callback_id = jobframe.batch_status(batch.id).callbacks["on_success"]  # type: ignore[union-attr]
    assert jobframe.job_result(callback_id, timeout=10) == "notified import"

    assert main(["batches"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "ID", "DESCRIPTION", "TOTAL", "PENDING", "SUCCEEDED", "FAILED", "DEAD", "FINISHED"
    ]  # fmt: skip
    [row] = [x for x in out.splitlines() if x.startswith(batch.id)]
    assert row.split()[1:8] == ["nightly", "import", "3", "0", "3", "0", "0"]

    assert main(["batches", "show", batch.id]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED:   3\n" in out and "FIRED:       on_success\n" in out
    assert f"ON_SUCCESS:  {callback_id}\n" in out

    assert main(["batches", "show", batch.id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["succeeded"] == 3

    assert main(["jobs", "show", callback_id]) == 0
    assert "STATUS:    succeeded" in capsys.readouterr().out

    assert main(["batches", "show", "nosuchbatch"]) == 1
    assert "no batch 'nosuchbatch'" in capsys.readouterr().err


class NoBatchesAdapter(AsyncAdapter):
    """The async adapter as a backend that keeps no batches declares itself."""

    capabilities = replace(AsyncAdapter.capabilities, batches=False, chains=False)


def test_batches_on_an_adapter_without_them_names_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = NoBatchesAdapter(autostart=False)
    try:
        with queue_adapters.override(made):
            assert main(["batches"]) == 1
            err = capsys.readouterr().err
            assert "cannot group jobs in batches (jobframe.batch)" in err
            assert "'redis'" in err
    finally:
        made.shutdown(timeout=5)
