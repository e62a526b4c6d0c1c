"""The async adapter beyond the conformance suite: priorities, shutdown, draining at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.queue_adapters.async_adapter import AsyncAdapter

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
