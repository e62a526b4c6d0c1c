"""The shared worker runtime on the in-memory store: heartbeats, the reaper and poison pills,
and shutdown (finish running jobs, release what was fetched but not started)."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from worker.memory_runtime import Runtime

import jobframe
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.testing.workers import wait_until

# Each test gets new ones (`_fresh`): a job thread a stopped worker left running writes to those
# of its own test, never to the next test's.
ran: list[str] = []
release = threading.Event()
started: list[str] = []


class BlockJob(jobframe.Job):
    """Runs until the test sets `release`."""

    job_name = "tests.worker.BlockJob"

    def perform(self, tag: str) -> None:
        done, gate = ran, release
        started.append(tag)
        assert gate.wait(20), "the test never released the job"
        done.append(tag)


class QuickJob(jobframe.Job):
    job_name = "tests.worker.QuickJob"

    def perform(self, tag: str) -> None:
        ran.append(tag)


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    global ran, release, started
    ran, release, started = [], threading.Event(), []
    gate = release
    yield
    gate.set()


def ghost(runtime: Runtime, name: str, queue: str = "default") -> list[str]:
    """A worker process that registers, claims what is ready on ``queue`` and dies: it never
    heartbeats again. The ids it claimed."""
    store = runtime.store
    store.register(ProcessInfo(name, [queue], 1))
    return [claim.id for claim in store.fetch(name, [queue], 10, 0)]


def beat_times(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each heartbeat of the runtime's store came (``time.monotonic()``), as they come."""
    beats: list[float] = []
    real = runtime.store.heartbeat

    def heartbeat(process_id: str) -> None:
        beats.append(time.monotonic())
        real(process_id)

    monkeypatch.setattr(runtime.store, "heartbeat", heartbeat)
    return beats


def test_the_maintenance_thread_heartbeats_at_the_interval_while_jobs_hold_every_thread(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    beats = beat_times(runtime, monkeypatch)
    runtime.push(BlockJob("busy"), BlockJob("busy too"))
    runtime.start(concurrency=2, heartbeat_interval=0.2, scheduler_interval=0.05)
    wait_until(lambda: len(started) == 2, 10, "both threads busy")
    count = len(beats)
    wait_until(lambda: len(beats) >= count + 5, 10, "five more heartbeats while jobs run")
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    assert min(gaps) >= 0.2 - 0.01, f"a heartbeat came sooner than the interval: {gaps}"
    assert max(gaps) < 2.0, f"heartbeats stalled while the job threads were busy: {gaps}"
    [process] = runtime.store.processes.values()
    assert time.monotonic() - process.beat < 5


def test_the_reaper_returns_a_dead_process_claims_and_counts_the_crash(runtime: Runtime) -> None:
    [id] = runtime.push(QuickJob("orphan"))
    assert ghost(runtime, "ghost") == [id]
    assert runtime.store.entries[id].state == "claimed"
    runtime.start(heartbeat_interval=0.1, heartbeat_timeout=0.5, scheduler_interval=0.05)
    wait_until(lambda: ran == ["orphan"], 20, "the orphaned job to run again")
    assert "ghost" not in runtime.store.processes
    assert not runtime.store.dead


def test_a_slow_live_job_is_never_reaped(runtime: Runtime) -> None:
    [id] = runtime.push(BlockJob("slow"))
    worker = runtime.start(heartbeat_interval=0.1, heartbeat_timeout=0.5, scheduler_interval=0.05)
    wait_until(lambda: started == ["slow"], 10, "the slow job to start")
    # Three heartbeat timeouts later the job is still this worker's claim, not back on its queue.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        entry = runtime.store.entries[id]
        assert entry.state == "claimed" and entry.claimed_by == worker.process.id
        time.sleep(0.05)
    release.set()
    wait_until(lambda: ran == ["slow"], 10, "the slow job to finish")
    assert started == ["slow"], "the job ran twice"


def test_a_job_that_kills_its_worker_max_crashes_times_is_dead_as_a_poison_pill(
    runtime: Runtime,
) -> None:
    [id] = runtime.push(QuickJob("poison"), queue="poison")
    store = runtime.store
    # This worker never takes the job (other queue); its maintenance thread reaps the ghosts.
    runtime.start(
        queues=["elsewhere"],
        heartbeat_interval=0.1,
        heartbeat_timeout=0.4,
        scheduler_interval=0.05,
        max_crashes=3,
    )
    for crash in range(1, 4):
        assert ghost(runtime, f"ghost-{crash}", "poison") == [id]
        if crash < 3:
            wait_until(
                lambda: id in store.entries and store.entries[id].state == "ready",
                20,
                f"the job back on its queue after crash {crash}",
            )
            assert store.entries[id].crashes == crash
    wait_until(lambda: id in store.dead, 20, "the poison pill in the dead set")
    error = store.dead[id].error
    assert error is not None and error["reason"].startswith("poison pill")
    assert ran == []


def test_run_returns_once_the_heartbeat_thread_is_out_of_the_backend(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A maintenance pass in flight at the stop ends before the worker deregisters and before
    ``run()`` returns: the caller disposes of the backend then (an SQL adapter's engines), and a
    pass left running opened a connection on the disposed engine and leaked it (a psycopg
    ResourceWarning that failed a later test in CI)."""
    inside, leave = threading.Event(), threading.Event()
    calls: list[str] = []
    store = runtime.store
    real_maintain, real_deregister = store.maintain, store.deregister

    def maintain(*args: Any) -> Any:
        inside.set()
        assert leave.wait(20), "the test never let the maintenance pass end"
        calls.append("maintained")
        return real_maintain(*args)

    def deregister(process_id: str) -> None:
        calls.append("deregistered")
        real_deregister(process_id)

    monkeypatch.setattr(store, "maintain", maintain)
    monkeypatch.setattr(store, "deregister", deregister)
    worker = runtime.start(scheduler_interval=0.05)
    assert inside.wait(10), "no maintenance pass began"
    worker.stop()
    [thread] = [thread for candidate, thread in runtime.running if candidate is worker]
    thread.join(1.0)
    assert thread.is_alive(), "run() returned while its heartbeat thread was in the backend"
    assert "deregistered" not in calls
    leave.set()
    runtime.join(worker)
    assert calls[-2:] == ["maintained", "deregistered"]


def test_a_stopping_worker_heartbeats_until_its_running_jobs_end(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain longer than ``heartbeat_timeout`` (a long ``shutdown_timeout`` for long jobs)
    must keep the process alive for its peers: it stopped beating at the stop, and a peer's
    reaper took the job it was still running and gave it to another worker."""
    beats = beat_times(runtime, monkeypatch)
    [job] = runtime.push(BlockJob("long"))
    options = {"heartbeat_interval": 0.1, "heartbeat_timeout": 0.5, "scheduler_interval": 0.02}
    worker = runtime.start(concurrency=1, shutdown_timeout=30, **options)
    wait_until(lambda: started == ["long"], 10, "the job to start")
    worker.stop()  # SIGTERM: finish the running job
    stopped = time.monotonic()
    wait_until(lambda: len([b for b in beats if b > stopped + 1.0]) >= 3, 10,
               "heartbeats during the drain, long after heartbeat_timeout")  # fmt: skip
    # A peer's reaper, with the same heartbeat_timeout: the draining worker is alive.
    runtime.store.register(ProcessInfo("peer", ["default"], 1))
    runtime.store.maintain(0.5, 3)
    assert runtime.store.entries[job].state == "claimed", "a peer reaped a job still running"
    release.set()
    runtime.join(worker)
    assert ran == ["long"] and job not in runtime.store.entries
    assert not [t for t in worker._threads if t.is_alive()], "the heartbeat outlived run()"


def test_stop_finishes_running_jobs_and_releases_fetched_ones_at_the_front(
    runtime: Runtime,
) -> None:
    first, *fetched = runtime.push(BlockJob("running"), QuickJob("b"), QuickJob("c"))
    worker = runtime.start(concurrency=1, prefetch=2)
    wait_until(lambda: started == ["running"], 10, "the first job to start")
    store = runtime.store
    with store.lock:
        assert all(store.entries[id].state == "claimed" for id in fetched), "not fetched ahead"
    worker.stop()  # what SIGTERM does
    # The fetched-but-unstarted jobs go back at once, while the running one goes on.
    wait_until(lambda: all(store.entries[id].state == "ready" for id in fetched), 10, "the release")
    assert store.entries[first].state == "claimed"
    [later] = runtime.push(QuickJob("later"))
    release.set()
    runtime.join(worker)
    assert ran == ["running"] and first not in store.entries, "the running job finished"
    claims = store.fetch("next", ["*"], 10, 0)
    assert [claim.id for claim in claims] == [*fetched, later], "released jobs come first"


def test_stop_with_release_now_releases_running_jobs_at_once(runtime: Runtime) -> None:
    [id] = runtime.push(BlockJob("running"))
    worker = runtime.start(concurrency=1, shutdown_timeout=60)
    wait_until(lambda: started == ["running"], 10, "the job to start")
    worker.stop(release_now=True)  # what a second SIGTERM does
    runtime.join(worker, timeout=10)  # well before the 60 s shutdown timeout
    assert runtime.store.entries[id].state == "ready"
    assert not runtime.store.processes, "the worker did not deregister"
    release.set()


def test_a_claim_taken_back_by_the_reaper_cannot_finish_the_job(runtime: Runtime) -> None:
    """Finishing is guarded by the claim: the late outcome of a process taken for dead is
    ignored, so the job is not both done and run again."""
    store = runtime.store
    [id] = runtime.push(QuickJob("contested"))
    store.register(ProcessInfo("slowpoke", ["*"], 1))
    [stale] = store.fetch("slowpoke", ["*"], 1, 0)
    assert store.maintain(heartbeat_timeout=-1, max_crashes=3)["requeued"] == 1
    store.register(ProcessInfo("other", ["*"], 1))
    [fresh] = store.fetch("other", ["*"], 1, 0)
    assert fresh.id == stale.id == id and fresh.token != stale.token
    store.complete("slowpoke", [Outcome(stale, "done")])
    store.release("slowpoke", [stale])
    entry = store.entries[id]
    assert entry.state == "claimed" and entry.claimed_by == "other" and entry.crashes == 1
    store.complete("other", [Outcome(fresh, "done")])
    assert id not in store.entries and not store.dead
