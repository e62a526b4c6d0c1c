"""A job enqueued while a worker waits is claimed for that worker by the enqueue itself and pushed
onto its inbox: one hop to the worker instead of a wake-up token, a fetch and its reply. These
tests drive `RedisWorkerBackend` the way the runtime does, against the real Redis."""

from __future__ import annotations

import threading
import time
from typing import Any

import jobframe
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.worker_backend import RedisWorkerBackend


class HandedJob(jobframe.Job):
    queue_as = "handed"

    def perform(self, n: int) -> None:
        pass


def _waiting(adapter: RedisAdapter, process: str, queues: list[str]) -> RedisWorkerBackend:
    """A registered process that found nothing and is now an idle fetcher (not yet blocked)."""
    backend = adapter.worker_backend()
    backend.register(ProcessInfo(process, queues, 1))
    assert backend._fetch(process, queues, 1, timeout=5) == []
    return backend


def _inbox(adapter: RedisAdapter, process: str) -> list[bytes]:
    client: Any = adapter.store.client
    items: list[bytes] = client.lrange(adapter.store.keys.inbox(process), 0, -1)
    return items


def test_a_job_enqueued_while_a_worker_waits_is_handed_to_it(adapter: RedisAdapter) -> None:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("idle", ["*"], 1))
    got: list[list[Claim]] = []
    waiting = threading.Thread(target=lambda: got.append(backend.fetch("idle", ["*"], 1, 10)))
    waiting.start()
    client: Any = adapter.store.client
    while not client.llen(adapter.store.keys.waiting):  # registered, about to block
        pass
    job = HandedJob.perform_later(1)
    waiting.join(10)
    (claims,) = got
    assert [c.id for c in claims] == [job.provider_job_id]
    assert claims[0].queue == "handed" and b'HandedJob"' in claims[0].payload
    inspector = adapter.inspector()
    assert inspector.count("ready") == 0 and inspector.count("running") == 1
    backend.complete("idle", [Outcome(claims[0], "done")])
    assert inspector.pending() == 0 and inspector.stats()["processed"] == 1


def test_a_hand_off_whose_reply_was_lost_is_fetched_again(adapter: RedisAdapter) -> None:
    backend = _waiting(adapter, "lossy", ["handed"])
    job = HandedJob.perform_later(1)
    assert len(_inbox(adapter, "lossy")) == 1
    client: Any = adapter.store.client
    client.lpop(adapter.store.keys.inbox("lossy"))  # a BLPOP whose reply the network lost
    claims = backend.fetch("lossy", ["handed"], 1, 0)
    assert [c.id for c in claims] == [job.provider_job_id], "the handed-off job was stranded"
    assert backend.fetch("lossy", ["handed"], 1, 0) == [], "handed out twice"
    backend.complete("lossy", [Outcome(claims[0], "done")])
    assert adapter.inspector().pending() == 0


def test_a_job_left_in_the_inbox_is_the_first_thing_fetched(adapter: RedisAdapter) -> None:
    backend = _waiting(adapter, "late", ["*"])
    first = HandedJob.perform_later(1)  # handed to "late" (its BLPOP may have timed out)
    second = HandedJob.perform_later(2)  # no idle fetcher left: its queue
    assert adapter.inspector().count("ready") == 1
    claims = backend.fetch("late", ["*"], 5, 0)
    assert [c.id for c in claims] == [first.provider_job_id, second.provider_job_id]
    assert len({c.token for c in claims}) == 2 and _inbox(adapter, "late") == []


def test_only_a_waiter_on_the_jobs_queue_and_not_for_a_paused_queue(adapter: RedisAdapter) -> None:
    _waiting(adapter, "other", ["mailers", "reports"])
    adapter.inspector().pause("handed")
    _waiting(adapter, "paused", ["handed"])
    HandedJob.perform_later(1)
    assert _inbox(adapter, "other") == [], "handed to a process not listening on 'handed'"
    assert _inbox(adapter, "paused") == [], "handed out from a paused queue"
    assert adapter.inspector().count("ready", "handed") == 1


def test_a_stopping_worker_releases_what_was_handed_to_it(adapter: RedisAdapter) -> None:
    backend = _waiting(adapter, "leaving", ["*"])
    job = HandedJob.perform_later(1)
    assert adapter.inspector().count("running") == 1
    backend.deregister("leaving")
    inspector = adapter.inspector()
    assert [info.id for info in inspector.jobs("ready")] == [job.provider_job_id]
    assert inspector.count("running") == 0 and _inbox(adapter, "leaving") == []
    HandedJob.perform_later(2)
    assert inspector.count("ready") == 2, "a job was handed to a process that had left"


def test_a_waiter_past_its_time_gets_nothing(adapter: RedisAdapter) -> None:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("gone", ["*"], 1))
    assert backend._fetch("gone", ["*"], 1, timeout=0.001) == []  # waiting for 1 ms only
    time.sleep(0.01)  # not synchronisation: the registration must be past its time
    HandedJob.perform_later(1)
    assert _inbox(adapter, "gone") == [] and adapter.inspector().count("ready") == 1
