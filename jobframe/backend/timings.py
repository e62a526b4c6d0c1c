"""Run times per job class, kept by the backend (issue 16, DESIGN.md 6.5): the dashboard's
per-class table and chart, summed across every worker host and surviving their restarts.

Memory is bounded by construction: for each job class and each UTC minute the backend keeps a
fixed set of counters, the runs that ended in that minute, the failed ones among them, the
total run time, and one count per run-time bucket of `BUCKETS_MS`. Percentiles are read off
the buckets (`percentile`), as Prometheus histograms are, so a p99 is exact to its bucket.

A backend that declares ``capabilities.timings``:

- counts, in `jobframe.backend.worker.WorkerBackend.complete`, every outcome that carries a
  `jobframe.backend.worker.Outcome.runtime` (a job that performed), **in the same step** as the
  outcome (a run is counted once, never for a claim no longer held);
- answers `jobframe.backend.inspector.Inspector.timings` for any minute range within the last
  `RETENTION_MINUTES`, and forgets older minutes by itself (key expiry, or purging in
  `WorkerBackend.maintain`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

#: Upper bounds (milliseconds) of the run-time buckets; a last, open bucket holds the rest, so
#: a run lands in bucket ``bucket_of(ms)`` of ``len(BUCKETS_MS) + 1``.
BUCKETS_MS: tuple[float, ...] = (
    1,
    2.5,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
)
#: How long per-minute timings are kept: one day and one hour (the dashboard's "last day").
RETENTION_MINUTES = 25 * 60


def bucket_of(ms: float) -> int:
    """The index of the bucket a run of ``ms`` milliseconds counts in."""
    return bisect.bisect_left(BUCKETS_MS, ms)


@dataclass(frozen=True)
class ClassTiming:
    """The runs of one job class that ended in one minute (or, summed, in a range of them)."""

    job_class: str
    #: epoch minute (``epoch seconds // 60``); for a sum, its first minute
    minute: int
    #: runs that ended (performed: done, failed, retried...; not expired or unloadable)
    count: int
    #: runs that raised (the outcome ``failed``)
    failed: int
    #: the sum of their run times, milliseconds
    total_ms: float
    #: runs per bucket, ``len(BUCKETS_MS) + 1`` counts
    buckets: tuple[int, ...]

    def __add__(self, other: ClassTiming) -> ClassTiming:
        return ClassTiming(
            self.job_class,
            min(self.minute, other.minute),
            self.count + other.count,
            self.failed + other.failed,
            self.total_ms + other.total_ms,
            tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)),
        )

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else 0.0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.count if self.count else 0.0

    def percentile(self, q: float) -> float | None:
        """The ``q`` quantile (0 < q <= 1) of the run time in milliseconds, interpolated
        linearly inside its bucket (the open last bucket answers its lower bound); None with
        no runs."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for index, n in enumerate(self.buckets):
            if n and seen + n >= rank:
                low = BUCKETS_MS[index - 1] if index else 0.0
                if index == len(BUCKETS_MS):
                    return low
                return low + (BUCKETS_MS[index] - low) * (rank - seen) / n
            seen += n
        return BUCKETS_MS[-1]


def empty(job_class: str, minute: int) -> ClassTiming:
    """A timing with no runs."""
    return ClassTiming(job_class, minute, 0, 0, 0.0, (0,) * (len(BUCKETS_MS) + 1))


__all__ = ["BUCKETS_MS", "RETENTION_MINUTES", "ClassTiming", "bucket_of", "empty"]
