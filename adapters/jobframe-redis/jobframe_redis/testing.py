"""A `RedisAdapter` of a test's own: the test server, a key prefix no other test uses, every key
under it deleted afterwards. Tests on one server then never see each other's jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from jobframe.testing.databases import REDIS_URL
from jobframe.testing.services import require_service
from jobframe_redis.adapter import RedisAdapter


@contextmanager
def redis_adapter(prefix: str | None = None, *, label: str = "jftest") -> Iterator[RedisAdapter]:
    """A `RedisAdapter` on ``JOBFRAME_TEST_REDIS`` under ``prefix`` (by default
    ``<label>-<random>``); its keys are deleted and the adapter shut down afterwards."""
    require_service("Redis", "127.0.0.1", 6379)
    adapter = RedisAdapter(REDIS_URL, prefix=prefix or f"{label}-{uuid.uuid4().hex[:8]}")
    try:
        yield adapter
    finally:
        client = adapter.store.client
        keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
        if keys:
            client.delete(*keys)
        adapter.shutdown()
