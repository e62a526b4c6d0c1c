"""The adapter a test parametrized over backends runs on: Redis (a key prefix of its own) or SQL
(a SQLite file or a scratch server database), each cleaned up afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.testing import redis_adapter
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.testing import sql_adapter

Store = Literal["redis", "sqlite", "postgresql", "mariadb"]


@contextmanager
def store_adapter(
    store: Store, folder: Path, *, label: str = "jftest"
) -> Iterator[RedisAdapter | SQLAdapter]:
    """`redis_adapter` under a ``<label>-<random>`` prefix, or `sql_adapter` (SQLite in
    ``folder``)."""
    if store == "redis":
        with redis_adapter(label=label) as on_redis:
            yield on_redis
    else:
        with sql_adapter(store, folder) as on_sql:
            yield on_sql
