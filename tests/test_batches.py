"""Batches in the core: the batch id every enqueue in the block carries, refusals, the payload
keys, and `MemoryBatches`' counting and exactly-once callbacks (the backends' part is in the
conformance suite, `jobframe.testing.conformance.batches`)."""

from __future__ import annotations

import asyncio
import time

import pytest

import jobframe
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.results import BatchCallback, BatchInfo, JobRecord
from jobframe.errors import DeserializationError, InvalidOptionError, UnsupportedError
from jobframe.queue_adapters.memory_batches import MemoryBatches
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing import JobsHelper
from jobframe.testing.batch_jobs import BatchCallbackJob, BatchJob


class NoBatchesAdapter(TestAdapter):
    """A test adapter that declares results but no batches."""

    __test__ = False
    name = "no-batches"
    capabilities = Capabilities(bulk=True, results=True)


def callback(kind: str) -> BatchCallback:
    return BatchCallback(f"provider-{kind}", "default", 0, b"{}", f"job-{kind}")


def opened(book: MemoryBatches, ttl: float = 60.0) -> str:
    book.open(BatchInfo("b1", None, time.time()),
              {"on_success": callback("on_success"), "on_complete": callback("on_complete")},
              ttl)  # fmt: skip
    return "b1"


def final(job_id: str, status: str) -> JobRecord:
    return JobRecord(job_id, status, b"{}", 60, batch_id="b1")  # type: ignore[arg-type]


# -- MemoryBatches --------------------------------------------------------------------------------


def test_a_job_is_counted_once_however_often_it_is_enqueued() -> None:
    book = MemoryBatches()
    opened(book)
    book.join("b1", "j1")
    book.join("b1", "j1")  # a retry, a continuation: the same job
    book.join("b1", "j2")
    book.join("other", "j3")  # an unknown batch: nothing
    book.join(None, "j4")
    info = book.get("b1")
    assert info is not None and (info.total, info.pending) == (2, 2)


def test_an_unsealed_batch_fires_nothing_and_the_seal_fires_once() -> None:
    book = MemoryBatches()
    opened(book)
    book.join("b1", "j1")
    assert book.finish([final("j1", "succeeded")]) == []
    due = book.seal("b1")
    assert sorted(cb.job_id for cb in due) == ["job-on_complete", "job-on_success"]
    assert book.seal("b1") == [] and book.finish([final("j1", "succeeded")]) == []
    info = book.get("b1")
    assert info is not None and info.sealed and info.finished_at is not None
    assert sorted(info.fired) == ["on_complete", "on_success"]


def test_on_success_waits_for_a_failed_job_retried_from_the_dead_set() -> None:
    book = MemoryBatches()
    opened(book)
    book.join("b1", "j1")
    book.join("b1", "j2")
    assert book.seal("b1") == []
    assert book.finish([final("j1", "succeeded"), final("j2", "retrying")]) == []
    due = book.finish([final("j2", "failed")])
    assert [cb.job_id for cb in due] == ["job-on_complete"]
    info = book.get("b1")
    assert info is not None and (info.failed, info.succeeded, info.pending) == (1, 1, 0)
    book.join("b1", "j2")  # retried from the dead set: already a member
    due = book.finish([final("j2", "succeeded")])
    assert [cb.job_id for cb in due] == ["job-on_success"]
    info = book.get("b1")
    assert info is not None and (info.total, info.failed, info.succeeded) == (2, 0, 2)
    assert book.finish([final("j2", "succeeded")]) == []


@pytest.mark.parametrize("status", ["failed", "dead", "discarded", "cancelled"])
def test_every_unsuccessful_end_keeps_on_success_from_firing(status: str) -> None:
    book = MemoryBatches()
    opened(book)
    book.join("b1", "j1")
    book.seal("b1")
    assert [cb.job_id for cb in book.finish([final("j1", status)])] == ["job-on_complete"]
    info = book.get("b1")
    assert info is not None and getattr(info, status) == 1 and info.pending == 0


def test_a_finished_batch_expires_after_its_ttl_and_is_listed_newest_first() -> None:
    book = MemoryBatches()
    book.open(BatchInfo("old", "first", 1.0), {}, 60)
    book.open(BatchInfo("new", "second", 2.0), {}, 60)
    assert [i.id for i in book.newest()] == ["new", "old"]
    assert [i.id for i in book.newest(1, 5)] == ["old"]
    book.open(BatchInfo("brief", None, 3.0), {}, -1.0)
    book.seal("brief")  # finished, with a ttl already past
    assert book.get("brief") is None and book.get("old") is not None


# -- the batch block ------------------------------------------------------------------------------


def test_every_kind_of_enqueue_in_the_block_carries_the_batch_id(jobs: JobsHelper) -> None:
    with jobframe.batch(description="import") as batch:
        BatchJob.perform_later("/dev/null", "a")
        BatchJob.set(queue="low").perform_later("/dev/null", "b")
        BatchJob("/dev/null", "c").enqueue()
        jobframe.perform_all_later([BatchJob("/dev/null", "d")])
        asyncio.run(BatchJob.aperform_later("/dev/null", "e"))
    BatchJob.perform_later("/dev/null", "outside")
    ids = {r.args[1]: r.payload.get("batch_id") for r in jobs.enqueued_jobs}
    assert ids == {"a": batch.id, "b": batch.id, "c": batch.id, "d": batch.id, "e": batch.id,
                   "outside": None}  # fmt: skip
    assert "batch_id" not in jobs.enqueued_jobs[-1].payload, "other payloads stay as they were"
    assert batch.total == 5 and batch.pending == 5 and batch.status().sealed
    assert repr(batch) == f"<jobframe.Batch {batch.id} import>"


def test_callbacks_know_their_batch_and_count_in_none(jobs: JobsHelper, tmp_path) -> None:
    journal = str(tmp_path / "j.jsonl")
    with jobframe.batch(on_success=BatchCallbackJob(journal, "on_success")) as batch:
        BatchJob.perform_later(journal, "a")
    jobs.perform_enqueued_jobs()
    fired = [r for r in jobs.performed_jobs if r.job_class is BatchCallbackJob]
    assert len(fired) == 1
    assert fired[0].payload["callback_batch_id"] == batch.id
    assert "batch_id" not in fired[0].payload
    info = jobframe.batch_status(batch.id)
    assert info is not None and info.fired == ("on_success",), "only the callbacks it has"
    assert info.callbacks == {"on_success": fired[0].job_id}


def test_a_block_that_raises_still_seals_its_batch(jobs: JobsHelper) -> None:
    with pytest.raises(KeyError), jobframe.batch() as batch:
        BatchJob.perform_later("/dev/null", "a")
        raise KeyError("boom")
    assert batch.status().sealed and batch.total == 1
    BatchJob.perform_later("/dev/null", "after")
    assert "batch_id" not in jobs.enqueued_jobs[-1].payload


def test_a_nested_batch_keeps_its_jobs_to_itself(jobs: JobsHelper) -> None:
    with jobframe.batch() as outer:
        BatchJob.perform_later("/dev/null", "a")
        with jobframe.batch() as inner:
            BatchJob.perform_later("/dev/null", "b")
        BatchJob.perform_later("/dev/null", "c")
    assert (outer.total, inner.total) == (2, 1)
    assert inner.status().sealed and outer.status().sealed


def test_child_jobs_of_a_batch_job_join_its_batch(jobs: JobsHelper) -> None:
    with jobframe.batch() as batch:
        BatchJob.perform_later("/dev/null", "parent", "children", 2)
    jobs.perform_enqueued_jobs()
    assert batch.total == 3 and batch.succeeded == 3 and batch.pending == 0


def test_an_adapter_without_batches_is_refused() -> None:
    adapter = NoBatchesAdapter()
    with pytest.raises(UnsupportedError, match="batches"), jobframe.batch(adapter=adapter):
        pass
    assert jobframe.batch(adapter=TestAdapter()) is not None
    job = BatchJob("/dev/null", "x")
    job.batch_id = "some-batch"
    with jobframe.queue_adapters.override(adapter), pytest.raises(UnsupportedError):
        job.enqueue()
    assert adapter.enqueued_jobs == []


def test_a_job_of_the_batch_on_another_adapter_is_refused() -> None:
    elsewhere = TestAdapter()

    class ElsewhereJob(BatchJob):
        job_name = "tests.batches.ElsewhereJob"
        queue_adapter = elsewhere

    with jobframe.batch(adapter=TestAdapter()), pytest.raises(InvalidOptionError, match="adapter"):
        ElsewhereJob.perform_later("/dev/null", "x")
    callback = ElsewhereJob("/dev/null", "cb")
    with (
        pytest.raises(InvalidOptionError, match="callback"),
        jobframe.batch(adapter=TestAdapter(), on_complete=callback),
    ):
        pass
    assert elsewhere.enqueued_jobs == []


def test_the_payload_keys_round_trip_and_are_checked() -> None:
    job = BatchJob("/dev/null", "x")
    job.batch_id, job.callback_batch_id = "b1", "b0"
    data = job.serialize()
    assert (data["batch_id"], data["callback_batch_id"]) == ("b1", "b0")
    back = BatchJob.deserialize(data)
    assert (back.batch_id, back.callback_batch_id) == ("b1", "b0")
    assert BatchJob.deserialize({**data, "batch_id": None}).batch_id is None
    with pytest.raises(DeserializationError):
        BatchJob.deserialize({**data, "batch_id": 3})
    with pytest.raises(DeserializationError):
        BatchJob.deserialize({**data, "chain_info": [], "chain": []})
