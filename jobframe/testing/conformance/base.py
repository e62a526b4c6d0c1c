"""The fixtures and gates every module of the conformance suite shares.

A backend's test class overrides ``adapter`` (and ``harness`` when its workers run in other
processes). A test that needs something the backend does not declare calls one of the
``require_*`` gates, which reports it as *not applicable*, by name, in pytest's ``-ra`` summary:
``SKIPPED ... not applicable: <InlineAdapter inline> does not declare Capabilities.delay``.
A test is never skipped silently, and a declared capability is never excused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import pytest

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import STATES, Inspector
from jobframe.backend.worker import WorkerBackend
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import read
from jobframe.testing.workers import worker_thread
from jobframe.worker.runtime import WorkerOptions

T = TypeVar("T")


def _running_test() -> str:
    """``TestClass::test_name`` of the test running now (pytest sets the variable)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    return "::".join(current.split("::")[-2:])


def not_applicable(adapter: QueueAdapter, why: str) -> None:
    """Report the running test as not applicable to ``adapter``: a skip whose reason names the
    test (``-ra`` shows each one, rather than folding them under the line that skipped)."""
    pytest.skip(f"not applicable: {adapter!r} {why} [{_running_test()}]")


def require(adapter: QueueAdapter, capability: str) -> None:
    """Go on only if ``adapter``'s class declares ``Capabilities.<capability>``."""
    if not getattr(type(adapter).capabilities, capability):
        not_applicable(adapter, f"does not declare Capabilities.{capability}")


def _present(adapter: QueueAdapter, part: T | None, method: str) -> T:
    if part is None:
        what = method.replace("_", " ")
        not_applicable(adapter, f"has no {what} (adapter.{method}() is None)")
    assert part is not None
    return part


def require_inspector(adapter: QueueAdapter) -> Inspector:
    return _present(adapter, adapter.inspector(), "inspector")


def require_worker_backend(adapter: QueueAdapter) -> WorkerBackend:
    return _present(adapter, adapter.worker_backend(), "worker_backend")


def require_harness(adapter: QueueAdapter, harness: WorkerHarness | None) -> WorkerHarness:
    """Worker-process tests run on a durable backend, which must then give a harness."""
    require(adapter, "durable")
    if harness is None:
        pytest.fail(
            f"{adapter!r} declares Capabilities.durable but its conformance class gives no "
            "worker harness: override the `harness` fixture to return a WorkerHarness."
        )
    return harness


#: What an `Inspector` declares it can tell (its class-level flags).
InspectorFlag = Literal["counts_outcomes", "counts_pending", "sees_workers"]


def tells(inspector: Inspector, what: InspectorFlag) -> bool:
    """Whether ``inspector`` declares it can tell ``what`` (``counts_outcomes``,
    ``counts_pending`` or ``sees_workers``, see `Inspector`). A test asserts what needs the flag
    only under ``if tells(...)``; the rest of the test still runs on every backend."""
    if what not in ("counts_outcomes", "counts_pending", "sees_workers"):
        raise ValueError(f"{what!r} is not a flag of Inspector: use counts_outcomes, "
                         "counts_pending or sees_workers")  # fmt: skip
    return bool(getattr(type(inspector), what))


def unfinished(inspector: Inspector) -> int:
    """`Inspector.pending` where the backend counts it; else the ready and scheduled jobs (the
    running ones are invisible to such a backend, see `Inspector.counts_pending`)."""
    if tells(inspector, "counts_pending"):
        return inspector.pending()
    return inspector.count("ready") + inspector.count("scheduled")


def counts(inspector: Inspector) -> dict[str, int]:
    """How many jobs are in each state."""
    return {state: inspector.count(state) for state in STATES}


def idle(dead: int = 0) -> dict[str, int]:
    """What `counts` is once every job has run."""
    return {"ready": 0, "scheduled": 0, "running": 0, "dead": dead, "blocked": 0}


class ConformanceBase:
    """Fixtures of the suite. Override ``adapter``; override ``harness`` for a durable backend."""

    #: seconds a test waits for jobs to be performed before failing
    wait_timeout: float = 20.0
    #: tests this backend cannot pass although it declares what they need, by test name, with
    #: the reason (reported as "not applicable: <reason>"); keep it empty if you can
    not_applicable: ClassVar[Mapping[str, str]] = {}

    #: True when a job whose outcome never reached the backend (its process was killed, or its
    #: connection dropped, between writing a retry and acknowledging the run) runs again, retry
    #: and all: a broker's redelivery. False when finishing a job and writing its retry are one
    #: guarded step, so only a run that was really cut short is repeated.
    redelivers: ClassVar[bool] = False
    #: True when the backend's ``maintain()`` reaps: it takes back the claims of a process whose
    #: heartbeat expired, so a stale claim can neither finish its job nor write its retry. False
    #: when the broker itself takes back a dead consumer's jobs (RabbitMQ redelivers unacknowledged
    #: messages when the connection closes): the reaper tests are then not applicable.
    reaps: ClassVar[bool] = True

    def require_reaper(self, adapter: QueueAdapter) -> None:
        """Go on only if the backend reaps (`reaps`), reporting the test not applicable if not."""
        if not self.reaps:
            not_applicable(adapter, "has no reaper: its broker takes back a dead consumer's "
                           "jobs by itself (the suite class sets reaps = False)")  # fmt: skip

    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        raise NotImplementedError("override the `adapter` fixture to return your adapter")

    @pytest.fixture
    def harness(self) -> WorkerHarness | None:
        """Worker processes of the backend (`WorkerHarness`); None for in-process adapters."""
        return None

    @pytest.fixture(autouse=True)
    def _excused(self, request: pytest.FixtureRequest) -> None:
        reason = self.not_applicable.get(getattr(request.node, "originalname", ""))
        if reason:
            pytest.skip(f"not applicable: {reason} [{_running_test()}]")

    @pytest.fixture
    def journal(self, tmp_path: Path) -> str:
        return str(tmp_path / "journal.jsonl")

    @pytest.fixture
    def quiet(self, adapter: QueueAdapter) -> Iterator[QueueAdapter]:
        """The adapter in use, with no worker running: jobs stay where enqueueing put them."""
        with queue_adapters.override(adapter):
            yield adapter

    @pytest.fixture
    def active(self, adapter: QueueAdapter) -> Iterator[QueueAdapter]:
        """The adapter in use, with a worker in this process when it has a worker backend."""
        backend = adapter.worker_backend()
        with queue_adapters.override(adapter):
            if backend is None:
                yield adapter
                return
            with worker_thread(backend, self.worker_options()):
                yield adapter
            inspector = adapter.inspector()
            if inspector is not None:
                assert not inspector.jobs("running"), "a job was left claimed after shutdown"

    @pytest.fixture
    def workers(
        self, adapter: QueueAdapter, harness: WorkerHarness | None
    ) -> Iterator[WorkerHarness]:
        """The harness of a durable backend, its adapter in use; every worker killed after."""
        pool = require_harness(adapter, harness)
        try:
            with queue_adapters.override(adapter):
                yield pool
        finally:
            pool.close()
            print(f"worker logs (tails), kills {pool.kills}:\n{pool.logs()}")  # shown on failure

    def crashes(self, adapter: QueueAdapter, provider_id: str) -> int | None:
        """How many crashes the backend has counted for a stored job, or None if it cannot say
        (then the suite checks reruns only, not the count the reaper keeps)."""
        return None

    def worker_options(self) -> WorkerOptions:
        """Options of the in-process worker of `active` (fast polls: the tests wait on it)."""
        return WorkerOptions(
            queues=["*"], concurrency=4, scheduler_interval=0.05, fetch_timeout=0.2
        )

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        """Make enqueued jobs run until ``done()`` is true (default: wait for the worker)."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the journal a worker (maybe another process) writes

    def _wait_for(
        self,
        adapter: QueueAdapter,
        journal: str,
        count: int,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
    ) -> list[dict[str, Any]]:
        def entries() -> list[dict[str, Any]]:
            return [e for e in read(journal) if where(e)]

        self.drain(adapter, lambda: len(entries()) >= count, self.wait_timeout)
        found = entries()
        assert len(found) >= count, (
            f"expected {count} performed job(s) within {self.wait_timeout}s, saw {found}"
        )
        return found
