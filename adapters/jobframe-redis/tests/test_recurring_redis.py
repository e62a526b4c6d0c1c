"""The Redis `RecurringStore` under a cut connection, and its key layout.

The conformance suite (`RecurringTests`) checks the claim's semantics on every backend; it has
no generic way to cut the connection of the test's own adapter, so the fault is checked here,
through a `Proxy` to the shared server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from jobframe.errors import DuplicateJobError, EnqueueError
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.recurrence import RecurringTask
from jobframe.testing.conformance_jobs import RecordingJob, UniqueJob
from jobframe.testing.tcp_proxy import Proxy
from jobframe_redis.adapter import RedisAdapter

TICK = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def proxy(redis_url: str) -> Iterator[Proxy]:
    proxy = Proxy(("127.0.0.1", 6379))
    try:
        yield proxy
    finally:
        proxy.close()


def _claim(adapter: RedisAdapter, task: RecurringTask, tick: datetime) -> bool:
    store = adapter.recurring()
    return enqueue_claimed(task.job(tick), adapter, lambda j: store.claim(task.name, tick, j))


def test_a_claim_whose_connection_is_cut_raises_writes_nothing_and_can_be_made_again(
    adapter: RedisAdapter, proxy: Proxy, prefix: str
) -> None:
    task = RecurringTask.build("nightly", RecordingJob, "every minute", args=("j", "tick"))
    cut = RedisAdapter(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, socket_timeout=5)
    try:
        wire = cut.store.wire
        assert wire is not None and wire.call("PING") == b"PONG"
        assert wire.idle, "no pooled connection to cut"
        proxy.close()  # the pooled connection dies, and a new one is refused
        with pytest.raises(EnqueueError, match="did not take the claim of task 'nightly'"):
            _claim(cut, task, TICK)
    finally:
        cut.shutdown()

    store, inspector = adapter.recurring(), adapter.inspector()
    assert store.last_runs() == {}
    assert inspector.count("ready") == 0
    assert not adapter.store.client.exists(adapter.store.keys.jobs, adapter.store.keys.recurring)

    assert _claim(adapter, task, TICK)
    assert not _claim(adapter, task, TICK)
    [job] = inspector.jobs("ready")
    payload = json.loads(adapter.store.client.hget(adapter.store.keys.jobs, job.id))
    assert (payload["recurring_task"], payload["scheduled_at"]) == ("nightly", TICK.isoformat())
    run = store.last_runs()["nightly"]
    assert (run.tick, run.job_id, run.provider_id) == (TICK, job.job_id, job.id)


def test_the_claim_stores_the_job_as_a_plain_enqueue_does(adapter: RedisAdapter) -> None:
    """Same keys, list (priority, then order) and payload bytes as `RedisAdapter.enqueue`."""
    task = RecurringTask.build(
        "urgent", RecordingJob, "every minute", args=("j", "tick"), queue="mail", priority=-5
    )
    plain = RecordingJob.set(queue="mail", priority=-5).perform_later("j", "plain")
    assert _claim(adapter, task, TICK)
    run = adapter.recurring().last_runs()["urgent"]
    assert run.provider_id is not None and plain.provider_job_id is not None
    client, keys = adapter.store.client, adapter.store.keys
    # the same priority's list, next in order
    assert client.lrange(keys.ready("mail", -5), 0, -1) == [
        plain.provider_job_id.encode(),
        run.provider_id.encode(),
    ]
    assert client.zrange(keys.priorities("mail"), 0, -1, withscores=True) == [(b"-5", -5.0)]
    job = adapter.inspector().job(run.provider_id)
    assert job is not None and job.job_id == run.job_id and job.arguments["args"] == ["j", "tick"]
    assert client.hkeys(keys.recurring) == [b"urgent"]
    assert keys.recurring.startswith(keys.base)


def test_a_claim_refused_by_a_unique_lock_leaves_the_lock_holder_alone(
    adapter: RedisAdapter,
) -> None:
    """The lock is asked about before the mark moves: no mark, no job, the holder keeps it."""
    holder = UniqueJob.perform_later("j", "report")
    task = RecurringTask.build("report", UniqueJob, "every minute", args=("j", "report"))
    client, keys = adapter.store.client, adapter.store.keys
    assert holder.flow is not None and holder.flow.unique is not None
    assert holder.provider_job_id is not None
    lock = f"{keys.base}unique:{holder.flow.unique.key}"
    assert client.get(lock) == holder.job_id.encode()
    job = task.job(TICK)
    with pytest.raises(DuplicateJobError, match="holds its unique lock"):
        enqueue_claimed(job, adapter, lambda j: adapter.recurring().claim(task.name, TICK, j))
    assert job.provider_job_id is None and not job.successfully_enqueued
    assert not client.exists(keys.recurring)
    assert client.hkeys(keys.jobs) == [holder.provider_job_id.encode()]
    assert client.get(lock) == holder.job_id.encode()

    client.delete(lock)  # as the holder's end releases it
    assert _claim(adapter, task, TICK)
    run = adapter.recurring().last_runs()["report"]
    assert client.get(lock) == run.job_id.encode(), "the claim took the lock in its own step"
