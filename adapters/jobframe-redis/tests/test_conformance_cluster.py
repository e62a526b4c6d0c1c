"""The backend conformance suite on a real Redis Cluster (3 masters, 3 replicas), with the
suite's queues spread over the masters by their hash tags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing import BackendConformance, WorkerHarness
from jobframe_redis.cluster.adapter import RedisClusterAdapter
from jobframe_redis.cluster.wire import slot_of
from jobframe_redis.testing import RedisCluster, cluster_adapter

from .test_conformance_redis import tcp_ports

#: queues the suite uses; their hash tags land on more than one master (asserted below)
SUITE_QUEUES = ("default", "conformance", "held", "inspected", "other", "shown", "timings-a")


class TestRedisClusterBackend(BackendConformance):
    @pytest.fixture
    def adapter(  # type: ignore[override]
        self, redis_cluster: RedisCluster, prefix: str
    ) -> Iterator[RedisClusterAdapter]:
        with (
            cluster_adapter(redis_cluster.url, prefix) as adapter,
            queue_adapters.override(adapter),
        ):
            yield adapter

    @pytest.fixture
    def harness(  # type: ignore[override]
        self, adapter: RedisClusterAdapter, tmp_path: Path, redis_cluster: RedisCluster, prefix: str
    ) -> WorkerHarness:
        def drop_connections() -> int:
            """CLIENT KILL every connection of this test's workers, on every node."""
            pids = [p.pid for p in harness.procs]
            killed = 0
            for port in redis_cluster.ports:
                if redis_cluster.procs[port].poll() is not None:
                    continue
                ports = tcp_ports(pids, port)
                node = redis.Redis(port=port)
                try:
                    for c in node.client_list():
                        if int(c["addr"].rsplit(":", 1)[1]) in ports:
                            killed += int(node.client_kill_filter(_id=c["id"]))
                finally:
                    node.close()
            return killed

        options = {"url": redis_cluster.url, "prefix": prefix}
        harness = WorkerHarness(
            tmp_path / "workers", "redis-cluster", options, drop_connections=drop_connections
        )
        return harness

    def crashes(self, adapter: QueueAdapter, provider_id: str) -> int:
        assert isinstance(adapter, RedisClusterAdapter)
        for store in adapter.spaces.all():
            count = adapter.spaces.client.hget(store.keys.crashes, provider_id)
            if count is not None:
                return int(count)
        return 0


def test_queues_spread_over_masters(redis_cluster: RedisCluster, prefix: str) -> None:
    """The suite's queues are not all on one master: the per-queue hash tags spread them."""
    with cluster_adapter(redis_cluster.url, prefix) as adapter:
        for queue in SUITE_QUEUES:
            adapter.spaces.writing(queue)
        masters = adapter.spaces.masters()
        slots = {slot_of(adapter.spaces.of(q).keys.base) for q in SUITE_QUEUES}
    assert len(slots) == len(SUITE_QUEUES)
    assert len(masters) > 1, f"every queue landed on one master: {masters}"
