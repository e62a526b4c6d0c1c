"""Core: attributes, building without enqueueing, abstract jobs, the versioned wire format."""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fixture_jobs import buffer
from fixture_jobs.abstract_job import ApplicationJob, ConcreteJob
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.kwargs_job import KwargsJob

import jobframe
from jobframe import registry
from jobframe.testing import JobsHelper


def test_new_job_has_identity_and_defaults() -> None:
    job = HelloJob("Jamie")
    assert str(uuid.UUID(job.job_id, version=4)) == job.job_id
    assert HelloJob("Jamie").job_id != job.job_id
    assert job.args == ("Jamie",)
    assert job.kwargs == {}
    assert job.executions == 0
    assert job.exception_executions == {}
    assert job.queue_name == "default"
    assert job.priority is None
    assert job.provider_job_id is None
    assert job.enqueued_at is None
    assert job.scheduled_at is None
    assert job.successfully_enqueued is False


def test_building_a_job_enqueues_nothing(jobs: JobsHelper) -> None:
    HelloJob("Jamie")
    KwargsJob(1, flag=True)
    jobs.assert_no_enqueued_jobs()
    assert buffer == []


def test_timestamps_are_aware_utc(jobs: JobsHelper) -> None:
    job = HelloJob.set(wait=timedelta(minutes=5)).perform_later()
    assert job.enqueued_at is not None and job.scheduled_at is not None
    assert job.enqueued_at.utcoffset() == timedelta(0)
    assert job.scheduled_at.tzinfo is UTC
    copy = HelloJob.deserialize(json.loads(json.dumps(job.serialize())))
    assert copy.enqueued_at == job.enqueued_at
    assert copy.scheduled_at == job.scheduled_at
    assert copy.scheduled_at.utcoffset() == timedelta(0)


def test_abstract_job_is_not_registered() -> None:
    assert ApplicationJob.abstract is True
    assert ConcreteJob.abstract is False
    names = registry.registered()
    assert registry.name_of(ConcreteJob) in names
    assert registry.name_of(ApplicationJob) not in names
    assert registry.name_of(jobframe.Job) not in names


def test_abstract_job_cannot_be_enqueued_or_built(jobs: JobsHelper) -> None:
    with pytest.raises(jobframe.JobDefinitionError, match="abstract"):
        ApplicationJob.perform_later()
    with pytest.raises(jobframe.JobDefinitionError):
        ApplicationJob.perform_now()
    jobs.assert_no_enqueued_jobs()


def test_subclass_of_abstract_job_inherits_its_settings(jobs: JobsHelper) -> None:
    job = ConcreteJob.perform_later()
    assert job.queue_name == "application"
    jobs.perform_enqueued_jobs()
    assert buffer == ["concrete"]


def test_class_without_perform_is_a_definition_error() -> None:
    with pytest.raises(jobframe.JobDefinitionError, match="perform"):

        class NoPerformJob(jobframe.Job):
            pass


def test_serialize_is_plain_json_and_round_trips() -> None:
    job = KwargsJob([1, "two"], flag=True)
    data = job.serialize()
    assert json.loads(json.dumps(data)) == data
    assert data["version"] == 1
    assert data["job_class"] == "fixture_jobs.kwargs_job.KwargsJob"
    assert data["job_id"] == job.job_id
    copy = jobframe.Job.deserialize(json.loads(json.dumps(data)))
    assert type(copy) is KwargsJob
    assert copy.job_id == job.job_id
    assert copy.queue_name == job.queue_name
    assert copy.serialize() == data
    assert copy.perform_now() == ([1, "two"], True)


def test_deserialize_on_a_subclass_checks_the_class() -> None:
    data = HelloJob().serialize()
    with pytest.raises(jobframe.DeserializationError):
        KwargsJob.deserialize(data)


UNDECODABLE = {"_jf": "no-such-serializer", "value": 1}


@jobframe.retry_on(jobframe.DeserializationError, wait=0, attempts=2)
class RetryUndecodableJob(jobframe.Job):
    def perform(self, value: Any) -> None:
        buffer.append(repr(value))


def test_deserialized_arguments_are_decoded_on_first_access() -> None:
    moment = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    job = KwargsJob({"at": moment, "amount": Decimal("1.50")}, flag=True)
    copy = jobframe.Job.deserialize(json.loads(json.dumps(job.serialize())))
    assert copy.args == ({"at": moment, "amount": Decimal("1.50")},)
    assert copy.kwargs == {"flag": True}


def test_undecodable_arguments_raise_on_first_access_not_in_deserialize() -> None:
    data = KwargsJob(1, flag=True).serialize()
    data["arguments"] = [UNDECODABLE]
    copy = jobframe.Job.deserialize(data)
    with pytest.raises(jobframe.DeserializationError, match="no-such-serializer"):
        _ = copy.args
    with pytest.raises(jobframe.DeserializationError, match="no-such-serializer"):
        _ = copy.kwargs  # the two are decoded together
    assert copy.serialize()["arguments"] == [UNDECODABLE], "the wire form is kept as it came"


def test_arguments_of_a_deserialized_job_stay_assignable() -> None:
    data = KwargsJob(1, flag=True).serialize()
    copy = jobframe.Job.deserialize(data)
    copy.args = (2,)
    assert copy.kwargs == {"flag": True}
    assert (copy.serialize()["arguments"], copy.serialize()["kwargs"]) == ([2], {"flag": True})
    assert copy.perform_now() == (2, True)

    repaired = jobframe.Job.deserialize({**data, "arguments": [UNDECODABLE]})
    repaired.args = (3,)  # replaces the half that cannot be decoded; kwargs still decode
    assert repaired.perform_now() == (3, True)
    other = jobframe.Job.deserialize({**data, "kwargs": {"flag": False}})
    other.kwargs = {}
    assert other.args == (1,) and other.serialize()["kwargs"] == {}


def test_a_retried_job_whose_arguments_cannot_be_decoded_is_logged_as_such(
    jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    data = RetryUndecodableJob(1).serialize()
    copy = jobframe.Job.deserialize({**data, "arguments": [UNDECODABLE]})
    with caplog.at_level(logging.INFO, logger="jobframe"):
        copy.perform_now()  # retry_on(DeserializationError) enqueues a retry
    assert jobs.enqueued_jobs and buffer == []
    assert "(arguments that cannot be decoded)" in caplog.text
    assert not [r for r in caplog.records if "subscriber" in r.getMessage()], "a log line failed"


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_unknown_payload_version_is_rejected(version: object) -> None:
    data = HelloJob().serialize()
    data["version"] = version
    with pytest.raises(jobframe.DeserializationError, match="version"):
        jobframe.Job.deserialize(data)


@pytest.mark.parametrize(
    "payload",
    [[], "job", {"version": 1, "job_class": "fixture_jobs.hello_job.HelloJob"}],
)
def test_malformed_payload_is_a_deserialization_error(payload: object) -> None:
    with pytest.raises(jobframe.DeserializationError):
        jobframe.Job.deserialize(payload)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("job_id", None),
        ("job_id", 7),
        ("queue_name", None),
        ("queue_name", ""),
        ("executions", "many"),
        ("exception_executions", []),
        ("exception_executions", {"KeyError": "x"}),
        ("arguments", {"a": 1}),
        ("kwargs", []),
        ("priority", 1.5),
        ("enqueued_at", "yesterday"),
        ("scheduled_at", 5),
    ],
)
def test_malformed_field_is_a_deserialization_error(field: str, value: object) -> None:
    data = HelloJob().serialize()
    data[field] = value
    with pytest.raises(jobframe.DeserializationError, match=field):
        jobframe.Job.deserialize(data)


@pytest.mark.parametrize(
    "job_class",
    [
        "os.system",
        "subprocess.Popen",
        "antigravity.geohash",
        "jobframe.Job",
        "fixture_jobs.abstract_job.ApplicationJob",
        None,
        42,
    ],
)
def test_unknown_job_class_imports_nothing(job_class: object) -> None:
    data = HelloJob().serialize()
    data["job_class"] = job_class
    before = set(sys.modules)
    with pytest.raises(jobframe.UnknownJobError):
        jobframe.Job.deserialize(data)
    with pytest.raises(jobframe.UnknownJobError):
        jobframe.Job.execute(data)
    assert set(sys.modules) == before
    assert "antigravity" not in sys.modules


def test_arguments_are_bound_against_perform_at_enqueue(jobs: JobsHelper) -> None:
    with pytest.raises(TypeError, match=r"HelloJob\.perform"):
        HelloJob.perform_later("a", "b")
    with pytest.raises(TypeError, match=r"KwargsJob\.perform.*unexpected"):
        KwargsJob.perform_later(1, color="red")
    with pytest.raises(TypeError, match=r"KwargsJob\.perform"):
        KwargsJob.perform_later()
    with pytest.raises(TypeError, match=r"KwargsJob\.perform"):
        KwargsJob.set(queue="q").perform_later(1, 2)
    jobs.assert_no_enqueued_jobs()


def test_repr_names_class_id_and_queue() -> None:
    job = HelloJob()
    assert repr(job) == f"<HelloJob {job.job_id} queue='default'>"


def test_job_ids_are_random_version_4_uuids() -> None:
    import uuid

    from jobframe.job.core import _uuid4

    ids = {_uuid4() for _ in range(2000)}
    assert len(ids) == 2000
    for text in list(ids)[:200]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_never_hands_out_its_parents_job_ids() -> None:
    import warnings

    from jobframe.job import core

    core._uuid4()  # the pool holds ids made ahead
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.write(write_end, json.dumps([core._uuid4() for _ in range(300)]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reading:
        childs = set(json.loads(reading.read()))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parents = {core._uuid4() for _ in range(300)}
    assert len(childs) == 300 and not childs & parents
