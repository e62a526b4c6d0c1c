"""What makes a Redis server unsafe for jobs, checked for ``jobframe doctor`` and ``jobframe work``.

A server older than 6.2 runs jobs but has no ``BLMOVE``, which ``job.result(timeout=)`` waits
with (`jobframe_redis.results`): said too.

A job is acknowledged to the producer once Redis holds it in memory. Without AOF or RDB save
points a restart empties the server (31 of 60 acknowledged jobs were gone after one restart
with ``--save ''`` and no AOF), and with any ``maxmemory-policy`` but ``noeviction`` a full server
deletes keys, jobs included, instead of refusing new writes. Both are server settings that
jobframe cannot change for the operator, so it says so.

``INFO`` is read rather than ``CONFIG GET`` where it can be: managed services (ElastiCache,
Memorystore...) often disable ``CONFIG`` but always answer ``INFO``.
"""

from __future__ import annotations

from typing import Any

import redis

from jobframe.doctor import Problem

PERSISTENCE_FIX = (
    "turn on AOF (appendonly yes, appendfsync everysec) and/or RDB save points (e.g. "
    "save 3600 1 300 100 60 10000) in redis.conf; see docs/redis.md"
)


def server_name(client: redis.Redis) -> str:
    """``redis at HOST:PORT db N``: how a problem names the server, with no credentials."""
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    return f"Redis at {where} db {kwargs.get('db', 0)}"


def check(client: redis.Redis) -> list[Problem]:
    """The problems of the server ``client`` talks to: unreachable, no persistence, eviction."""
    name = server_name(client)
    try:
        persistence: dict[str, Any] = client.info("persistence")
        memory: dict[str, Any] = client.info("memory")
        server: dict[str, Any] = client.info("server")
    except redis.RedisError as exc:
        return [
            Problem(
                f"{name} cannot be reached ({type(exc).__name__}: {exc})",
                "start the server or fix the adapter's url (JOBFRAME_URL / adapter_options.url)",
            )
        ]
    problems: list[Problem] = []
    version = str(server.get("redis_version", ""))
    if version and _older(version, (6, 2)):
        problems.append(
            Problem(
                f"{name} runs Redis {version}: job.result(timeout=...) waits with BLMOVE, "
                "which Redis 6.2 added, and fails on this server",
                "upgrade Redis to 6.2 or later",
            )
        )
    if not int(persistence.get("aof_enabled", 0)):
        problems.extend(_save_points(client, name))
    policy = str(memory.get("maxmemory_policy", "noeviction"))
    if policy != "noeviction":
        problems.append(
            Problem(
                f"{name} has maxmemory-policy {policy}: when it is full it deletes keys, "
                "jobs included",
                "set maxmemory-policy noeviction (enqueues then fail with an error instead)",
            )
        )
    return problems


def _older(version: str, than: tuple[int, int]) -> bool:
    """Whether ``version`` ("7.0.15") is older than ``than``; an unreadable one is not."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < than


def _save_points(client: redis.Redis, name: str) -> list[Problem]:
    """AOF is off: the jobs survive a restart only if RDB save points are configured."""
    try:
        save = str(client.config_get("save").get("save", ""))
    except redis.ResponseError:  # CONFIG disabled or renamed, as on managed services
        return [
            Problem(
                f"{name} has AOF off and its RDB save points cannot be read (CONFIG is disabled)",
                "check that the service snapshots or keeps an append-only file; otherwise "
                + PERSISTENCE_FIX,
            )
        ]
    if save.strip():
        return []
    return [
        Problem(
            f"{name} has neither AOF nor RDB save points: a restart loses every job, "
            "acknowledged ones included",
            PERSISTENCE_FIX,
        )
    ]
