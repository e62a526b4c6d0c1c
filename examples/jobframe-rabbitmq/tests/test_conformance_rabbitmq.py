"""The adapter conformance suite against the real RabbitMQ, drained by a real ``jobframe work``
process that finds the adapter through the plugin's entry point and every queue through ``*``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from rabbitmq_workers import Workers

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance import AdapterConformance


class TestRabbitMQAdapter(AdapterConformance):
    @pytest.fixture
    def adapter(  # type: ignore[override]
        self, adapter: RabbitMQAdapter, tmp_path: Path, amqp_url: str, prefix: str
    ) -> Iterator[QueueAdapter]:
        self.workers = Workers(tmp_path / "app", amqp_url, prefix)
        self.workers.start(imports=("jobframe.testing.conformance_jobs",), concurrency=4)
        try:
            yield adapter
        finally:
            self.workers.stop()
            print(f"worker logs (tails):\n{self.workers.logs()}")

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        """Wait for the worker process to run the jobs; stop early if it died."""
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            self.workers.check_alive()
            time.sleep(0.02)  # polling the journal the worker process writes
