"""The backend conformance suite, run against every in-process adapter. Their jobs run where they
are enqueued, so the worker-process, inspector and reconnect tests report "not applicable"."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.base import QueueAdapter
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing import BackendConformance


class TestInlineAdapter(BackendConformance):
    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        return InlineAdapter()

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert done(), "inline jobs run inside perform_later; nothing may be left to drain"


class TestAsyncAdapter(BackendConformance):
    @pytest.fixture
    def adapter(self) -> Iterator[QueueAdapter]:
        adapter = AsyncAdapter(concurrency=3)
        yield adapter
        adapter.shutdown(timeout=5)

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert isinstance(adapter, AsyncAdapter)
        adapter.wait_idle(timeout, include_scheduled=not done())
        if not done():  # a scheduled job became due after idling: wait for it too
            adapter.wait_idle(timeout, include_scheduled=True)


class TestTestAdapter(BackendConformance):
    @pytest.fixture
    def adapter(self) -> QueueAdapter:
        return TestAdapter()

    def drain(self, adapter: QueueAdapter, done: Callable[[], bool], timeout: float) -> None:
        assert isinstance(adapter, TestAdapter)
        deadline = datetime.now(UTC).timestamp() + timeout
        while not done() and datetime.now(UTC).timestamp() < deadline:
            try:
                adapter.perform_enqueued(lambda record: True, at=datetime.now(UTC))
            except RuntimeError as exc:
                if "fails on purpose" not in str(exc):
                    raise
                continue  # the failing job is out of the queue: perform the rest
            future = [r.at for r in adapter.enqueued_jobs if r.at is not None]
            if not done() and future:
                # Only jobs scheduled later are left: wait for the clock, not for another thread.
                time.sleep(max(0.0, min(future).timestamp() - time.time()))
