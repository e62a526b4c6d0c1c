"""Which adapters refuse flow control at enqueue: one whose workers cannot honour a control
refuses it with `UnsupportedError` naming the fix; one that runs no workers (the test adapter,
inline) takes the job, since nothing there runs two at once or too fast."""

from __future__ import annotations

from typing import Any

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.capabilities import Capabilities
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.test import TestAdapter


@jobframe.limits_concurrency(to=1)
class OneAtATimeJob(jobframe.Job):
    def perform(self, *args: Any) -> None:
        pass


@jobframe.rate_limit("5/minute")
class PoliteJob(jobframe.Job):
    def perform(self, *args: Any) -> None:
        pass


@jobframe.unique()
class OnlyOneJob(jobframe.Job):
    def perform(self, *args: Any) -> None:
        pass


class DurableRecorder(TestAdapter):
    """A recorder that claims to keep jobs for workers, without any flow control."""

    name = "durable-recorder"
    capabilities = Capabilities(bulk=True, durable=True)


@pytest.mark.parametrize("job_class", [OneAtATimeJob, PoliteJob])
def test_the_test_adapter_takes_worker_side_controls(job_class: type[jobframe.Job]) -> None:
    adapter = TestAdapter()
    with queue_adapters.override(adapter):
        job = job_class.perform_later(1)
    assert job.successfully_enqueued
    assert [record.job_class for record in adapter.enqueued_jobs] == [job_class]


def test_inline_runs_flow_controlled_jobs_at_once() -> None:
    with queue_adapters.override(InlineAdapter()):
        for job_class in (OneAtATimeJob, PoliteJob, OnlyOneJob):
            assert job_class.perform_later(1).successfully_enqueued


@pytest.mark.parametrize(
    ("job_class", "words"),
    [
        (OneAtATimeJob, "cannot limit concurrency"),
        (PoliteJob, "cannot rate-limit jobs"),
        (OnlyOneJob, "cannot keep jobs unique"),
    ],
)
def test_workers_that_cannot_honour_a_control_refuse_it(
    job_class: type[jobframe.Job], words: str
) -> None:
    adapter = DurableRecorder()
    with queue_adapters.override(adapter), pytest.raises(jobframe.UnsupportedError, match=words):
        job_class.perform_later(1)
    assert adapter.enqueued_jobs == []
