"""Flow control paths of the Redis scripts that the conformance suite does not reach: slots that
lapse or whose process dies, a shutdown's release, the reaper's dead job, large batches, the
cancel flag's life, and plain jobs that only look like flow jobs."""

from __future__ import annotations

import time

import pytest

import jobframe
from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe.testing.workers import wait_until
from jobframe_redis.adapter import BULK_CHUNK, RedisAdapter


@jobframe.limits_concurrency(to=1, duration=0.3)
class BrieflyLimitedJob(jobframe.Job):
    """One at a time; a slot lapses 0.3 s after its claim."""

    queue_as = "limited"

    def perform(self, n: int) -> None:
        pass


@jobframe.limits_concurrency(to=1)
@jobframe.unique(key=lambda n: n)
class LockedJob(jobframe.Job):
    queue_as = "limited"

    def perform(self, n: int) -> None:
        pass


class PlainJob(jobframe.Job):
    def perform(self, value: object) -> None:
        pass


def _start(adapter: RedisAdapter, process: str) -> tuple[object, list[Claim]]:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo(process, ["*"], 1))
    return backend, backend.fetch(process, ["*"], 5, 0)


def test_a_lapsed_slot_is_dropped_by_maintain_and_its_blocked_job_made_ready(
    adapter: RedisAdapter,
) -> None:
    inspector, backend = adapter.inspector(), adapter.worker_backend()
    jobframe.perform_all_later([BrieflyLimitedJob(1), BrieflyLimitedJob(2)])
    backend.register(ProcessInfo("p1", ["*"], 2))
    [first] = backend.fetch("p1", ["*"], 2, 0)
    assert inspector.count("blocked") == 1 and inspector.count("ready") == 0
    [blocked] = inspector.jobs("blocked")
    assert inspector.job(blocked.id) is not None and inspector.job(blocked.id).state == "blocked"
    backend.maintain(30, 3)
    assert inspector.count("blocked") == 1, "a live slot was dropped"
    time.sleep(0.35)  # the slot's own lifetime (duration=0.3) is what is tested
    backend.maintain(30, 3)
    assert inspector.count("blocked") == 0 and inspector.count("ready") == 1
    [second] = backend.fetch("p1", ["*"], 2, 0)
    assert second.id == blocked.id != first.id
    assert adapter.store.client.hlen(adapter.store.keys.limits) == 0, "an idle key stays listed"


def test_a_release_and_the_reaper_free_the_slot_and_ready_the_oldest_blocked_job(
    adapter: RedisAdapter,
) -> None:
    inspector, backend = adapter.inspector(), adapter.worker_backend()
    jobframe.perform_all_later([LockedJob(n) for n in range(3)])
    backend.register(ProcessInfo("p1", ["*"], 3))
    [claim] = backend.fetch("p1", ["*"], 3, 0)
    assert inspector.count("blocked") == 2
    backend.release("p1", [claim])  # shutdown: back where it was, and one blocked job readied
    assert inspector.count("ready") == 2 and inspector.count("blocked") == 1
    [again] = backend.fetch("p1", ["*"], 3, 0)
    assert again.id == claim.id, "the released job kept its place"
    assert inspector.count("blocked") == 2
    backend.heartbeat("p1")
    time.sleep(0.05)
    # p1 dies: the reaper sends its job dead (max_crashes=1), frees the slot and the lock
    assert backend.maintain(0.01, 1)["dead"] == 1
    assert inspector.count("ready") == 1 and inspector.count("blocked") == 1
    assert LockedJob.perform_later(0).successfully_enqueued, "the dead job kept its lock"


def test_duplicates_are_found_in_every_chunk_of_a_large_batch(adapter: RedisAdapter) -> None:
    LockedJob.perform_later(-1)
    batch = [LockedJob(n) for n in range(BULK_CHUNK + 5)]
    batch += [LockedJob(-1), LockedJob(3), LockedJob(BULK_CHUNK + 1)]
    assert jobframe.perform_all_later(batch) == BULK_CHUNK + 5
    assert [job.successfully_enqueued for job in batch[-3:]] == [False, False, False]
    assert all(isinstance(job.enqueue_error, jobframe.DuplicateJobError) for job in batch[-3:])
    assert all(job.provider_job_id is None for job in batch[-3:])


def test_a_cancel_flag_names_the_claim_until_it_is_settled(adapter: RedisAdapter) -> None:
    inspector, backend = adapter.inspector(), adapter.worker_backend()
    job = PlainJob.perform_later("x")
    backend.register(ProcessInfo("p1", ["*"], 1))
    [claim] = backend.fetch("p1", ["*"], 1, 0)
    assert backend.cancelled("p1", [claim.token]) == set()
    assert jobframe.cancel(job.job_id) == "running"
    assert backend.cancelled("p1", [claim.token, "other:id"]) == {claim.token}
    backend.complete("p1", [Outcome(claim, "cancelled")])
    assert not adapter.store.client.exists(adapter.store.keys.cancel), "the flag outlived it"
    assert sum(inspector.history("cancelled").values()) == 1
    assert sum(inspector.history("processed").values()) == 0


def test_a_plain_job_whose_arguments_mention_flow_is_a_plain_job(adapter: RedisAdapter) -> None:
    inspector, backend = adapter.inspector(), adapter.worker_backend()
    PlainJob.perform_later({"flow": {"unique": {"key": "k", "until": "finished"}}})
    assert PlainJob.perform_later({"flow": {}}).successfully_enqueued
    backend.register(ProcessInfo("p1", ["*"], 2))
    claims = backend.fetch("p1", ["*"], 2, 0)
    assert len(claims) == 2 and inspector.count("blocked") == 0
    backend.complete("p1", [Outcome(claim, "done") for claim in claims])
    wait_until(lambda: inspector.pending() == 0, 5, "both settled")


def test_a_raw_payload_asking_for_a_held_lock_is_refused(adapter: RedisAdapter) -> None:
    first, second = LockedJob(7), LockedJob(7)  # equal jobs: two job_ids, one lock
    raws = []
    for job in (first, second):
        job.flow = job.compute_flow()
        raws.append(dump_payload(job.serialize()))
    adapter.enqueue_raw("limited", raws[0])
    adapter.enqueue_raw("limited", raws[0])  # the same job_id again (a retry): no conflict
    with pytest.raises(jobframe.DuplicateJobError):
        adapter.enqueue_raw("limited", raws[1])
    assert adapter.inspector().count("ready") == 2
