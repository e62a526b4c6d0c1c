"""The ready queue as a list of ids per (queue, priority), ``{p}:r:<queue>:<prio>``, with
``{p}:rp:<queue>`` listing the priorities that have jobs: the order FETCH hands them out in,
claims given back at the head, a dropped job taken off its list, and the ready zsets an older
version wrote (``{p}:q:<queue>``) moved into the lists by maintain."""

from __future__ import annotations

import jobframe
from jobframe.backend.ids import new_id
from jobframe.backend.worker import ProcessInfo
from jobframe_redis.adapter import RedisAdapter

from .results_support import payload

SHIFT = 2**40


class ListedJob(jobframe.Job):
    queue_as = "listed"

    def perform(self, n: int) -> None:
        pass


def enqueue(priorities: list[int]) -> list[str]:
    ids = []
    for n, priority in enumerate(priorities):
        job = ListedJob.set(priority=priority).perform_later(n)
        assert job.provider_job_id is not None
        ids.append(job.provider_job_id)
    return ids


def fetch(adapter: RedisAdapter, limit: int, process: str = "p1") -> list[str]:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo(process, ["listed"], limit))
    return [claim.id for claim in backend.fetch(process, ["listed"], limit, 0)]


def lists(adapter: RedisAdapter) -> dict[str, list[str]]:
    client, keys = adapter.store.client, adapter.store.keys
    return {
        p.decode(): [i.decode() for i in client.lrange(keys.ready("listed", p.decode()), 0, -1)]
        for p in client.zrange(keys.priorities("listed"), 0, -1)
    }


def test_lowest_priority_number_first_then_first_in_first_out(adapter: RedisAdapter) -> None:
    ids = enqueue([3, 0, -5, 0, 3, -5])
    assert lists(adapter) == {
        "-5": [ids[2], ids[5]],
        "0": [ids[1], ids[3]],
        "3": [ids[0], ids[4]],
    }
    assert fetch(adapter, 3) == [ids[2], ids[5], ids[1]]  # across two priorities' lists
    assert lists(adapter) == {"0": [ids[3]], "3": [ids[0], ids[4]]}, "an emptied list is unlisted"
    assert fetch(adapter, 10) == [ids[3], ids[0], ids[4]]
    client, keys = adapter.store.client, adapter.store.keys
    assert client.keys(keys.base + "r*") == [], "no list nor priority left behind"


def test_released_claims_go_back_to_the_head_in_their_order(adapter: RedisAdapter) -> None:
    ids = enqueue([0, 0, 0, 0, -1])
    claims = adapter.worker_backend()
    claims.register(ProcessInfo("p1", ["listed"], 3))
    taken = claims.fetch("p1", ["listed"], 3, 0)
    assert [c.id for c in taken] == [ids[4], ids[0], ids[1]]
    claims.release("p1", list(reversed(taken)))  # in any order: claimed order is kept
    assert lists(adapter) == {"-1": [ids[4]], "0": [ids[0], ids[1], ids[2], ids[3]]}


def test_a_reaped_process_s_claims_go_back_to_the_head(adapter: RedisAdapter) -> None:
    ids = enqueue([0, 0, 0])
    assert fetch(adapter, 2, "dying") == ids[:2]
    adapter.store.client.zadd(adapter.store.keys.processes, {"dying": 0})  # heartbeat long ago
    assert adapter.worker_backend().maintain(heartbeat_timeout=1, max_crashes=5)["requeued"] == 2
    assert lists(adapter) == {"0": ids}


def test_a_cancelled_ready_job_leaves_its_list(adapter: RedisAdapter) -> None:
    ids = enqueue([0, 7, 0])
    inspector = adapter.inspector()
    assert inspector.discard([ids[1]], state="ready") == 1
    assert lists(adapter) == {"0": [ids[0], ids[2]]}, "its emptied priority is unlisted"
    assert inspector.discard([ids[2]], state="ready") == 1
    assert lists(adapter) == {"0": [ids[0]]}


def test_the_inspector_pages_across_priorities_in_fetch_order(adapter: RedisAdapter) -> None:
    ids = enqueue([2, 1, 0, 1, 2])
    inspector = adapter.inspector()
    order = [ids[2], ids[1], ids[3], ids[0], ids[4]]
    assert [j.id for j in inspector.jobs("ready", "listed")] == order
    pages = [inspector.jobs("ready", "listed", offset, 2) for offset in (0, 2, 4)]
    assert [j.id for page in pages for j in page] == order
    assert inspector.count("ready", "listed") == 5
    [queue] = inspector.queues()
    assert (queue.name, queue.size) == ("listed", 5)
    found = inspector.job(ids[3])
    assert found is not None and found.state == "ready"
    assert inspector.clear("listed") == 5
    assert lists(adapter) == {} and inspector.count("ready") == 0


def test_an_older_version_s_ready_zset_is_moved_to_the_lists_by_maintain(
    adapter: RedisAdapter,
) -> None:
    """Keys written in the old shape (an upgrade, or a producer still on the old version): the
    zset's jobs join the tail of their priority's list in score order, and the zset is gone."""
    client, keys = adapter.store.client, adapter.store.keys
    new = enqueue([0])
    old = [new_id() for _ in range(4)]
    priorities = [0, -2, 0, -2]
    for n, (id, priority) in enumerate(zip(old, priorities, strict=True)):
        client.hset(keys.jobs, id, payload(f"old-{n}", "listed", priority=priority))
        client.zadd(keys.old_queue("listed"), {id: (priority + 2048) * SHIFT + 100 - n})
    client.sadd(keys.queues, "listed")
    inspector = adapter.inspector()
    assert inspector.pending() == 5, "counted before it is moved"
    adapter.worker_backend().maintain(heartbeat_timeout=60, max_crashes=5)
    assert not client.exists(keys.old_queue("listed"))
    assert lists(adapter) == {"-2": [old[3], old[1]], "0": [new[0], old[2], old[0]]}
    assert inspector.count("ready", "listed") == 5
    assert fetch(adapter, 10) == [old[3], old[1], new[0], old[2], old[0]]
