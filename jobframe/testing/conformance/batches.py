"""Batches (`jobframe.batch`, DESIGN.md 6.4): every job counted once in the state it ended in,
callbacks enqueued exactly once and only once the batch is sealed, ``on_success`` only when no
job failed, went dead, was discarded or cancelled (and later, when a job retried from the dead set
succeeds), jobs enqueued by a batch job joining its batch, and a 1,000-job `perform_all_later`.

Gated by ``Capabilities.batches``; runs with the suite's in-process worker (`active`), or the
adapter's own way of running jobs (``drain``)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.results import BatchInfo
from jobframe.testing.batch_jobs import BatchCallbackJob, BatchJob
from jobframe.testing.conformance.base import ConformanceBase, require, require_inspector
from jobframe.testing.conformance_jobs import read
from jobframe.testing.workers import wait_until


def callbacks_run(journal: str) -> Counter[str]:
    """How many times each callback kind ran (``on_success``, ``on_complete``)."""
    tags = [e["tag"] for e in read(journal)]
    return Counter(tag.split(":", 1)[1] for tag in tags if tag.startswith("callback:"))


def callbacks(journal: str) -> dict[str, Any]:
    """``on_success`` and ``on_complete`` callback jobs recording into ``journal``."""
    return {
        "on_success": BatchCallbackJob(journal, "on_success"),
        "on_complete": BatchCallbackJob(journal, "on_complete"),
    }


def failing(adapter: QueueAdapter, enqueue: Callable[[], Any]) -> None:
    """Enqueue a job that fails: where jobs perform in the caller (inline), its error surfaces
    here, and is expected."""
    if not adapter.capabilities.performs_in_caller:
        enqueue()
        return
    with contextlib.suppress(RuntimeError):
        enqueue()


class BatchTests(ConformanceBase):
    def _finished(self, adapter: QueueAdapter, batch_id: str, journal: str,
                  kinds: tuple[str, ...] = ("on_complete",)) -> BatchInfo:  # fmt: skip
        """Wait for the batch's callbacks ``kinds`` to have run; its counts then."""
        self.drain(adapter, lambda: all(callbacks_run(journal)[k] for k in kinds),
                   self.wait_timeout)  # fmt: skip
        ran = callbacks_run(journal)
        assert all(ran[k] for k in kinds), f"callbacks {kinds} did not run: {ran}"
        info = jobframe.batch_status(batch_id)
        assert info is not None, f"batch {batch_id} is unknown after it finished"
        return info

    def _settled(self, adapter: QueueAdapter, journal: str, count: int) -> None:
        """Let every job run (a duplicate callback would have run by then too)."""
        self.drain(adapter, lambda: len(read(journal)) >= count, self.wait_timeout)
        inspector = adapter.inspector()
        if inspector is not None and adapter.worker_backend() is not None:
            wait_until(lambda: inspector.count("ready") + inspector.count("running") == 0,
                       self.wait_timeout, "no job left ready or running")  # fmt: skip

    def test_a_batch_counts_each_job_in_the_state_it_ended_in(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        with jobframe.batch(**callbacks(journal), description="mixed") as batch:
            for i in range(3):
                BatchJob.perform_later(journal, f"ok-{i}")
            failing(active, lambda: BatchJob.perform_later(journal, "failing", "fail"))
            BatchJob.perform_later(journal, "discarded", "discard")
        assert isinstance(batch, jobframe.Batch) and batch.description == "mixed"
        info = self._finished(active, batch.id, journal)
        assert (info.total, info.pending, info.succeeded, info.failed, info.discarded) == (
            5, 0, 3, 1, 1), info  # fmt: skip
        assert info.sealed and info.finished_at is not None
        assert set(info.callbacks) == {"on_success", "on_complete"}
        self._settled(active, journal, 6)
        assert callbacks_run(journal) == {"on_complete": 1}, "on_success fired with a failed job"
        assert "on_complete" in jobframe.batch_status(batch.id).fired  # type: ignore[union-attr]
        callback = next(e for e in read(journal) if e["tag"] == "callback:on_complete")
        assert callback["callback_batch_id"] == batch.id and callback["batch_id"] is None
        jobs = [e for e in read(journal) if not e["tag"].startswith("callback:")]
        assert {e["batch_id"] for e in jobs} == {batch.id}
        assert batch.total == 5 and batch.failed == 1 and batch.pending == 0

    def test_both_callbacks_fire_exactly_once_when_every_job_succeeds(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        with jobframe.batch(**callbacks(journal)) as batch:
            jobframe.perform_all_later(BatchJob(journal, f"ok-{i}") for i in range(20))
        info = self._finished(active, batch.id, journal, ("on_complete", "on_success"))
        assert (info.total, info.succeeded, info.pending) == (20, 20, 0)
        self._settled(active, journal, 22)
        assert callbacks_run(journal) == {"on_complete": 1, "on_success": 1}
        assert sorted(info.fired) == ["on_complete", "on_success"]

    def test_an_unsealed_batch_never_fires(self, active: QueueAdapter, journal: str) -> None:
        """However many of its jobs finished, a batch fires nothing before its block ends."""
        require(active, "batches")
        with jobframe.batch(**callbacks(journal)) as batch:
            BatchJob.perform_later(journal, "only")
            self.drain(active, lambda: len(read(journal)) >= 1, self.wait_timeout)
            wait_until(lambda: batch.pending == 0, self.wait_timeout, "the job to be counted")
            assert not batch.status().sealed
            assert not callbacks_run(journal), "a callback fired before the batch was sealed"
        info = self._finished(active, batch.id, journal, ("on_complete", "on_success"))
        assert info.sealed and info.succeeded == 1

    def test_an_empty_batch_fires_when_sealed(self, active: QueueAdapter, journal: str) -> None:
        require(active, "batches")
        with jobframe.batch(**callbacks(journal)) as batch:
            pass
        info = self._finished(active, batch.id, journal, ("on_complete", "on_success"))
        assert info.total == 0

    def test_a_batch_raising_in_its_block_is_sealed_all_the_same(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        opened: list[str] = []
        try:
            with jobframe.batch(on_complete=BatchCallbackJob(journal, "on_complete")) as batch:
                opened.append(batch.id)
                BatchJob.perform_later(journal, "before the error")
                raise KeyError("the block fails")
        except KeyError:
            pass
        info = self._finished(active, opened[0], journal)
        assert info.sealed and info.total == 1

    def test_a_job_retried_from_the_dead_set_that_succeeds_fires_on_success(
        self, active: QueueAdapter, journal: str, tmp_path: Path
    ) -> None:
        require(active, "batches")
        inspector = require_inspector(active)
        marker = tmp_path / "may-succeed"
        with jobframe.batch(**callbacks(journal)) as batch:
            BatchJob.perform_later(journal, "ok")
            doomed = BatchJob.perform_later(journal, "doomed", "fail_unless", str(marker))
        info = self._finished(active, batch.id, journal)
        assert (info.failed, info.succeeded, info.pending) == (1, 1, 0)
        assert callbacks_run(journal) == {"on_complete": 1}
        dead = wait_until(lambda: [j for j in inspector.jobs("dead") if j.job_id == doomed.job_id],
                          self.wait_timeout, "the failed job in the dead set")  # fmt: skip
        marker.touch()
        assert inspector.retry([dead[0].id]) == 1
        info = self._finished(active, batch.id, journal, ("on_success",))
        assert (info.total, info.failed, info.succeeded, info.pending) == (2, 0, 2, 0)
        self._settled(active, journal, 5)
        assert callbacks_run(journal) == {"on_complete": 1, "on_success": 1}

    def test_jobs_enqueued_by_a_batch_job_join_its_batch(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        with jobframe.batch(**callbacks(journal)) as batch:
            BatchJob.perform_later(journal, "parent", "children", 3)
        info = self._finished(active, batch.id, journal, ("on_complete", "on_success"))
        assert (info.total, info.succeeded) == (4, 4)
        lines = read(journal)
        children = [e for e in lines if e["tag"].startswith("parent.child-")]
        assert len(children) == 3 and {e["batch_id"] for e in children} == {batch.id}
        fired = next(e for e in lines if e["tag"] == "callback:on_complete")
        assert fired["t"] >= max(e["t"] for e in children), "the callback ran before a child"

    def test_a_nested_batch_counts_its_jobs_in_itself_only(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        with jobframe.batch() as outer:
            BatchJob.perform_later(journal, "outer")
            with jobframe.batch(on_complete=BatchCallbackJob(journal, "on_complete")) as inner:
                BatchJob.perform_later(journal, "inner")
            BatchJob.perform_later(journal, "outer again")
        info = self._finished(active, inner.id, journal)
        assert info.total == 1
        self.drain(active, lambda: len(read(journal)) >= 4, self.wait_timeout)
        wait_until(lambda: outer.pending == 0, self.wait_timeout, "the outer batch to finish")
        assert outer.total == 2

    def test_perform_all_later_of_1000_jobs_in_a_batch(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "batches")
        with jobframe.batch(**callbacks(journal)) as batch:
            count = jobframe.perform_all_later(BatchJob(journal, str(i)) for i in range(1000))
        assert count == 1000
        assert batch.total == 1000
        info = self._finished(active, batch.id, journal, ("on_complete", "on_success"))
        assert (info.total, info.succeeded, info.pending) == (1000, 1000, 0)
        self._settled(active, journal, 1002)
        assert callbacks_run(journal) == {"on_complete": 1, "on_success": 1}

    def test_batches_lists_the_newest_first(self, active: QueueAdapter) -> None:
        require(active, "batches")
        with jobframe.batch(description="first") as first:
            pass
        with jobframe.batch(description="second") as second:
            pass
        store = active.results()
        assert store is not None
        listed = store.batches(0, 50)
        ids = [info.id for info in listed]
        assert second.id in ids and first.id in ids
        times = {info.id: info.created_at for info in listed}
        if times[first.id] < times[second.id]:  # not within the store's clock resolution
            assert ids.index(second.id) < ids.index(first.id)
        assert jobframe.batch_status("no-such-batch") is None
