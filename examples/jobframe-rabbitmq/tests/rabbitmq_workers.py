"""Real ``jobframe work`` processes for the tests, polling with deadlines, and broker peeking.

Workers run as ``python -m jobframe work`` in a temporary folder whose ``jobframe.toml`` selects
the ``rabbitmq`` adapter by name, as an application would, so the plugin's entry point is exercised
too. Every process a test starts is killed (with its process group) at teardown. The process
handling is jobframe's own testing kit (`jobframe.testing.workers`), as a third party would use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter

from jobframe.testing import workers as kit
from jobframe.testing.workers import wait_until

__all__ = ["Workers", "peek", "publish_raw", "wait_until", "workers"]

HERE = Path(__file__).resolve().parent


class Workers(kit.Workers):
    """`jobframe.testing.workers.Workers` on a folder whose ``jobframe.toml`` selects this
    plugin's adapter; every worker imports this folder's ``rabbitmq_jobs``."""

    def __init__(self, folder: Path, url: str, prefix: str) -> None:
        kit.write_config(folder, "rabbitmq", url=url, prefix=prefix)
        super().__init__(
            folder, jobs=("rabbitmq_jobs",), pythonpath=(str(HERE),), heartbeat=(), concurrency=2
        )


@pytest.fixture
def workers(tmp_path: Path, amqp_url: str, prefix: str) -> Iterator[Workers]:
    pool = Workers(tmp_path / "app", amqp_url, prefix)
    try:
        yield pool
    finally:
        pool.stop()
        print(f"worker logs (tails):\n{pool.logs()}")  # shown when the test failed


def peek(adapter: RabbitMQAdapter, queue: str) -> list[tuple[Any, bytes]]:
    """The messages of a RabbitMQ queue, left in place: (properties, body) in queue order."""
    connection = pika.BlockingConnection(pika.URLParameters(adapter.url))
    try:
        channel = connection.channel()
        found = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                return found
            found.append((properties, body))
    finally:
        connection.close()  # what was read and not acknowledged goes back


def publish_raw(adapter: RabbitMQAdapter, queue: str, body: bytes, **properties: Any) -> None:
    """Put a message straight on a jobframe queue, as a foreign producer might."""
    connection = pika.BlockingConnection(pika.URLParameters(adapter.url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        adapter.topology.declare_base(channel)
        adapter.topology.declare_queue(channel, queue)
        props = pika.BasicProperties(delivery_mode=2, **properties)
        channel.basic_publish("", adapter.names.queue(queue), body, props, mandatory=True)
    finally:
        connection.close()
