"""What the conformance suite cannot see through the inspector: the Redis keys themselves."""

from __future__ import annotations

from datetime import timedelta

import jobframe
from jobframe.testing.outcomes import fail_ready
from jobframe_redis.adapter import RedisAdapter


class InspectedJob(jobframe.Job):
    queue_as = "inspected"

    def perform(self, n: int) -> None:
        pass


def test_discarded_jobs_leave_no_payload_and_a_retry_stays_in_its_namespace(
    adapter: RedisAdapter,
) -> None:
    inspector, backend = adapter.inspector(), adapter.worker_backend()
    job = InspectedJob.perform_later(0)
    jobframe.perform_all_later([InspectedJob(n) for n in range(1, 3)])
    InspectedJob.set(wait=timedelta(hours=1)).perform_later(3)
    fail_ready(backend, 2, process="p1")
    assert backend.retry_entry(job, RedisAdapter(adapter.store.url, prefix="elsewhere")) is None
    assert inspector.discard(all=True) == 2
    assert inspector.discard(all=True, state="scheduled") == 1
    assert inspector.clear("inspected") == 1
    assert adapter.store.client.hlen(adapter.store.keys.jobs) == 0, "a payload was left behind"
