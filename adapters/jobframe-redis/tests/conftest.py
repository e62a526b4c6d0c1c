"""Fixtures for the Redis backend's tests: the real server, an isolated key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

# Imported now, not lazily by the first job whose result needs a serializer plugin: that import
# runs in a worker's pool thread, where pytest's assertion rewriting parses the module with
# `ast.parse` while another pool thread formats a traceback (also `ast.parse`, for its carets),
# and CPython 3.11.7 shares the parser's recursion counter between threads ("SystemError: AST
# constructor recursion depth mismatch" became a job's outcome in the cluster conformance run).
import jobframe.plugins  # noqa: F401
from jobframe import queue_adapters
from jobframe.testing.databases import REDIS_URL
from jobframe.testing.services import require_service
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.testing import RedisCluster, redis_adapter
from jobframe_redis.testing import redis_cluster as redis_cluster_of


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def prefix() -> str:
    return f"jftest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def adapter(redis_url: str, prefix: str) -> Iterator[RedisAdapter]:
    """A Redis adapter on a fresh key prefix; every key it made is deleted afterwards."""
    with redis_adapter(prefix) as adapter, queue_adapters.override(adapter):
        yield adapter


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 6-node Redis Cluster (3 masters, 3 replicas) on free loopback ports, shared by
    the tests that do not break it; every node killed at the end."""
    with redis_cluster_of(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster
