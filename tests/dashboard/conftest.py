"""The backends the dashboard tests read through: real Redis (a key prefix per test) and SQLite
(a file per test), each written with the backend's own store."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stores import store_adapter

from jobframe import queue_adapters


@pytest.fixture(params=["redis", "sqlite"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with (
        store_adapter(request.param, tmp_path, label="jfdash") as made,
        queue_adapters.override(made),
    ):
        yield made


def store_ready(adapter: Any, queue: str, arguments: list[Any], job_class: str = "PageJob") -> str:
    """Write a ready job straight into the backend, as another producer (or an older jobframe)
    could: any queue name, any JSON arguments, past the checks ``perform_later`` makes."""
    job_id = str(uuid.uuid4())
    payload = json.dumps(
        {
            "version": 1,
            "job_class": job_class,
            "job_id": job_id,
            "queue_name": queue,
            "priority": None,
            "arguments": arguments,
            "kwargs": {},
            "executions": 0,
            "exception_executions": {},
            "locale": "en",
            "timezone": "UTC",
            "enqueued_at": "2026-01-01T00:00:00+00:00",
            "scheduled_at": None,
        }
    ).encode()  # ASCII: a lone surrogate is stored as the JSON escape \ud800
    if hasattr(adapter, "store"):  # Redis: the adapter's own ENQUEUE script
        id = uuid.uuid4().hex
        adapter.store.enqueue_one((id, queue, 0, 0, payload))
        return id
    import sqlalchemy as sa

    from jobframe_sql.schema import jobs

    id = uuid.uuid4().hex
    now = int(time.time() * 1000)
    row = {"id": id, "queue": queue, "state": "ready", "run_at": now, "enqueued_at": now}
    row |= {"job_class": job_class, "job_id": job_id, "payload": payload}
    with adapter.engine.begin() as conn:
        conn.execute(sa.insert(jobs).values(priority=0, crashes=0, attempts=0, **row))
    return id
