"""How many claims a worker holds: ``--prefetch N`` fixes it; by default short jobs are fetched
in large batches and long ones no further ahead than one per thread."""

from __future__ import annotations

import pytest
from worker.memory_runtime import Runtime

import jobframe
from jobframe.backend.worker import Claim
from jobframe.testing.workers import wait_until
from jobframe.worker.prefetch import AHEAD_SECONDS, MAX_AHEAD, Prefetch

ran: list[int] = []


class CountJob(jobframe.Job):
    job_name = "tests.worker.prefetch.CountJob"

    def perform(self, i: int) -> None:
        ran.append(i)


def test_before_any_job_ran_a_worker_holds_one_ahead_per_thread() -> None:
    assert Prefetch(5).capacity == 10
    assert Prefetch(1).capacity == 2


def test_short_jobs_are_fetched_up_to_the_most_ahead() -> None:
    prefetch = Prefetch(5)
    for _ in range(200):
        prefetch.ran(0.00005)
    assert prefetch.capacity == 5 + MAX_AHEAD


def test_long_jobs_are_fetched_one_ahead_per_thread() -> None:
    prefetch = Prefetch(4)
    for _ in range(10):
        prefetch.ran(0.00005)
    for _ in range(200):
        prefetch.ran(2.0)  # the mean follows the jobs as they change
    assert prefetch.capacity == 8


def test_in_between_the_work_held_ahead_is_about_the_target() -> None:
    prefetch = Prefetch(2)
    mean = 0.0002  # 0.2 ms a job: 25 jobs are 5 ms of work each for two threads
    for _ in range(200):
        prefetch.ran(mean)
    ahead = prefetch.capacity - 2
    assert ahead == round(AHEAD_SECONDS * 2 / mean)


@pytest.mark.parametrize("fixed", [0, 3])
def test_a_fixed_prefetch_does_not_adapt(fixed: int) -> None:
    prefetch = Prefetch(2, fixed)
    for _ in range(100):
        prefetch.ran(0.00001)
    assert prefetch.capacity == 2 + fixed


def test_a_worker_running_short_jobs_claims_them_in_large_batches(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran.clear()
    runtime.push(*[CountJob(i) for i in range(1000)])
    batches: list[int] = []
    real_fetch = runtime.store.fetch

    def fetch(process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        claims = real_fetch(process_id, queues, limit, timeout)
        if claims:
            batches.append(len(claims))
        return claims

    monkeypatch.setattr(runtime.store, "fetch", fetch)
    runtime.start(concurrency=2)
    wait_until(lambda: len(ran) == 1000, 60, "the 1,000 jobs to run")
    assert sorted(ran) == list(range(1000))  # each once
    assert batches[0] == 4  # one ahead per thread until a job has run
    assert max(batches) > 20, batches


def test_claims_put_back_unperformed_shrink_what_is_fetched_ahead() -> None:
    """A throttled start goes back to the backend: fetched far ahead, each one costs a
    reservation and a deferral, so they count as long jobs."""
    prefetch = Prefetch(3)
    for _ in range(200):
        prefetch.ran(0.00005)
    assert prefetch.capacity == 3 + MAX_AHEAD
    for _ in range(100):
        prefetch.put_back()
    assert prefetch.capacity == 6
