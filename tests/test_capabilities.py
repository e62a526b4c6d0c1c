"""`Capabilities` enforced at enqueue: what an adapter declares it cannot do is refused with
`jobframe.UnsupportedError`; class-level defaults and retries are never refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fixture_jobs import buffer
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.inline_job import InlineJob

import jobframe
from jobframe import plugins, queue_adapters
from jobframe.adapter_registry import LazyFactory
from jobframe.backend import Capabilities, QueueAdapter


class PrioritisedInlineJob(jobframe.Job):
    """A class-level priority: a default for every enqueue, not a request of one."""

    queue_adapter = "inline"
    priority = 10

    def perform(self, word: str) -> None:
        buffer.append(f"prioritised {word}")


@jobframe.retry_on(RuntimeError, wait=timedelta(hours=1), attempts=3, priority=1)
class FlakyInlineJob(jobframe.Job):
    """Fails twice; its retries ask for an hour's wait and a priority the inline adapter lacks."""

    queue_adapter = "inline"

    def perform(self) -> None:
        buffer.append(f"flaky {self.executions}")
        if self.executions < 3:
            raise RuntimeError("not yet")


class UnorderedAdapter(QueueAdapter):
    """Schedules but does not order by priority: records what reached it."""

    name = "unordered"
    capabilities = Capabilities(priority=False)

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, datetime | None]] = []

    def enqueue(self, job: Any) -> None:
        self.received.append((job.job_id, None))

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        self.received.append((job.job_id, timestamp))


@pytest.fixture
def unordered() -> Iterator[UnorderedAdapter]:
    with queue_adapters.override(UnorderedAdapter()) as adapter:
        yield adapter


def test_a_wait_the_adapter_cannot_honour_is_refused_with_the_fix() -> None:
    with pytest.raises(jobframe.UnsupportedError) as info:
        InlineJob.set(wait=60).perform_later("later")
    message = str(info.value)
    assert "'inline' adapter cannot delay jobs (set(wait=...)" in message
    assert "use 'async'" in message and "'redis'" in message and "'sql'" in message
    assert (info.value.adapter, info.value.feature) == ("inline", "delay")
    assert buffer == []


def test_wait_until_in_the_future_is_refused_too() -> None:
    later = datetime.now(UTC) + timedelta(minutes=5)
    with pytest.raises(jobframe.UnsupportedError, match="cannot delay jobs"):
        InlineJob.set(wait_until=later).perform_later("later")
    assert buffer == []


def test_unsupported_error_is_caught_by_the_handlers_written_for_invalid_options() -> None:
    with pytest.raises(jobframe.InvalidOptionError):
        InlineJob.set(wait=60).perform_later("later")
    with pytest.raises(jobframe.JobframeError):
        InlineJob.set(wait=60).perform_later("later")


def test_an_explicit_priority_is_refused_where_priorities_order_nothing() -> None:
    with pytest.raises(jobframe.UnsupportedError) as info:
        InlineJob.set(priority=1).perform_later("urgent")
    assert "'inline' adapter cannot order jobs by priority (set(priority=...))" in str(info.value)
    assert info.value.feature == "priority"
    assert buffer == []


def test_a_priority_of_none_is_no_request() -> None:
    InlineJob.set(priority=None).perform_later("plain")
    assert buffer == ["inline plain"]


def test_a_class_level_priority_is_a_default_and_runs_on_inline() -> None:
    job = PrioritisedInlineJob.perform_later("anyway")
    assert job.successfully_enqueued and job.priority == 10
    assert buffer == ["prioritised anyway"]


def test_retries_on_an_adapter_without_delay_run_at_once_and_are_never_refused() -> None:
    FlakyInlineJob.perform_later()
    assert buffer == ["flaky 1", "flaky 2", "flaky 3"]


def test_bulk_enqueue_refuses_a_request_before_anything_is_written(
    unordered: UnorderedAdapter,
) -> None:
    good, urgent = HelloJob("a"), HelloJob("b").set(priority=1)
    with pytest.raises(jobframe.UnsupportedError, match="'unordered' adapter cannot order"):
        jobframe.perform_all_later([good, urgent])
    assert unordered.received == []
    assert not good.successfully_enqueued


def test_an_adapter_gets_what_it_declares(unordered: UnorderedAdapter) -> None:
    job = HelloJob.set(wait=60).perform_later("later")
    assert unordered.received == [(job.job_id, job.scheduled_at)]
    with pytest.raises(jobframe.UnsupportedError):
        HelloJob.set(priority=3).perform_later("urgent")
    assert len(unordered.received) == 1


def test_enqueue_raw_on_an_adapter_without_a_store_is_refused() -> None:
    adapter = queue_adapters.lookup("inline")
    with pytest.raises(jobframe.UnsupportedError, match="cannot store raw payloads") as info:
        adapter.enqueue_raw("default", b"{}")
    assert info.value.feature == "raw_payloads"


def test_every_adapter_that_keeps_the_default_enqueue_raw_declares_it_cannot() -> None:
    for info in plugins.adapters():
        factory = info.factory
        cls = factory.load() if isinstance(factory, LazyFactory) else factory
        assert isinstance(cls, type) and issubclass(cls, QueueAdapter)
        keeps_default = cls.enqueue_raw is QueueAdapter.enqueue_raw
        assert keeps_default != cls.capabilities.raw_payloads, info.name


def _documented_table(
    name: str = "capabilities.md", marker: str = "capabilities-table"
) -> tuple[list[str], dict[str, list[bool]]]:
    """A docs page's table of adapters' capabilities (after ``<!-- marker:``): its columns and
    adapter -> cells."""
    page = (Path(__file__).resolve().parents[1] / "docs" / name).read_text()
    after = page.split(f"<!-- {marker}:", 1)[1]
    table: list[list[str]] = []
    for line in after.splitlines()[2:]:
        if not line.startswith("|"):
            if table:
                break
            continue
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, body = table[0], table[2:]
    cells = {}
    for row in body:
        name = row[0].split("`")[1]
        assert set(row[1:]) <= {"yes", "no"}, f"{name}: cells are yes or no, got {row[1:]}"
        cells[name] = [cell == "yes" for cell in row[1:]]
    return header[1:], cells


def test_the_documented_table_is_every_adapters_real_capabilities() -> None:
    columns, documented = _documented_table()
    fields = [f.name for f in dataclasses.fields(Capabilities)]
    assert columns == [*fields, "worker", "inspector"]
    installed = {}
    for info in plugins.adapters():
        factory = info.factory
        cls = factory.load() if isinstance(factory, LazyFactory) else factory
        assert isinstance(cls, type) and issubclass(cls, QueueAdapter)
        declared = dataclasses.asdict(cls.capabilities)
        installed[info.name] = [
            *(declared[field] for field in fields),
            cls.worker_backend is not QueueAdapter.worker_backend,
            cls.inspector is not QueueAdapter.inspector,
        ]
    assert set(documented) == set(installed)
    for name, real in installed.items():
        wrong = [c for c, d, r in zip(columns, documented[name], real, strict=True) if d != r]
        assert not wrong, f"docs/capabilities.md is wrong about {name!r} in columns {wrong}"


def test_the_flow_control_pages_table_is_every_adapters_real_capabilities() -> None:
    columns, documented = _documented_table("flow-control.md", "flow-control-table")
    flow = ["unique", "concurrency_limits", "rate_limits", "expiry", "timeouts", "cancel"]
    assert columns == flow
    installed = {}
    for info in plugins.adapters():
        factory = info.factory
        cls = factory.load() if isinstance(factory, LazyFactory) else factory
        assert isinstance(cls, type) and issubclass(cls, QueueAdapter)
        installed[info.name] = [getattr(cls.capabilities, column) for column in columns]
    assert set(documented) == set(installed)
    for name, real in installed.items():
        wrong = [c for c, d, r in zip(columns, documented[name], real, strict=True) if d != r]
        assert not wrong, f"docs/flow-control.md is wrong about {name!r} in columns {wrong}"
