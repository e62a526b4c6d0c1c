"""A worker serving queues on several masters blocks on all of them at once: idle, it sends no
script at all, and a job enqueued on any master wakes it long before its fetch timeout."""

from __future__ import annotations

import threading
import time

import pytest
import redis

import jobframe
from jobframe import queue_adapters
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions
from jobframe_redis.cluster.wire import slot_of
from jobframe_redis.testing import RedisCluster, cluster_adapter

RAN = threading.Event()
FETCH_TIMEOUT = 3.0


class Wake(jobframe.Job):
    def perform(self) -> None:
        RAN.set()


def _scripts_run(ports: list[int]) -> int:
    """EVALSHA calls the masters have answered so far."""
    total = 0
    for port in ports:
        node = redis.Redis(port=port)
        try:
            total += int(node.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))
        finally:
            node.close()
    return total


@pytest.mark.slow
def test_an_idle_worker_on_three_masters_blocks_and_wakes_at_once(
    redis_cluster: RedisCluster, prefix: str
) -> None:
    RAN.clear()
    with cluster_adapter(redis_cluster.url, prefix) as adapter, queue_adapters.override(adapter):
        spaces = adapter.spaces
        queues: dict[tuple[str, int], str] = {}
        for n in range(64):  # one queue per master
            name = f"w{n}"
            queues.setdefault(spaces.wire.owner(slot_of(spaces.of(name).keys.base)), name)
        names = sorted(queues.values())
        assert len(names) == 3
        for name in names:
            spaces.writing(name)
        options = WorkerOptions(queues=names, concurrency=1, fetch_timeout=FETCH_TIMEOUT,
                                scheduler_interval=60, heartbeat_interval=60)  # fmt: skip
        with worker_thread(adapter.worker_backend(), options):
            client = spaces.client
            waiting = [spaces.of(name).keys.waiting for name in names]
            wait_until(lambda: all(client.llen(k) for k in waiting), 10, "the worker to idle")
            masters = redis_cluster.master_ports()
            before = _scripts_run(masters)
            time.sleep(1.0)  # an idle second: what the worker sends meanwhile is measured
            idle_scripts = _scripts_run(masters) - before
            began = time.monotonic()
            Wake.set(queue=names[-1]).perform_later()
            assert RAN.wait(FETCH_TIMEOUT * 2), "the job never ran"
            woke_in = time.monotonic() - began
    print(f"\nidle scripts {idle_scripts}, woke in {woke_in:.3f}s")
    # a poller would run a fetch script per queue every few milliseconds; a blocked worker,
    # at most one round (3 fetches) if its wait ended inside the idle second
    assert idle_scripts <= 2 * len(names), f"{idle_scripts} scripts in an idle second"
    assert woke_in < FETCH_TIMEOUT / 2, f"woken after {woke_in:.2f}s: it waited out its fetch"
