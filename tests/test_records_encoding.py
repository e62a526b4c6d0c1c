"""A record's data joined from parts (`jobframe.tracking.records._encode_fast`) is byte for byte
what encoding its dictionary gives (`records.data_of`), for every shape a worker writes; and
the shapes it does not assume go the dictionary way."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

import jobframe
from jobframe.job.base import Job
from jobframe.tracking import records

FINISHED = 1796567743.519928
STARTED = 1796567743.5199072


class Noop(jobframe.Job):
    def perform(self) -> None:
        pass


class Kept(jobframe.Job):
    store_result = True

    def perform(self) -> None:
        pass


class Renames(jobframe.Job):
    """A job whose own record field names a key `build` writes: it overrides it in place."""

    def perform(self) -> None:
        pass

    def _record_fields(self) -> dict[str, Any]:
        return {**super()._record_fields(), "queue": "elsewhere", "tag": "x"}


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "time", SimpleNamespace(time=lambda: FINISHED))


def _loaded(job: Job) -> Job:
    """``job`` as a worker has it: read back from its payload."""
    return Job.deserialize(json.loads(json.dumps(job.serialize())))


def _expected(job: Job, **kw: Any) -> bytes:
    error = kw.get("error")
    if error is not None:
        error = {k: v for k, v in error.items() if k != "attempts"}
    return records.encode(
        records.data_of(
            job, FINISHED, kw.get("started_at"), error, kw.get("progress"),
            kw.get("has_result", False), kw.get("result"), None,
        )
    )  # fmt: skip


def _jobs() -> list[Job]:
    plain = _loaded(Noop())
    enqueued = Noop()
    enqueued.enqueued_at = datetime(2026, 12, 6, 14, 0, 0, 123456, tzinfo=UTC)
    enqueued.executions = 3
    enqueued.queue_name = 'é queue "quoted"'
    in_batch = _loaded(Noop())
    in_batch.batch_id = "batch-1"
    linked = _loaded(Kept())
    linked.chain_info = {"ids": ["a", "b", "c"], "index": 1, "previous": "a"}
    linked.chain = [{"job_class": "x"}]
    return [plain, _loaded(enqueued), in_batch, linked, _loaded(Kept())]


SHAPES: list[dict[str, Any]] = [
    {},
    {"started_at": STARTED},
    {"started_at": STARTED, "has_result": True, "result": {"n": [1, 2.5, None], "s": "ü"}},
    {"has_result": True, "result": "text"},
    {"has_result": True, "result": None},
    {"error": {"class": "E", "message": "boom\n", "traceback": "T", "attempts": 2}},
    {"started_at": STARTED, "progress": {"done": 3, "total": 10, "message": "¾"}},
]


@pytest.mark.parametrize("shape", SHAPES, ids=range(len(SHAPES)))
def test_the_joined_record_is_the_encoded_dictionary_byte_for_byte(shape: dict[str, Any]) -> None:
    for job in _jobs():
        record = records.build(job.job_id, "succeeded", job, **shape)
        assert record.data == _expected(job, **shape), type(job).__name__
        decoded = json.loads(record.data)
        assert decoded["finished_at"] == FINISHED
        assert decoded["job_class"] == job.job_class_name()
        assert record.ttl == records.ttl_of(job)
        assert record.batch_id == job.batch_id
        assert record.notify == job._stores_result()


def test_a_record_field_naming_a_key_of_build_overrides_it_in_place() -> None:
    job = _loaded(Renames())
    data = records.build(job.job_id, "failed", job, started_at=STARTED).data
    assert data == _expected(job, started_at=STARTED)
    assert list(json.loads(data))[:3] == ["job_class", "queue", "attempts"]
    assert json.loads(data)["queue"] == "elsewhere"


def test_values_not_of_the_plain_types_go_the_dictionary_way() -> None:
    job = _loaded(Noop())
    job.executions = True  # type: ignore[assignment]  # json writes true, not True
    assert records.build(job.job_id, "failed", job).data == _expected(job)
    assert json.loads(records.build(job.job_id, "failed", job).data)["attempts"] is True
    job = _loaded(Noop())
    assert records.build(job.job_id, "failed", job, started_at=5).data == _expected(
        job, started_at=5
    )


def test_a_value_json_refuses_still_raises() -> None:
    job = _loaded(Kept())
    with pytest.raises(ValueError, match="Out of range float"):
        records.build(job.job_id, "succeeded", job, has_result=True, result=float("nan"))
