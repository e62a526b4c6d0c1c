"""jobframe-redis: a durable Redis backend for jobframe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use (see __getattr__); typed for users all the same
    from jobframe_redis.adapter import RedisAdapter
    from jobframe_redis.inspector import RedisInspector
    from jobframe_redis.worker_backend import RedisWorkerBackend

__all__ = ["RedisAdapter", "RedisInspector", "RedisWorkerBackend"]


def __getattr__(name: str) -> Any:
    # Importing the package must not import redis-py (the plugin module is imported at startup).
    if name == "RedisAdapter":
        from jobframe_redis.adapter import RedisAdapter

        return RedisAdapter
    if name == "RedisInspector":
        from jobframe_redis.inspector import RedisInspector

        return RedisInspector
    if name == "RedisWorkerBackend":
        from jobframe_redis.worker_backend import RedisWorkerBackend

        return RedisWorkerBackend
    raise AttributeError(name)
