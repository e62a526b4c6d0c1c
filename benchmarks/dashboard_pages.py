# ruff: noqa: E501
"""How long the dashboard's job listings take with many jobs: 100,000 ready jobs in one queue,
pages read at several offsets through each backend's inspector (what the Jobs page calls).

    .venv/bin/python benchmarks/dashboard_pages.py [--jobs 100000]

Uses Redis database 9 and a PostgreSQL database it creates and drops (jf_bench_pages).
"""

from __future__ import annotations

import argparse
import time
import uuid

import sqlalchemy as sa

import jobframe
from jobframe import queue_adapters


class ListedJob(jobframe.Job):
    queue_as = "listed"

    def perform(self, n: int, label: str) -> None:
        pass


def measure(name: str, adapter: object, total: int) -> None:
    with queue_adapters.override(adapter):  # type: ignore[arg-type]
        for start in range(0, total, 10_000):
            jobframe.perform_all_later([ListedJob(n, f"label-{n}") for n in range(start, min(total, start + 10_000))])
    inspector = adapter.inspector()  # type: ignore[attr-defined]
    cells = []
    for offset in (0, total // 2, total - 25):
        began = time.perf_counter()
        rows = inspector.jobs("ready", queue="listed", offset=offset, limit=25)
        cells.append(f"offset {offset:>6}: {1000 * (time.perf_counter() - began):6.1f} ms ({len(rows)} rows)")
    began = time.perf_counter()
    count = inspector.count("ready", "listed")
    cells.append(f"count {count}: {1000 * (time.perf_counter() - began):.1f} ms")
    print(f"{name:11s} " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    total = parser.parse_args().jobs
    from jobframe_redis.adapter import RedisAdapter

    redis_adapter = RedisAdapter("redis://127.0.0.1:6379/9", prefix=f"pages-{uuid.uuid4().hex[:6]}")
    redis_adapter.store.client.flushdb()
    try:
        measure("redis", redis_adapter, total)
    finally:
        redis_adapter.store.client.flushdb()
    from jobframe_sql import db
    from jobframe_sql.adapter import SQLAdapter

    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS jf_bench_pages")
        conn.exec_driver_sql("CREATE DATABASE jf_bench_pages")
    try:
        sql_adapter = SQLAdapter("postgresql+psycopg://postgres@127.0.0.1:5432/jf_bench_pages")
        db.init(sql_adapter.engine)
        measure("postgresql", sql_adapter, total)
        sql_adapter.shutdown()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS jf_bench_pages WITH (FORCE)")


if __name__ == "__main__":
    main()
