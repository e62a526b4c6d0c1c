"""The async adapter beyond the conformance suite: priorities, retries and the dead set, its
worker on the inspector, shutdown, draining at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import wait_until

order: list[str] = []
gate = threading.Event()


class GateJob(jobframe.Job):
    def perform(self) -> None:
        assert gate.wait(10), "the test never opened the gate"


class OrderJob(jobframe.Job):
    def perform(self, name: str) -> None:
        order.append(name)


@pytest.fixture
def single() -> Iterator[AsyncAdapter]:
    adapter = AsyncAdapter(concurrency=1)
    order.clear()
    gate.clear()
    with queue_adapters.override(adapter):
        yield adapter
    gate.set()
    adapter.shutdown(timeout=5)


def test_lower_priority_number_runs_first_then_fifo(single: AsyncAdapter) -> None:
    GateJob.perform_later()  # occupies the only thread while the others queue up
    OrderJob.set(priority=5).perform_later("p5-first")
    OrderJob.perform_later("none")
    OrderJob.set(priority=1).perform_later("p1")
    OrderJob.set(priority=5).perform_later("p5-second")
    gate.set()
    assert single.wait_idle(10)
    assert order == ["p1", "p5-first", "p5-second", "none"]


def test_shutdown_refuses_new_jobs(single: AsyncAdapter) -> None:
    gate.set()
    single.shutdown(timeout=5)
    with pytest.raises(jobframe.EnqueueError, match="shutting down"):
        OrderJob.perform_later("late")


def test_configured_by_name_with_options() -> None:
    jobframe.configure(adapter="async", adapter_options={"concurrency": 2})
    adapter = queue_adapters.get()
    assert isinstance(adapter, AsyncAdapter) and adapter.concurrency == 2
    with pytest.raises(jobframe.ConfigurationError, match="concurrency"):
        AsyncAdapter(concurrency=0)
    with pytest.raises(jobframe.ConfigurationError, match=r"keep_failed must be an int >= 0"):
        AsyncAdapter(keep_failed=-1)


def test_drains_ready_jobs_at_interpreter_exit(tmp_path: object) -> None:
    script = textwrap.dedent(
        """
        import sys, jobframe
        class SlowJob(jobframe.Job):
            def perform(self, n):
                sys.stdout.write(f"done {n}\\n")
        jobframe.configure(adapter="async", adapter_options={"concurrency": 2})
        for n in range(6):
            SlowJob.perform_later(n)
        SlowJob.set(wait=3600).perform_later("never")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split("\n")[:-1]) == [f"done {n}" for n in range(6)]
    assert "shut down with 1 job(s) not run" in result.stderr


class AsyncPing(jobframe.Job):
    async def perform(self) -> None:
        order.append("async")


attempts: list[float] = []


@jobframe.retry_on(ValueError, wait=0.3, attempts=2)
class FlakyJob(jobframe.Job):
    def perform(self) -> None:
        attempts.append(time.monotonic())
        raise ValueError("fails on purpose")


def test_retries_wait_in_the_scheduled_set_then_the_job_is_dead(single: AsyncAdapter) -> None:
    attempts.clear()
    gate.set()
    FlakyJob.perform_later()
    inspector = single.inspector()
    wait_until(lambda: inspector.count("scheduled") == 1, 10, "the retry in the scheduled set")
    assert single.wait_idle(10, include_scheduled=True)
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.3 - 0.05
    [dead] = inspector.jobs("dead")
    assert dead.job_class is not None and dead.job_class.endswith("FlakyJob")
    assert dead.error is not None and "fails on purpose" in dead.error["message"]
    assert (single.performed, single.failed) == (2, 1)


def test_the_worker_shows_on_the_inspector(single: AsyncAdapter) -> None:
    gate.set()
    OrderJob.perform_later("one")
    assert single.wait_idle(10)
    [worker] = single.inspector().workers()
    assert worker.pid == os.getpid() and worker.concurrency == 1 and worker.queues == ["*"]


class BoomJob(jobframe.Job):
    def perform(self, n: int) -> None:
        raise RuntimeError(f"boom {n}")


def test_keep_failed_bounds_the_dead_set_oldest_first() -> None:
    adapter = AsyncAdapter(concurrency=1, keep_failed=2)
    try:
        with queue_adapters.override(adapter):
            ids = [BoomJob.perform_later(n).provider_job_id for n in range(3)]
        assert adapter.wait_idle(10)
        assert [info.id for info in adapter.inspector().jobs("dead")] == ids[:0:-1]
        assert adapter.failed == 3
    finally:
        adapter.shutdown(timeout=5)


def test_the_event_loop_of_async_jobs_is_closed_at_shutdown() -> None:
    adapter = AsyncAdapter(concurrency=1)
    order.clear()
    with queue_adapters.override(adapter):
        AsyncPing.perform_later()
    assert adapter.wait_idle(10) and order == ["async"]
    assert adapter._worker is not None
    loop = adapter._worker._pool._loop
    assert loop is not None
    adapter.shutdown(timeout=5)
    wait_until(loop.is_closed, 10, "the event loop to be closed")


def test_scheduled_jobs_are_not_promoted_while_draining_at_exit() -> None:
    script = textwrap.dedent(
        """
        import sys, threading, jobframe
        started = threading.Event()
        class HoldJob(jobframe.Job):
            def perform(self):
                started.set()
                threading.Event().wait(1.0)  # still running when the scheduled job is due
                sys.stdout.write("held\\n")
        class SoonJob(jobframe.Job):
            def perform(self):
                sys.stdout.write("soon\\n")
        jobframe.configure(adapter="async", adapter_options={"concurrency": 2})
        HoldJob.perform_later()
        assert started.wait(10)
        SoonJob.set(wait=0.2).perform_later()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "held\n"
    assert "shut down with 1 job(s) not run (1 scheduled" in result.stderr


def test_shutdown_is_bounded_by_its_timeout_when_a_job_runs_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = AsyncAdapter(concurrency=1)
    gate.clear()
    with queue_adapters.override(adapter):
        GateJob.perform_later()
    wait_until(lambda: adapter.sizes()["running"] == 1, 10, "the job to start")
    began = time.monotonic()
    adapter.shutdown(timeout=0.5)
    assert time.monotonic() - began < 8, "shutdown waited for the job beyond its timeout"
    assert "shut down with 1 job(s) not run" in caplog.text
    gate.set()


def test_without_autostart_jobs_wait_for_a_worker_the_caller_runs() -> None:
    from jobframe.worker.runtime import Worker, WorkerOptions

    own = AsyncAdapter()
    assert own.worker_backend() is None, "with a worker of its own it offers none"
    own.shutdown(timeout=0)
    adapter = AsyncAdapter(autostart=False)
    order.clear()
    try:
        with queue_adapters.override(adapter):
            OrderJob.perform_later("waits")
            inspector = adapter.inspector()
            assert inspector.count("ready") == 1 and inspector.workers() == []
            backend = adapter.worker_backend()
            assert backend is adapter.store
            worker = Worker(backend, WorkerOptions(queues=["*"], concurrency=1))
            thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
            thread.start()
            try:
                assert adapter.wait_idle(10) and order == ["waits"]
            finally:
                worker.stop()
                thread.join(10)
    finally:
        adapter.shutdown(timeout=5)
