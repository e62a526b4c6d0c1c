"""A first enqueue is stored under its own job_id, with no ``{p}:ids`` entry (112 B per waiting
job saved); a retry, a re-enqueue and a job_id unfit for the key layout get a provider id and the
index entry, and `status`, `cancel` and the inspector find every one of them."""

from __future__ import annotations

import jobframe
from jobframe_redis.adapter import RedisAdapter, entry, stored_id

from .results_support import PROCESS, claim_all, finish, record


class StoredJob(jobframe.Job):
    queue_as = "stored"

    def perform(self, n: int) -> None:
        pass


def indexed(adapter: RedisAdapter, job_id: str) -> str | None:
    at = adapter.store.client.hget(adapter.store.keys.ids, job_id)
    return None if at is None else at.decode().split("|", 1)[0]


def stored(adapter: RedisAdapter) -> set[str]:
    return {id.decode() for id in adapter.store.client.hkeys(adapter.store.keys.jobs)}


def test_a_first_enqueue_is_stored_under_its_job_id_without_an_index_entry(
    adapter: RedisAdapter,
) -> None:
    results = adapter.results()
    job = StoredJob.perform_later(1)
    later = StoredJob.set(wait=3600).perform_later(2)
    urgent = StoredJob.set(priority=-5, wait=3600).perform_later(3)
    assert job.provider_job_id == job.job_id and later.provider_job_id == later.job_id
    assert stored(adapter) == {job.job_id, later.job_id, urgent.job_id}
    assert adapter.store.client.hlen(adapter.store.keys.ids) == 0
    assert results.status(job.job_id).state == "ready"
    assert results.status(later.job_id).state == "scheduled"
    assert results.status(urgent.job_id).state == "scheduled", "its priority read from its payload"
    inspector = adapter.inspector()
    found = inspector.job(job.provider_job_id or "")
    assert found is not None and found.state == "ready"
    (claim,) = claim_all(adapter)
    assert claim.id == job.job_id
    assert results.status(job.job_id).state == "running"
    finish(adapter, claim, records=(record(job.job_id),))
    assert results.status(job.job_id).state is None
    assert results.status(job.job_id).record is not None
    assert inspector.cancel(later.job_id) == "cancelled"
    assert stored(adapter) == {urgent.job_id}
    assert results.status(later.job_id).state is None


def test_a_retry_gets_a_provider_id_and_the_index_entry(adapter: RedisAdapter) -> None:
    results = adapter.results()
    job = StoredJob.perform_later(1)
    (claim,) = claim_all(adapter)
    retry = StoredJob.deserialize(job.serialize())
    retry.provider_job_id = claim.id  # as the worker sets it
    retry.executions = 1
    retry_entry = entry(retry, None)
    assert retry_entry[0] != job.job_id and retry_entry[0] == retry.provider_job_id
    finish(adapter, claim, "failed", (record(job.job_id, "retrying", data=b"{}"),),
           retries=(retry_entry,))  # fmt: skip
    assert indexed(adapter, job.job_id) == retry.provider_job_id
    assert stored(adapter) == {job.job_id, retry_entry[0]}, "the failed attempt is dead"
    assert results.status(job.job_id).state == "ready", "the index names the retry, ready"
    assert adapter.inspector().cancel(job.job_id) == "cancelled"
    assert stored(adapter) == {job.job_id} and indexed(adapter, job.job_id) is None
    assert results.status(job.job_id).state == "dead", "then the job stored under its job_id"


def test_a_job_enqueued_twice_is_stored_twice_and_status_follows_the_newest(
    adapter: RedisAdapter,
) -> None:
    results = adapter.results()
    job = StoredJob.set(wait=3600).perform_later(1)
    first = job.provider_job_id
    job.scheduled_at = None
    job.enqueue()  # the same object again: a provider id, indexed
    assert first == job.job_id and job.provider_job_id not in (None, first)
    assert indexed(adapter, job.job_id) == job.provider_job_id
    assert results.status(job.job_id).state == "ready"
    # the same job built twice (same job_id, never enqueued as far as either knows)
    twin = StoredJob.deserialize({**job.serialize(), "provider_job_id": None})
    twin.set(wait=7200)
    adapter.store.client.hdel(adapter.store.keys.ids, job.job_id)
    twin.enqueue()
    (second,) = stored(adapter) - {first, job.provider_job_id}
    assert second.startswith(job.job_id + ".") and indexed(adapter, job.job_id) == second
    assert results.status(job.job_id).state == "scheduled"
    assert adapter.inspector().count("scheduled") == 2, "the first kept its payload and place"
    # a new first enqueue under the job_id drops the index entry: the newest is found again
    adapter.store.client.hdel(adapter.store.keys.jobs, first)
    adapter.store.client.zremrangebyrank(adapter.store.keys.scheduled, 0, -1)
    again = StoredJob.deserialize({**job.serialize(), "provider_job_id": None})
    again.scheduled_at = None
    again.enqueue()
    assert again.provider_job_id == job.job_id and indexed(adapter, job.job_id) is None
    assert results.status(job.job_id).state == "ready"


def test_a_job_id_unfit_for_the_key_layout_gets_a_provider_id(adapter: RedisAdapter) -> None:
    job = StoredJob(1)
    job.job_id = "a|b:c"
    assert stored_id(job) != job.job_id
    job.enqueue()
    assert indexed(adapter, "a|b:c") == job.provider_job_id
    assert adapter.results().status("a|b:c").state == "ready"


def test_a_job_stored_under_its_job_id_is_released_back_to_ready(adapter: RedisAdapter) -> None:
    job = StoredJob.perform_later(1)
    (claim,) = claim_all(adapter)
    adapter.worker_backend().release(PROCESS, [claim])
    assert adapter.results().status(job.job_id).state == "ready"
    (again,) = claim_all(adapter)
    assert again.id == job.job_id
