"""The backend conformance suite against the real Redis: an in-process worker for the enqueue
tests, real ``jobframe work`` processes for the reliability ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobframe.queue_adapters.base import QueueAdapter
from jobframe.testing import BackendConformance, WorkerHarness
from jobframe_redis.adapter import RedisAdapter


class TestRedisBackend(BackendConformance):
    @pytest.fixture
    def adapter(self, adapter: RedisAdapter) -> QueueAdapter:  # type: ignore[override]
        return adapter

    @pytest.fixture
    def harness(  # type: ignore[override]
        self, adapter: RedisAdapter, tmp_path: Path, redis_url: str, prefix: str
    ) -> WorkerHarness:
        name = f"jfworker-{prefix}"  # the workers' connections, told apart from everyone else's
        client = adapter.store.client

        def drop_connections() -> int:
            ids = [c["id"] for c in client.client_list() if c.get("name") == name]
            return sum(int(client.client_kill_filter(_id=id)) for id in ids)

        options = {"url": f"{redis_url}?client_name={name}", "prefix": prefix}
        return WorkerHarness(tmp_path / "workers", "redis", options, drop_connections=drop_connections)

    def crashes(self, adapter: QueueAdapter, provider_id: str) -> int:
        assert isinstance(adapter, RedisAdapter)
        store = adapter.store
        return int(store.client.hget(store.keys.crashes, provider_id) or 0)
