"""Bad options and arguments are refused at enqueue with the same error on every backend, and
nothing is written: Redis, SQLite and PostgreSQL, each real."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from stores import store_adapter

import jobframe
from jobframe import queue_adapters
from jobframe.backend.inspector import Inspector


class RecordJob(jobframe.Job):
    queue_as = "refusals"

    def perform(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(params=["redis", "sqlite", "postgresql"])
def inspector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inspector]:
    """The backend's inspector, with that backend configured for every job."""
    with (
        store_adapter(request.param, tmp_path, label="jfrefuse") as adapter,
        queue_adapters.override(adapter),
    ):
        yield adapter.inspector()


def _written(inspector: Inspector) -> int:
    return inspector.pending() + inspector.count("dead")


FAR = datetime.max.replace(tzinfo=UTC)
BAD_OPTIONS = [
    pytest.param({"wait": float("inf")}, "wait must be from 0 to", id="wait-inf"),
    pytest.param({"wait": float("nan")}, "wait must be from 0 to", id="wait-nan"),
    pytest.param({"wait": 1e12}, "wait must be from 0 to", id="wait-1e12"),
    pytest.param({"wait": 10**400}, "wait must be from 0 to", id="wait-huge-int"),
    pytest.param({"wait": timedelta.max}, "wait must be from 0 to", id="timedelta-max"),
    pytest.param({"wait_until": FAR}, "wait_until must be between 1970", id="datetime-max"),
    pytest.param(
        {"wait_until": datetime.max.replace(tzinfo=ZoneInfo("America/Lima"))},
        "wait_until must be between 1970",
        id="datetime-max-west-of-utc",
    ),
    pytest.param(
        {"wait_until": datetime(1, 1, 1, tzinfo=UTC)}, "wait_until must be between", id="year-1"
    ),
    pytest.param({"priority": 2**40}, "from -2048 to 2047", id="priority-2**40"),
    pytest.param({"priority": -2049}, "from -2048 to 2047", id="priority-low"),
    pytest.param({"priority": True}, "from -2048 to 2047", id="priority-bool"),
    pytest.param({"queue": "reports/daily"}, "'reports.daily'", id="queue-slash"),
    pytest.param({"queue": "x" * 10_000}, "1-128 characters", id="queue-10k"),
    pytest.param({"queue": "nul\x00"}, "1-128 characters", id="queue-nul"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_a_bad_option_is_refused_before_anything_is_written(
    inspector: Inspector, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(jobframe.InvalidOptionError, match=message):
        RecordJob.set(**options).perform_later("x")
    with pytest.raises(jobframe.InvalidOptionError, match=message):
        RecordJob("x").enqueue(**options)
    assert _written(inspector) == 0


BAD_ARGUMENTS = [
    pytest.param((10**5000,), {}, r"args\[0\]: the int has", id="int-5000-digits"),
    pytest.param(("\ud800",), {}, r"args\[0\]: the string holds '\\ud800'", id="lone-surrogate"),
    pytest.param((), {"d": {"k\udcff": 1}}, r"kwargs\['d'\]\.<key 0>", id="surrogate-key"),
]


@pytest.mark.parametrize(("args", "kwargs", "message"), BAD_ARGUMENTS)
def test_a_bad_argument_is_a_serialization_error_and_nothing_is_written(
    inspector: Inspector, args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(jobframe.SerializationError, match=message):
        RecordJob.perform_later(*args, **kwargs)
    with pytest.raises(jobframe.SerializationError, match=message):
        jobframe.perform_all_later([RecordJob("fine"), RecordJob(*args, **kwargs)])
    assert _written(inspector) == 0


def test_edges_of_every_range_are_accepted(inspector: Inspector) -> None:
    soon = datetime.now(UTC) + timedelta(days=36_000)
    RecordJob.set(priority=-2048, queue="q" * 128).perform_later(2**53, -(10**4299), "é")
    RecordJob.set(priority=2047, wait=timedelta(days=36_500)).perform_later(float("nan"))
    RecordJob.set(wait_until=soon).perform_later()
    RecordJob.set(wait_until=datetime(1970, 1, 1, tzinfo=UTC)).perform_later()
    assert inspector.pending() == 4
    ready = inspector.jobs("ready", queue="q" * 128)
    assert [job.priority for job in ready] == [-2048]


def test_retry_on_takes_the_same_priority_range() -> None:
    with pytest.raises(jobframe.InvalidOptionError, match=r"retry_on\(priority=\).*-2048"):
        jobframe.retry_on(ValueError, priority=5000)
