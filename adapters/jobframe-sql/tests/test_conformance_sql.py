"""The adapter conformance suite on SQLite, PostgreSQL and MariaDB, with an in-process worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance import AdapterConformance
from jobframe.worker.runtime import Worker, WorkerOptions
from jobframe_sql.adapter import SQLAdapter


class TestSQLAdapter(AdapterConformance):
    @pytest.fixture
    def adapter(self, adapter: SQLAdapter) -> Iterator[QueueAdapter]:  # type: ignore[override]
        options = WorkerOptions(
            queues=["*"], concurrency=4, scheduler_interval=0.05, fetch_timeout=0.2
        )
        worker = Worker(adapter.worker_backend(), options)
        thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
        thread.start()
        yield adapter
        worker.stop()
        thread.join(10)
        assert not thread.is_alive()
        assert not adapter.inspector().jobs("running"), "a job was left claimed after shutdown"
