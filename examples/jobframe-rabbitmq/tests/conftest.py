"""Fixtures of the RabbitMQ adapter's tests: the real broker, a namespace (prefix) of their own.

Every test that talks to the broker gets a fresh ``prefix``, so no test sees another's messages,
and everything declared under it is deleted at teardown.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter

from jobframe import queue_adapters
from jobframe.testing.services import require_service

# The job modules and helpers beside this file (the worker subprocesses import them too).
sys.path.insert(0, str(Path(__file__).resolve().parent))

AMQP_URL = os.environ.get("JOBFRAME_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


@pytest.fixture
def amqp_url() -> str:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return AMQP_URL


@pytest.fixture
def prefix() -> str:
    return f"jftest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def adapter(amqp_url: str, prefix: str) -> Iterator[RabbitMQAdapter]:
    """An adapter on a fresh prefix, routing every job; its namespace is deleted afterwards."""
    adapter = RabbitMQAdapter(amqp_url, prefix=prefix)
    with queue_adapters.override(adapter):
        yield adapter
    adapter.shutdown()
    adapter.delete_everything()
