"""The backend conformance suite, run against every in-process adapter. Their jobs run where they
are enqueued, so the worker-process, inspector and reconnect tests report "not applicable"."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.errors import SerializationError
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing import BackendConformance


class TestInlineAdapter(BackendConformance):
    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        return InlineAdapter()

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert done(), "inline jobs run inside perform_later; nothing may be left to drain"


class TestAsyncAdapter(BackendConformance):
    """The async adapter's store under the suite's own in-process worker (``autostart=False``
    offers it as ``worker_backend()``), so the outcome, inspector and dashboard tests run on it
    exactly as on the durable backends."""

    @pytest.fixture
    def adapter(self) -> Iterator[QueueAdapter]:
        adapter = AsyncAdapter(concurrency=3, autostart=False)
        yield adapter
        adapter.shutdown(timeout=5)


class TestAsyncAdapterAutostarted(BackendConformance):
    """As applications run it: its own worker threads, started by the first enqueue."""

    @pytest.fixture
    def adapter(self) -> Iterator[QueueAdapter]:
        adapter = AsyncAdapter(concurrency=3)
        yield adapter
        adapter.shutdown(timeout=5)

    @pytest.fixture
    def quiet(self, adapter: QueueAdapter) -> Iterator[QueueAdapter]:
        """No worker runs: its threads start with the first enqueue, so a test that looks at
        waiting jobs (a unique lock held, a job to cancel) holds them off, as if no job had been
        enqueued yet. Otherwise they race the test, and it asserts on a job already run."""
        assert isinstance(adapter, AsyncAdapter)
        adapter.autostart = False
        with queue_adapters.override(adapter):
            yield adapter

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert isinstance(adapter, AsyncAdapter)
        adapter.wait_idle(timeout, include_scheduled=not done())
        if not done():  # a scheduled job became due after idling: wait for it too
            adapter.wait_idle(timeout, include_scheduled=True)


class TestTestAdapter(BackendConformance):
    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        return TestAdapter()

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert isinstance(adapter, TestAdapter)
        deadline = datetime.now(UTC).timestamp() + timeout
        while not done() and datetime.now(UTC).timestamp() < deadline:
            try:
                adapter.perform_enqueued(lambda record: True, at=datetime.now(UTC))
            except (RuntimeError, SerializationError) as exc:
                if "fails on purpose" not in str(exc) and "cannot be stored" not in str(exc):
                    raise
                continue  # the failing job is out of the queue: perform the rest
            future = [r.at for r in adapter.enqueued_jobs if r.at is not None]
            if not done() and future:
                # Only jobs scheduled later are left: wait for the clock, not for another thread.
                time.sleep(max(0.0, min(future).timestamp() - time.time()))


SUITE_RUN = """
import pytest

from jobframe.backend import Capabilities
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing import BackendConformance


class DurableWithoutHarness(TestAdapter):
    capabilities = Capabilities(bulk=True, raw_payloads=True, durable=True)


class TestInline(BackendConformance):
    @pytest.fixture
    def adapter(self):
        return InlineAdapter()


class TestForgetful(BackendConformance):
    @pytest.fixture
    def adapter(self):
        return DurableWithoutHarness()
"""


def _run_suite(tmp_path: Path, *args: str) -> str:
    (tmp_path / "test_suite_run.py").write_text(SUITE_RUN)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args]
    done = subprocess.run(
        [*command, "test_suite_run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    return done.stdout


def test_what_an_adapter_does_not_declare_is_reported_not_applicable_by_name(
    tmp_path: Path,
) -> None:
    out = _run_suite(tmp_path, "-k", "TestInline and (backoff or sigkill_mid or every_dashboard)")
    assert (
        "not applicable: <InlineAdapter inline> does not declare Capabilities.delay"
        " [TestInline::test_a_retry_waits_for_its_backoff]" in out
    )
    assert (
        "not applicable: <InlineAdapter inline> does not declare Capabilities.durable"
        " [TestInline::test_sigkill_mid_job_reruns_on_another_process]" in out
    )
    assert (
        "not applicable: <InlineAdapter inline> has no inspector (adapter.inspector() is None)"
        " [TestInline::test_every_dashboard_page_renders_and_acts]" in out
    )
    skips = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 3 and all("not applicable: " in line for line in skips), out


def test_a_durable_adapter_without_a_harness_fails_instead_of_skipping(tmp_path: Path) -> None:
    out = _run_suite(tmp_path, "-k", "TestForgetful and second_sigterm")
    assert "1 error" in out, out  # the `workers` fixture fails: the test never starts
    assert "declares Capabilities.durable but its conformance class gives no worker harness" in out
