"""Registers the ``redis`` and ``redis-cluster`` adapters through the ``jobframe`` entry-point
group (redis-py is imported only when an adapter is first used)."""

from __future__ import annotations

from typing import Any

from jobframe.hookspecs import hookimpl


@hookimpl
def register_adapters(register: Any) -> None:
    register("redis", "jobframe_redis.adapter:RedisAdapter")
    register("redis-cluster", "jobframe_redis.cluster.adapter:RedisClusterAdapter")
