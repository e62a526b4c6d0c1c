"""``enqueue_raw`` on the in-process adapters: the async adapter decodes and runs the bytes as a
worker would (dead with a reason when they are no job), the test adapter records them as given,
and the inline adapter, which keeps no store, says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jobframe
from jobframe.backend.payload import dump_payload
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.test import RawEnqueued, TestAdapter

done: list[str] = []


class RawJob(jobframe.Job):
    job_name = "tests.worker.RawJob"

    def perform(self, tag: str) -> None:
        done.append(tag)


@pytest.fixture
def async_adapter() -> Iterator[AsyncAdapter]:
    done.clear()
    adapter = AsyncAdapter(concurrency=2)
    yield adapter
    adapter.shutdown(timeout=5)


def test_async_adapter_runs_good_raw_payloads_and_keeps_bad_ones_dead(
    async_adapter: AsyncAdapter,
) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    bad = {
        async_adapter.enqueue_raw("raw", deep): "payload nested too deeply",
        async_adapter.enqueue_raw("raw", b"\xff"): "undecodable payload",
        async_adapter.enqueue_raw("raw", b'{"job_class": 5}'): "malformed payload",
    }
    async_adapter.enqueue_raw("raw", dump_payload(RawJob("from raw bytes").serialize()))
    assert async_adapter.wait_idle(10)
    assert done == ["from raw bytes"]
    inspector = async_adapter.inspector()
    dead = {info.id: info for info in inspector.jobs("dead")}
    assert set(dead) == set(bad)
    for id, reason in bad.items():
        assert dead[id].error is not None and dead[id].error["reason"] == reason
        assert dead[id].job_class is None and dead[id].raw
    assert dead[next(iter(bad))].raw == deep


def test_test_adapter_records_raw_payloads_as_given() -> None:
    adapter = TestAdapter()
    id = adapter.enqueue_raw("imports", b"\x00not a job")
    assert adapter.raw_enqueued == [RawEnqueued(id, "imports", b"\x00not a job")]
    assert adapter.enqueued_jobs == []
    adapter.clear()
    assert adapter.raw_enqueued == []


def test_inline_adapter_has_no_store_for_raw_payloads() -> None:
    with pytest.raises(jobframe.UnsupportedError, match="cannot store raw payloads"):
        InlineAdapter().enqueue_raw("default", b"{}")


@pytest.mark.parametrize(
    ("queue", "payload", "error"),
    [
        ("", b"{}", jobframe.InvalidOptionError),
        (None, b"{}", jobframe.InvalidOptionError),
        ("default", "text", TypeError),
        ("default", bytearray(b"{}"), TypeError),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_stored(
    queue: object, payload: object, error: type[Exception]
) -> None:
    adapter = TestAdapter()
    with pytest.raises(error):
        adapter.enqueue_raw(queue, payload)  # type: ignore[arg-type]
    assert adapter.raw_enqueued == []
