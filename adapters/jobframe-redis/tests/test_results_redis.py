"""`RedisResults` directly, against the contract's docstrings (`jobframe.backend.results`): the
job_id index through every state and every way a job leaves, records and their expiry, wake-ups,
progress."""

from __future__ import annotations

import threading
import time

from jobframe.backend.results import JobRecord
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.connection import dump

from .results_support import claim_all, enqueue, finish, job_id_of, now_ms, payload, record


def indexed(adapter: RedisAdapter, job_id: str) -> str | None:
    at = adapter.store.client.hget(adapter.store.keys.ids, job_id)
    return None if at is None else at.decode().split("|", 1)[0]


def test_status_follows_a_job_from_scheduled_to_its_record(adapter: RedisAdapter) -> None:
    results = adapter.results()
    assert adapter.results() is results, "one store per adapter"
    _, later = enqueue(adapter, at_ms=now_ms() + 3_600_000)
    id, job_id = enqueue(adapter)
    assert results.status(later).state == "scheduled"
    assert results.status(job_id).state == "ready"
    assert indexed(adapter, job_id) == id
    (claim,) = claim_all(adapter)
    results.progress(job_id, b'{"progress":{"fraction":0.5}}', 60)
    running = results.status(job_id)
    assert running.state == "running"
    assert running.progress == b'{"progress":{"fraction":0.5}}'
    assert running.record is None
    finish(adapter, claim, records=(record(job_id),))
    ended = results.status(job_id)
    assert ended.state is None and ended.progress is None
    assert ended.record == JobRecord(job_id, "succeeded", b'{"has_result":true,"result":42}', 60)
    assert indexed(adapter, job_id) is None, "a finished job left its index entry"
    assert results.status("never-seen").state is None
    assert results.status("never-seen").record is None


def test_a_failed_job_is_dead_with_its_record_and_a_retry_takes_over_the_index(
    adapter: RedisAdapter,
) -> None:
    results = adapter.results()
    _, job_id = enqueue(adapter)
    (claim,) = claim_all(adapter)
    finish(adapter, claim, "failed", (record(job_id, "failed", data=b"{}"),))
    state = results.status(job_id)
    assert (state.state, state.record and state.record.status) == ("dead", "failed")
    # a retried attempt: done with a retry of the same job_id, recorded "retrying"
    _, other = enqueue(adapter)
    (claim,) = claim_all(adapter)
    retry_id = "retry-" + other
    retry = (retry_id, "default", 0, now_ms() + 3_600_000, payload(other), other, "")
    finish(adapter, claim, records=(record(other, "retrying", data=b"{}"),), retries=(retry,))
    state = results.status(other)
    assert (state.state, state.record and state.record.status) == ("scheduled", "retrying")
    assert indexed(adapter, other) == retry_id


def test_every_way_a_waiting_job_leaves_removes_its_index_entry(adapter: RedisAdapter) -> None:
    results, inspector = adapter.results(), adapter.inspector()
    _, cancelled = enqueue(adapter)
    assert inspector.cancel(cancelled) == "cancelled"
    state = results.status(cancelled)
    assert state.state is None and state.record is not None
    assert state.record.status == "cancelled"
    assert b'"reason":"cancelled"' in state.record.data
    _, cleared = enqueue(adapter, queue="cleared")
    assert inspector.clear("cleared") == 1
    assert results.status(cleared).record.status == "discarded"  # type: ignore[union-attr]
    discarded_id, discarded = enqueue(adapter)
    assert inspector.discard([discarded_id], state="ready") == 1
    assert results.status(discarded).record.status == "discarded"  # type: ignore[union-attr]
    _, dead = enqueue(adapter)
    (claim,) = claim_all(adapter)
    finish(adapter, claim, "failed", (record(dead, "failed", data=b"{}"),))
    assert inspector.discard(all=True) == 1
    assert results.status(dead).state is None
    assert adapter.store.client.hlen(adapter.store.keys.ids) == 0


def test_a_dead_job_retried_from_the_dead_set_is_ready_again(adapter: RedisAdapter) -> None:
    results = adapter.results()
    id, job_id = enqueue(adapter)
    (claim,) = claim_all(adapter)
    finish(adapter, claim, "failed", (record(job_id, "failed", data=b"{}"),))
    assert adapter.inspector().retry([id]) == 1
    state = results.status(job_id)
    assert (state.state, state.record and state.record.status) == ("ready", "failed")


def test_a_poison_pill_gets_a_dead_record(adapter: RedisAdapter) -> None:
    results = adapter.results()
    _, job_id = enqueue(adapter)
    (claim,) = claim_all(adapter)
    counts = adapter.worker_backend().maintain(heartbeat_timeout=-1, max_crashes=1)
    assert counts["dead"] == 1
    state = results.status(job_id)
    assert state.state == "dead" and state.record is not None
    assert state.record.status == "dead"
    assert b"jobframe.WorkerCrashed" in state.record.data
    assert claim.id == indexed(adapter, job_id)


def test_records_expire_with_their_ttl(adapter: RedisAdapter) -> None:
    results = adapter.results()
    results.write([record("short", ttl=0.2), record("long", ttl=600)])
    client, base = adapter.store.client, adapter.store.keys.base
    assert 0 < client.pttl(f"{base}rec:short") <= 200
    assert 590_000 < client.pttl(f"{base}rec:long") <= 600_000
    deadline = time.monotonic() + 5
    while results.status("short").record is not None:
        assert time.monotonic() < deadline, "the record did not expire"
        time.sleep(0.05)
    assert results.status("long").record is not None


def test_wait_returns_a_final_record_at_once_and_times_out(adapter: RedisAdapter) -> None:
    results = adapter.results()
    results.write([record("there")])
    got = results.wait("there", 5)
    assert got is not None and (got.status, got.data) == ("succeeded", record("there").data)
    results.write([record("retrying", "retrying")])
    started = time.monotonic()
    assert results.wait("retrying", 0.3) is None
    assert 0.25 < time.monotonic() - started < 2


def test_every_waiter_is_woken_by_the_complete_script(adapter: RedisAdapter) -> None:
    results = adapter.results()
    _, job_id = enqueue(adapter)
    (claim,) = claim_all(adapter)
    woken: list[tuple[float, JobRecord | None]] = []
    ready = threading.Barrier(5)

    def waiter() -> None:
        ready.wait(5)
        got = results.wait(job_id, 20)
        woken.append((time.monotonic(), got))

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for thread in threads:
        thread.start()
    ready.wait(5)
    time.sleep(0.2)  # let the waiters reach BLMOVE: what is measured is the wake-up
    finished_at = time.monotonic()
    finish(adapter, claim, records=(record(job_id),))
    for thread in threads:
        thread.join(10)
    assert len(woken) == 4
    assert all(got is not None and got.status == "succeeded" for _, got in woken)
    latency = max(at for at, _ in woken) - finished_at
    assert latency < 0.5, f"waiters woke {latency:.3f} s after the record, not woken by Redis"


def test_progress_is_one_expiring_key_shown_only_while_running(adapter: RedisAdapter) -> None:
    results = adapter.results()
    _, job_id = enqueue(adapter)
    results.progress(job_id, b'{"progress":{"fraction":0.1}}', 30)
    assert results.status(job_id).progress is None, "not running yet"
    key = f"{adapter.store.keys.base}prog:{job_id}"
    assert 0 < adapter.store.client.pttl(key) <= 30_000


def test_a_foreign_payload_is_indexed_by_decoding_it(adapter: RedisAdapter) -> None:
    id = adapter.enqueue_raw("default", dump({"arguments": [], "job_id": "foreign"}))
    assert indexed(adapter, "foreign") == id
    (claim,) = claim_all(adapter)
    assert job_id_of(claim) == "foreign"
    finish(adapter, claim)
    assert indexed(adapter, "foreign") is None


def test_the_worker_reads_a_job_id_only_from_the_head_of_a_jobframe_payload() -> None:
    from jobframe_redis.worker_backend import job_id_of

    assert job_id_of(payload("abc-1")) == "abc-1"
    assert job_id_of(dump({"arguments": [{"job_id": "decoy"}], "job_id": "x"})) == ""
    assert job_id_of(b"not json") == ""
