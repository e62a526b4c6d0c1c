"""Fixtures for the Redis backend's tests: the real server, an isolated key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from jobframe import queue_adapters
from jobframe.testing.databases import REDIS_URL
from jobframe.testing.services import require_service
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.testing import redis_adapter


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
