"""jobframe's backend conformance suite against the real RabbitMQ, as a third party runs it: an
in-process worker for the enqueue tests, ``jobframe work`` processes (finding the adapter through
the plugin's entry point) for the reliability ones, their connections run through a TCP proxy the
reconnect test cuts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing import BackendConformance, WorkerHarness
from jobframe.testing.tcp_proxy import Proxy


class TestRabbitMQBackend(BackendConformance):
    #: a delivery whose acknowledgement never reached the broker is redelivered (AMQP), and a
    #: retry published before that acknowledgement stays published
    redelivers = True
    #: no reaper: the broker itself requeues the unacknowledged messages of a closed connection
    reaps = False
    load_jobs = 5_000
    not_applicable = {
        "test_poison_pill_goes_to_the_dead_set": (
            "RabbitMQ keeps no crash count: the broker redelivers the job of a dead worker "
            "without limit (a quorum queue's delivery-limit would give one)"
        ),
    }

    @pytest.fixture
    def adapter(self, adapter: RabbitMQAdapter) -> QueueAdapter:  # type: ignore[override]
        return adapter

    @pytest.fixture
    def harness(  # type: ignore[override]
        self, tmp_path: Path, prefix: str
    ) -> Iterator[WorkerHarness]:
        proxy = Proxy(("127.0.0.1", 5672))
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
        try:
            yield WorkerHarness(
                tmp_path / "app",
                "rabbitmq",
                {"url": url, "prefix": prefix},
                drop_connections=proxy.cut,
                heartbeat=(),
            )
        finally:
            proxy.close()
