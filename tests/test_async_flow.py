"""Flow control in the async adapter's store beyond the conformance suite: the steps the suite
cannot reach from outside (lapsed slots, the reaper, a fetch woken by a freed slot, one token per
claim), driven through `MemoryStore` directly, with no worker running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.memory_store import MemoryStore


@jobframe.limits_concurrency(to=1, key=lambda key: key, duration=0.3)
class BrieflyLimitedJob(jobframe.Job):
    def perform(self, key: str) -> None:
        pass


@jobframe.unique(key=lambda key: key)
@jobframe.limits_concurrency(to=1, key=lambda key: key, duration=60)
class UniqueLimitedJob(jobframe.Job):
    def perform(self, key: str) -> None:
        pass


@jobframe.limits_concurrency(to=1, key=lambda key: key, duration=60)
class LimitedJob(jobframe.Job):
    def perform(self, key: str) -> None:
        pass


@jobframe.unique(key=lambda key: key, until="scheduled")
class UntilScheduledJob(jobframe.Job):
    def perform(self, key: str) -> None:
        pass


class PlainJob(jobframe.Job):
    def perform(self, tag: str) -> None:
        pass


@pytest.fixture
def adapter() -> Iterator[AsyncAdapter]:
    adapter = AsyncAdapter(autostart=False)
    with queue_adapters.override(adapter):
        yield adapter
    adapter.shutdown(timeout=1)


@pytest.fixture
def store(adapter: AsyncAdapter) -> MemoryStore:
    adapter.store.register(ProcessInfo("p1", ["*"], 4))
    return adapter.store


def fetch(store: MemoryStore, limit: int = 10, timeout: float = 0.0) -> list[Claim]:
    return store.fetch("p1", ["*"], limit, timeout)


def done(store: MemoryStore, *claims: Claim) -> None:
    store.complete("p1", [Outcome(claim, "done") for claim in claims])


def states(adapter: AsyncAdapter) -> dict[str, int]:
    return {k: v for k, v in adapter.sizes().items() if v}


def test_a_full_key_blocks_its_jobs_and_a_finished_one_readies_the_oldest(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    jobs = [UniqueLimitedJob.perform_later(f"k{i % 2}") for i in range(2)]
    jobs += [BrieflyLimitedJob.perform_later("b") for _ in range(3)]
    claims = fetch(store)
    assert len(claims) == 3, "one per key: k0, k1 and b"
    assert states(adapter) == {"running": 3, "blocked": 2}
    assert fetch(store) == [], "blocked jobs are not handed out"
    first = next(c for c in claims if c.id == jobs[2].provider_job_id)
    done(store, first)
    assert states(adapter) == {"running": 2, "ready": 1, "blocked": 1}
    [next_claim] = fetch(store)
    assert next_claim.id == jobs[3].provider_job_id, "the oldest blocked job goes first"


def test_a_freed_slot_wakes_a_waiting_fetch_at_once(store: MemoryStore) -> None:
    LimitedJob.perform_later("w")
    LimitedJob.perform_later("w")
    [claim] = fetch(store)
    woken: list[float] = []

    def wait() -> None:
        got = fetch(store, timeout=10.0)
        woken.append(time.perf_counter())
        assert len(got) == 1

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)  # let the waiter block in fetch; what is measured is its wake-up
    settled = time.perf_counter()
    done(store, claim)
    waiter.join(10)
    assert woken, "the waiting fetch never returned"
    latency = woken[0] - settled
    print(f"blocked job started {latency * 1000:.2f} ms after the slot freed")
    assert latency < 0.5, "a freed slot must wake the fetch, not its next poll"


def test_a_lapsed_slot_is_dropped_by_maintain_only(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    BrieflyLimitedJob.perform_later("lapse")
    BrieflyLimitedJob.perform_later("lapse")
    [held] = fetch(store)  # its worker hangs: the slot lapses after duration=0.3 s
    assert fetch(store) == [] and states(adapter) == {"running": 1, "blocked": 1}
    assert store.maintain(30, 3)["unblocked"] == 0
    time.sleep(0.35)  # the slot's own lifetime is what is tested
    assert store.maintain(30, 3)["unblocked"] == 1
    [second] = fetch(store)
    done(store, held, second)
    assert states(adapter) == {}


def test_the_reaper_frees_slots_and_releases_the_lock_of_a_job_it_sends_dead(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    UniqueLimitedJob.perform_later("reaped")
    UniqueLimitedJob.perform_later("other")
    fetch(store)
    assert not UniqueLimitedJob.perform_later("reaped").successfully_enqueued
    time.sleep(0.02)
    counts = store.maintain(heartbeat_timeout=0.01, max_crashes=1)
    assert counts["dead"] == 2 and states(adapter) == {}
    assert UniqueLimitedJob.perform_later("reaped").successfully_enqueued


def test_a_crashed_claim_given_back_frees_its_slot_and_keeps_its_lock(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    UniqueLimitedJob.perform_later("crash")
    [claim] = fetch(store)
    time.sleep(0.02)
    assert store.maintain(heartbeat_timeout=0.01, max_crashes=3)["requeued"] == 1
    assert not UniqueLimitedJob.perform_later("crash").successfully_enqueued
    store.heartbeat("p1")  # back as new
    [again] = fetch(store)
    assert again.id == claim.id and again.token != claim.token
    done(store, again)
    assert UniqueLimitedJob.perform_later("crash").successfully_enqueued


def test_until_scheduled_is_released_when_maintain_promotes_the_job(store: MemoryStore) -> None:
    UntilScheduledJob.set(wait=0.2).perform_later("due")
    assert not UntilScheduledJob.perform_later("due").successfully_enqueued
    time.sleep(0.25)  # past its run time
    assert store.maintain(30, 3)["promoted"] == 1
    assert UntilScheduledJob.perform_later("due").successfully_enqueued


def test_cancel_removes_a_blocked_job_and_flags_only_its_own_claim(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    running = LimitedJob.perform_later("c")
    blocked = LimitedJob.perform_later("c")
    plain = [PlainJob.perform_later(str(i)) for i in range(3)]
    claims = fetch(store)
    assert len(claims) == 4, "one fetch, four claims"
    assert adapter.inspector().count("blocked") == 1
    assert adapter.inspector().cancel(running.job_id) == "running"
    tokens = [c.token for c in claims]
    assert store.cancelled("p1", tokens) == {claims[0].token}, "tokens are per claim"
    assert adapter.inspector().cancel(plain[0].job_id) == "running"
    assert len(store.cancelled("p1", tokens)) == 2
    assert adapter.inspector().cancel(blocked.job_id) == "cancelled"
    assert adapter.inspector().count("blocked") == 0
    store.complete("p1", [Outcome(claims[0], "cancelled"), Outcome(claims[1], "done")])
    assert store.cancelled("p1", tokens) == set(), "settled claims are forgotten"
    history = adapter.inspector().history("cancelled")
    assert sum(history.values()) == 2, "one removed while waiting, one settled as cancelled"
    assert adapter.performed == 1, "a cancelled run is not counted as processed"


def test_release_at_shutdown_keeps_an_until_finished_lock_and_frees_the_slot(
    adapter: AsyncAdapter, store: MemoryStore
) -> None:
    UniqueLimitedJob.perform_later("shut")
    [claim] = fetch(store)
    store.release("p1", [claim])
    assert states(adapter) == {"ready": 1}
    assert not UniqueLimitedJob.perform_later("shut").successfully_enqueued
    [again] = fetch(store)
    assert again.id == claim.id


def test_a_raw_payload_keeps_its_flow_and_job_id(adapter: AsyncAdapter) -> None:
    job = UniqueLimitedJob("raw")
    job.flow = job.compute_flow()
    adapter.enqueue_raw("default", dump_payload(job.serialize()))
    with pytest.raises(jobframe.DuplicateJobError):
        adapter.enqueue_raw("default", dump_payload(job.serialize() | {"job_id": "other"}))
    assert adapter.inspector().cancel(job.job_id) == "cancelled"
