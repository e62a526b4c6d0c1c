"""`jobframe.payload_summary` reads the recurring task a stored payload names, any bytes."""

from __future__ import annotations

import json

import pytest

from jobframe.payload_summary import recurring_task, summarize
from jobframe.testing.conformance_jobs import RecordingJob


def test_a_job_a_task_enqueued_names_it_and_others_name_none() -> None:
    job = RecordingJob("/dev/null", "tag")
    assert recurring_task(json.dumps(job.serialize()).encode()) is None
    job.recurring_task = "nightly"
    raw = json.dumps(job.serialize()).encode()
    assert recurring_task(raw) == summarize(raw).recurring_task == "nightly"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b'{"job_class": "X", "recurring_task": 5}',
        b'{"job_class": "X", "recurring_task": ""}',
        b'["recurring_task"]',
        b'{"recurring_task": "cut',
        b'\xff"recurring_task"',
    ],
)
def test_no_task_is_read_from_what_names_none(raw: bytes | None) -> None:
    assert recurring_task(raw) is None


def test_a_name_that_cannot_be_encoded_is_escaped() -> None:
    assert recurring_task(b'{"job_class": "X", "recurring_task": "a\\ud800"}') == "a\\ud800"
