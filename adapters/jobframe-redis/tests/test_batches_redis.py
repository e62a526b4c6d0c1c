"""Batches in `RedisResults` directly, against the contract (`jobframe.backend.results`): counted
once at enqueue, counters moved by final records, callbacks enqueued exactly once, in the same
script as the count or seal that made them due."""

from __future__ import annotations

import time
import uuid

from jobframe.backend.ids import new_id
from jobframe.backend.results import BatchCallback, BatchInfo
from jobframe_redis.adapter import RedisAdapter

from .results_support import claim_all, enqueue, finish, job_id_of, payload, record


def open_batch(adapter: RedisAdapter, success: bool = True, complete: bool = True) -> str:
    bid = uuid.uuid4().hex
    callbacks = {}
    for kind, wanted in (("on_success", success), ("on_complete", complete)):
        if wanted:
            job_id = f"{kind}-{bid}"
            callbacks[kind] = BatchCallback(new_id(), "callbacks", 0, payload(job_id), job_id)
    info = BatchInfo(bid, "import", time.time())
    adapter.results().open_batch(info, callbacks, ttl=600)
    return bid


def fired(adapter: RedisAdapter) -> list[str]:
    """The job_ids of the callbacks enqueued so far (stored, waiting or claimed)."""
    names = adapter.store.client.hkeys(adapter.store.keys.ids)
    return sorted(n.decode() for n in names if n.startswith(b"on_"))


def test_a_batch_counts_its_jobs_once_and_fires_each_callback_once(adapter: RedisAdapter) -> None:
    results = adapter.results()
    bid = open_batch(adapter)
    ids = [enqueue(adapter, batch_id=bid)[1] for _ in range(3)]
    enqueue(adapter, ids[0], batch_id=bid)  # the same job_id again: counted once
    info = results.batch(bid)
    assert info is not None
    assert (info.total, info.pending, info.sealed, info.description) == (3, 3, False, "import")
    claims = claim_all(adapter)
    for claim in claims:
        job_id = job_id_of(claim)
        finish(adapter, claim, records=(record(job_id, batch=bid),))
    info = results.batch(bid)
    assert info is not None
    assert (info.pending, info.succeeded, info.fired) == (0, 3, ()), "fired before the seal"
    assert fired(adapter) == []
    results.seal_batch(bid)
    results.seal_batch(bid)  # sealing twice fires nothing twice
    info = results.batch(bid)
    assert info is not None and info.sealed and info.finished_at is not None
    assert info.fired == ("on_complete", "on_success")
    assert info.callbacks == {
        "on_success": f"on_success-{bid}",
        "on_complete": f"on_complete-{bid}",
    }
    assert fired(adapter) == [f"on_complete-{bid}", f"on_success-{bid}"]
    # a callback is a job like any other: indexed by its job_id
    assert results.status(f"on_success-{bid}").state == "ready"
    key = f"{adapter.store.keys.base}batch:{bid}"
    assert 0 < adapter.store.client.pttl(key) <= 600_000, "a finished batch expires"


def test_a_sealed_batch_fires_when_its_last_job_ends_and_on_success_only_if_all_succeeded(
    adapter: RedisAdapter,
) -> None:
    results = adapter.results()
    bid = open_batch(adapter)
    enqueue(adapter, batch_id=bid)
    enqueue(adapter, batch_id=bid)
    results.seal_batch(bid)
    first, second = claim_all(adapter)
    finish(adapter, first, "failed", (record(job_id_of(first), "failed", batch=bid),))
    info = results.batch(bid)
    assert info is not None and (info.pending, info.failed, info.fired) == (1, 1, ())
    finish(adapter, second, records=(record(job_id_of(second), "retrying", batch=bid),))
    assert results.batch(bid).pending == 1, "retrying moves nothing"  # type: ignore[union-attr]
    results.write([record(job_id_of(second), batch=bid)])
    info = results.batch(bid)
    assert info is not None and info.fired == ("on_complete",)
    assert fired(adapter) == [f"on_complete-{bid}"]
    # the failed job, retried from the dead set, succeeds: on_success fires then, once
    assert adapter.inspector().retry([first.id]) == 1
    (again,) = [c for c in claim_all(adapter) if c.queue != "callbacks"]
    finish(adapter, again, records=(record(job_id_of(again), batch=bid),))
    finish(adapter, again, records=(record(job_id_of(again), batch=bid),))  # a stale claim
    info = results.batch(bid)
    assert info is not None
    assert (info.total, info.pending, info.succeeded, info.failed) == (2, 0, 2, 0)
    assert info.fired == ("on_complete", "on_success")
    assert fired(adapter) == [f"on_complete-{bid}", f"on_success-{bid}"]


def test_a_payload_given_without_its_job_id_is_counted_from_its_payload(
    adapter: RedisAdapter,
) -> None:
    bid = open_batch(adapter)
    id = new_id()
    adapter.store.enqueue_one((id, "default", 0, 0, payload("raw-job", batch_id=bid)))
    info = adapter.results().batch(bid)
    assert info is not None and info.total == 1
    assert adapter.results().status("raw-job").state == "ready"


def test_cancelled_and_reaped_jobs_count_in_their_batch(adapter: RedisAdapter) -> None:
    results = adapter.results()
    bid = open_batch(adapter, success=False)
    _, waiting = enqueue(adapter, batch_id=bid)
    assert adapter.inspector().cancel(waiting) == "cancelled"
    enqueue(adapter, batch_id=bid)
    results.seal_batch(bid)
    claim_all(adapter)
    adapter.worker_backend().maintain(heartbeat_timeout=-1, max_crashes=1)
    info = results.batch(bid)
    assert info is not None
    assert (info.total, info.pending, info.cancelled, info.dead) == (2, 0, 1, 1)
    assert info.fired == ("on_complete",)


def test_an_empty_batch_fires_at_its_seal_and_batches_list_newest_first(
    adapter: RedisAdapter,
) -> None:
    results = adapter.results()
    older = open_batch(adapter, complete=False)
    newer = open_batch(adapter, complete=False)
    assert [b.id for b in results.batches()] == [newer, older]
    assert [b.id for b in results.batches(offset=1, limit=1)] == [older]
    results.seal_batch(older)
    assert fired(adapter) == [f"on_success-{older}"], "an empty batch succeeded"
    assert results.batch("unknown") is None
    results.seal_batch("unknown")  # nothing to seal: no error, nothing fired
    unsealed = adapter.store.client.pttl(f"{adapter.store.keys.base}batch:{newer}")
    assert unsealed > 86_400_000, "an unsealed batch is kept while its with block may run"


def test_ten_thousand_jobs_join_a_batch_with_one_script_per_chunk(adapter: RedisAdapter) -> None:
    from jobframe_redis.adapter import BULK_CHUNK

    bid = open_batch(adapter)
    ids = [uuid.uuid4().hex for _ in range(10_000)]
    entries = [(new_id(), "bulk", 0, 0, payload(j, "bulk", batch_id=bid), j, bid) for j in ids]
    store = adapter.store
    calls = 0
    for start in range(0, len(entries), BULK_CHUNK):
        chunk = store.enqueue_args(entries[start : start + BULK_CHUNK])
        store.run(store.enqueue, store.enqueue_keys, chunk)
        calls += 1
    info = adapter.results().batch(bid)
    assert info is not None and (info.total, info.pending) == (10_000, 10_000)
    assert calls == 10
