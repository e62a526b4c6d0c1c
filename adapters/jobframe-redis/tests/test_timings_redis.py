"""Run times per class on Redis beyond the conformance suite's
`jobframe.testing.conformance.timings`: the ``{p}:t:<minute>`` hash itself (its fields, its
expiry after the retention), class names holding "|", and the class read off the payload when
the worker did not name it."""

from __future__ import annotations

import time

import jobframe
from jobframe.backend.timings import RETENTION_MINUTES
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.timings import TTL_SECONDS


class TimedRedisJob(jobframe.Job):
    """Does nothing; the tests settle its claims by hand."""

    job_name = "tests.redis.TimedJob"

    def perform(self, n: int = 0) -> None: ...


def claimed(adapter: RedisAdapter, n: int) -> list[Outcome]:
    """``n`` jobs enqueued and claimed by process ``p1``, as bare ``done`` outcomes."""
    jobframe.perform_all_later([TimedRedisJob(i) for i in range(n)])
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], n))
    claims = backend.fetch("p1", ["*"], n, 1.0)
    assert len(claims) == n
    return [Outcome(claim, "done") for claim in claims]


def test_one_hash_per_minute_expiring_after_the_retention(adapter: RedisAdapter) -> None:
    first, second, third = claimed(adapter, 3)
    minute = int(time.time() // 60)
    adapter.worker_backend().complete(
        "p1",
        [
            Outcome(first.claim, "done", runtime=0.004, job_class="a|b"),
            Outcome(second.claim, "failed", {"class": "E"}, runtime=0.02, job_class="a|b"),
            third,  # did not perform (no runtime): not counted
        ],
    )
    client, base = adapter.store.client, adapter.store.keys.base
    keys = [k.decode() for k in client.scan_iter(match=f"{base}t:*")]
    assert len(keys) == 1 and int(keys[0].rsplit(":", 1)[1]) in (minute, minute + 1)
    fields = {k.decode(): float(v) for k, v in client.hgetall(keys[0]).items()}
    assert fields == {"a|b|c": 2, "a|b|f": 1, "a|b|ms": 24.0, "a|b|b2": 1, "a|b|b4": 1}
    assert RETENTION_MINUTES * 60 < client.ttl(keys[0]) <= TTL_SECONDS
    [timing] = adapter.inspector().timings(minute - 1, job_class="a|b")
    assert (timing.job_class, timing.count, timing.failed) == ("a|b", 2, 1)
    assert adapter.inspector().timings(minute - 1, job_class="a") == []


def test_the_class_is_read_off_the_payload_when_the_worker_did_not_name_it(
    adapter: RedisAdapter,
) -> None:
    [outcome] = claimed(adapter, 1)
    adapter.worker_backend().complete("p1", [Outcome(outcome.claim, "done", runtime=0.5)])
    [timing] = adapter.inspector().timings(int(time.time() // 60) - 1)
    assert (timing.job_class, timing.count, timing.total_ms) == (TimedRedisJob.job_name, 1, 500)


def test_a_range_older_than_the_retention_reads_only_the_retention(
    adapter: RedisAdapter,
) -> None:
    """One pipeline of at most a retention's minutes, whatever range is asked."""
    [outcome] = claimed(adapter, 1)
    adapter.worker_backend().complete(
        "p1", [Outcome(outcome.claim, "done", runtime=0.01, job_class="x")]
    )
    assert [t.count for t in adapter.inspector().timings(0)] == [1]
    assert adapter.inspector().timings(0, 10**9) != []
