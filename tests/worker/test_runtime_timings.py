"""The worker measures how long ``perform`` ran and names the job's class in its `Outcome`
(`Outcome.runtime`, `Outcome.job_class`): what a backend with ``capabilities.timings`` counts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import jobframe
from jobframe.backend.worker import Claim, Outcome
from jobframe.errors import Interrupted
from jobframe.testing.timing_jobs import OtherTimedJob, TimedJob
from jobframe.worker.execution import INTERRUPTED, finished, load, run_async, run_sync

CLAIM = Claim("id-1", "token-1", "default", b"{}")


class AsyncTimedJob(jobframe.Job):
    job_name = "tests.AsyncTimedJob"

    async def perform(self, ms: float) -> None:
        await asyncio.sleep(ms / 1000)


def test_a_sync_run_is_timed_and_named(tmp_path: Path) -> None:
    journal = str(tmp_path / "j.jsonl")
    outcome = run_sync(CLAIM, TimedJob(journal, "t", 30))
    assert outcome.status == "done"
    assert outcome.runtime is not None and 0.03 <= outcome.runtime < 2.0
    assert outcome.job_class == "jobframe.conformance.TimedJob"
    failed = run_sync(CLAIM, OtherTimedJob(journal, "f", 20, fail=True))
    assert failed.status == "failed" and failed.job_class == "jobframe.conformance.OtherTimedJob"
    assert failed.runtime is not None and failed.runtime >= 0.02


def test_an_async_run_is_timed_and_named() -> None:
    outcome = asyncio.run(run_async(CLAIM, AsyncTimedJob(40)))
    assert outcome.status == "done" and outcome.job_class == "tests.AsyncTimedJob"
    assert outcome.runtime is not None and 0.04 <= outcome.runtime < 2.0


def test_an_interrupted_run_keeps_its_time() -> None:
    outcome = finished(CLAIM, AsyncTimedJob(1), Interrupted("stop"), [], 0.25)
    assert (outcome.status, outcome.runtime) == ("failed", 0.25)
    assert outcome.error is not None and outcome.error["reason"] == INTERRUPTED


def test_a_job_that_never_performed_has_no_runtime() -> None:
    dead = load(Claim("id-2", "token-2", "default", b"not json"))
    assert isinstance(dead, Outcome) and dead.status == "dead"
    assert dead.runtime is None and dead.job_class is None
