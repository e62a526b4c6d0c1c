"""A dropped connection (network failure, broker restart) is replaced, for enqueuers and workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from rabbitmq_jobs import RecordJob, read
from rabbitmq_workers import wait_until
from tcp_proxy import Proxy

from jobframe import queue_adapters
from jobframe.worker.runtime import Worker, WorkerOptions


def tags(journal: str) -> list[str]:
    return [e["tag"] for e in read(journal)]


@pytest.fixture
def proxy(amqp_url: str) -> Iterator[Proxy]:
    proxy = Proxy(("127.0.0.1", 5672))
    yield proxy
    proxy.close()


def test_enqueuer_and_worker_reconnect_after_a_dropped_connection(
    adapter: RabbitMQAdapter, proxy: Proxy, prefix: str, tmp_path: Path
) -> None:
    journal = str(tmp_path / "journal.jsonl")
    url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
    via_proxy = RabbitMQAdapter(url, prefix=prefix)
    worker = Worker(via_proxy.worker_backend(), WorkerOptions(queues=["default"], concurrency=2))
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        with queue_adapters.override(via_proxy):
            RecordJob.perform_later(journal, "before")
            wait_until(lambda: len(read(journal)) == 1, 15, "the first job")
            proxy.cut()  # both the enqueuer's and the worker's connections drop
            RecordJob.perform_later(journal, "after")  # reconnects; no error, no loss
        wait_until(lambda: "after" in tags(journal), 20, "the job enqueued after the cut")
        # "before" may run twice: if the cut came before its acknowledgement reached the broker,
        # the broker requeued it (at-least-once).
        assert tags(journal).count("after") == 1 and "before" in tags(journal)
    finally:
        worker.stop()
        thread.join(15)
        via_proxy.shutdown()
    assert not thread.is_alive()
