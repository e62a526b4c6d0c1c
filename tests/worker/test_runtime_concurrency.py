"""The shared worker runtime on the in-memory store: how many jobs run at once, who fetches,
in which order queues are served, and ``--job-timeout``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest
from worker.memory_runtime import Runtime

import jobframe
from jobframe.backend.worker import Claim
from jobframe.testing.workers import wait_until

lock = threading.Lock()
state: dict[str, Any] = {}


def reset(**values: Any) -> None:
    state.clear()
    state.update(running=0, most=0, ran=[], **values)


class HoldJob(jobframe.Job):
    """Counts the jobs running at once, meets the others at ``state["barrier"]`` (if any), and
    holds its thread until ``state["release"]`` is set."""

    job_name = "tests.worker.HoldJob"

    def perform(self, tag: str) -> None:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        try:
            barrier = state.get("barrier")
            if barrier is not None:
                barrier.wait(20)
            assert state["release"].wait(20), "the test never released the job"
            state["ran"].append(tag)
        finally:
            with lock:
                state["running"] -= 1


class TagJob(jobframe.Job):
    job_name = "tests.worker.TagJob"

    def perform(self, tag: str) -> None:
        with lock:
            state["ran"].append(tag)


class SpinJob(jobframe.Job):
    """Pure Python that never returns on its own: only `JobTimeout` stops it."""

    job_name = "tests.worker.SpinJob"

    def perform(self) -> None:
        state["spinning"].set()
        while True:
            time.sleep(0.01)


class SleepForeverJob(jobframe.Job):
    job_name = "tests.worker.SleepForeverJob"

    async def perform(self) -> None:
        state["spinning"].set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise


def test_n_threads_run_n_jobs_at_once_and_never_more(runtime: Runtime) -> None:
    reset(barrier=threading.Barrier(3), release=threading.Event())
    runtime.push(*[HoldJob(f"j{i}") for i in range(7)])
    runtime.start(concurrency=3, prefetch=0)
    # The barrier lets the jobs through only when three run at the same moment.
    wait_until(lambda: state["most"] == 3, 20, "three jobs running at once")
    store = runtime.store
    with store.lock:
        assert store.sizes[("claimed", "default")] == 3, "a fourth job was taken"
        assert store.sizes[("ready", "default")] == 4
    state["barrier"] = None
    state["release"].set()
    wait_until(lambda: len(state["ran"]) == 7, 20, "all seven jobs")
    assert state["most"] == 3


def test_one_fetch_serves_several_threads(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle thread that fetches takes a batch for everyone and wakes the followers: four
    jobs stored at once are claimed by one fetch and run on four threads together."""
    reset(barrier=threading.Barrier(4), release=threading.Event())
    batches: list[int] = []
    real_fetch = runtime.store.fetch

    def fetch(process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        claims = real_fetch(process_id, queues, limit, timeout)
        if claims:
            batches.append(len(claims))
        return claims

    monkeypatch.setattr(runtime.store, "fetch", fetch)
    worker = runtime.start(concurrency=4, prefetch=0)
    wait_until(lambda: worker.process.id in runtime.store.processes, 10, "the worker to start")
    runtime.push(*[HoldJob(f"j{i}") for i in range(4)])
    wait_until(lambda: state["most"] == 4, 20, "the four jobs running together")
    assert batches == [4]
    state["release"].set()
    wait_until(lambda: len(state["ran"]) == 4, 20, "the four jobs to finish")


def test_weighted_queues_are_served_in_proportion(runtime: Runtime) -> None:
    reset()
    runtime.push(*[TagJob("a") for _ in range(300)], queue="a")
    runtime.push(*[TagJob("b") for _ in range(300)], queue="b")
    runtime.start(queues=["a", "b"], weights={"a": 3, "b": 1}, concurrency=1, prefetch=0)
    wait_until(lambda: len(state["ran"]) >= 200, 60, "200 jobs")
    first = Counter(state["ran"][:200])
    # Each fetch (one job) picks queue a with probability 3/4: 150 expected, sd 6.1.
    assert 115 <= first["a"] <= 185, first


def test_without_weights_queues_are_served_in_strict_order(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every "b" is claimed before any "a". The claims are recorded as the store hands them out:
    the order jobs finish in also depends on how the two threads are scheduled (a thread
    descheduled under load finished its early claim after many later ones)."""
    reset()
    runtime.push(*[TagJob("a") for _ in range(50)], queue="a")
    runtime.push(*[TagJob("b") for _ in range(50)], queue="b")
    claimed: list[str] = []
    real_fetch = runtime.store.fetch

    def fetch(process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        claims = real_fetch(process_id, queues, limit, timeout)
        claimed.extend(claim.queue for claim in claims)
        return claims

    monkeypatch.setattr(runtime.store, "fetch", fetch)
    runtime.start(queues=["b", "a"], concurrency=2, prefetch=2)
    wait_until(lambda: len(state["ran"]) == 100, 60, "all 100 jobs")
    assert claimed == ["b"] * 50 + ["a"] * 50, claimed
    assert sorted(state["ran"]) == ["a"] * 50 + ["b"] * 50


def test_a_thread_job_over_the_job_timeout_gets_job_timeout(runtime: Runtime) -> None:
    reset(spinning=threading.Event())
    [spin] = runtime.push(SpinJob())
    runtime.start(concurrency=1, job_timeout=0.5, scheduler_interval=0.05)
    assert state["spinning"].wait(10)
    wait_until(lambda: spin in runtime.store.dead, 20, "the spinning job to be stopped")
    error = runtime.store.dead[spin].error
    assert error is not None and error["class"].endswith("JobTimeout")
    runtime.push(TagJob("after"))  # the thread is free again
    wait_until(lambda: state["ran"] == ["after"], 10, "a job after the timeout")


def test_an_async_job_over_the_job_timeout_is_cancelled(runtime: Runtime) -> None:
    reset(spinning=threading.Event())
    [sleeper] = runtime.push(SleepForeverJob())
    runtime.start(concurrency=1, job_timeout=0.5)
    assert state["spinning"].wait(10)
    wait_until(lambda: sleeper in runtime.store.dead, 20, "the async job to be stopped")
    assert state.get("cancelled") is True
    error = runtime.store.dead[sleeper].error
    assert error is not None and error["class"].endswith("JobTimeout")
    assert "ran longer than 0.5s" in error["message"]
