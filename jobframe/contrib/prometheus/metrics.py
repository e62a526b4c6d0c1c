"""The job metrics: what is counted, and where the numbers come from.

Enqueues are counted off the instrumentation events (`jobframe.notifications`: ``enqueue``,
``enqueue_at``, ``enqueue_all``) in the process that enqueues, so a worker counts the retries,
chain links and continuations it enqueues, and an application that calls `install` counts its
own. A retry is an enqueue like any other (as in Sidekiq and RQ).

Performs are counted by a worker middleware (`PrometheusMiddleware`), which sees each job's final
`jobframe.backend.worker.Outcome`: ``outcome`` is ``succeeded``, ``retried`` (perform raised and
``retry_on`` enqueued a retry), ``discarded`` (``discard_on``), ``failed`` (perform raised, no
retry left: the job is kept as failed), ``dead`` (the payload could not become a job), and, for
jobs that never ran, ``expired`` and ``cancelled``. The queue latency is the time from when the job
was due (``scheduled_at``, else ``enqueued_at``) to the start of its perform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from jobframe import notifications
from jobframe.backend.worker import Claim, Outcome
from jobframe.registry import name_of
from jobframe.worker.middleware import Middleware

#: seconds; jobs run from milliseconds to hours, so the buckets reach an hour
DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
)  # fmt: skip
#: seconds a job waited; a backlog is measured in minutes to hours
LATENCY_BUCKETS = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0,
)  # fmt: skip
UNKNOWN = "unknown"


class JobMetrics:
    """The counters and histograms of jobs, registered in ``registry`` (the default one)."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.enqueued = Counter(
            "jobframe_jobs_enqueued",
            "Jobs enqueued, by job class and queue (retries included).",
            ["job_class", "queue"],
            registry=registry,
        )
        self.performed = Counter(
            "jobframe_jobs_performed",
            "Jobs that ended, by job class, queue and outcome.",
            ["job_class", "queue", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "jobframe_job_duration_seconds",
            "Seconds each job's perform ran.",
            ["job_class", "queue"],
            registry=registry,
            buckets=DURATION_BUCKETS,
        )
        self.latency = Histogram(
            "jobframe_job_queue_latency_seconds",
            "Seconds from when a job was due (scheduled_at, else enqueued_at) until it started.",
            ["job_class", "queue"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    def count_enqueue(self, event: notifications.Event) -> None:
        """Subscriber of the enqueue events: count each job that was enqueued."""
        if event.exception is not None:
            return
        jobs = event.payload.get("jobs") if event.name == "enqueue_all" else (event.job,)
        for job in jobs or ():
            if job is not None and getattr(job, "successfully_enqueued", True):
                self.enqueued.labels(_class_of(job), job.queue_name).inc()

    def subscribe(self) -> Callable[[], None]:
        """Count enqueues in this process from now on. Returns the unsubscriber."""
        undo = [
            notifications.subscribe(name, self.count_enqueue)
            for name in ("enqueue", "enqueue_at", "enqueue_all")
        ]

        def unsubscribe() -> None:
            for fn in undo:
                fn()

        return unsubscribe


def _class_of(job: Any) -> str:
    try:
        return name_of(type(job))
    except Exception:
        return type(job).__qualname__


def _outcome_label(outcome: Outcome, job: Any) -> str:
    status = outcome.status
    if status == "done":
        handled = getattr(job, "_handled_as", None)
        return {"retrying": "retried", "discarded": "discarded"}.get(handled or "", "succeeded")
    return status


class PrometheusMiddleware(Middleware):
    """Worker middleware observing each job: its latency when it starts, its duration and
    outcome when it ends. Put it first in the chain: its `finished` then runs last and sees the
    final outcome (`jobframe.worker.middleware.Chain`)."""

    def __init__(self, metrics: JobMetrics) -> None:
        self.metrics = metrics
        self._started: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def started(self, claim: Claim, job: Any) -> None:
        """Observe the queue latency; note the start."""
        now = time.time()
        due = job.scheduled_at or job.enqueued_at
        if due is not None:
            latency = max(0.0, now - due.timestamp())
            self.metrics.latency.labels(_class_of(job), claim.queue).observe(latency)
        with self._lock:
            self._started[(claim.id, claim.token)] = time.perf_counter()

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        """Observe the duration (`Outcome.runtime` when the runtime measured it) and count
        the outcome."""
        with self._lock:
            began = self._started.pop((claim.id, claim.token), None)
        runtime = outcome.runtime
        if runtime is None and began is not None:
            runtime = time.perf_counter() - began
        job_class = _class_of(job)
        if runtime is not None:
            self.metrics.duration.labels(job_class, claim.queue).observe(runtime)
        self.metrics.performed.labels(job_class, claim.queue, _outcome_label(outcome, job)).inc()
        return outcome

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        """Count a job settled unperformed: expired, or a payload that is ``dead``."""
        job_class = _class_of(job) if job is not None else outcome.job_class or UNKNOWN
        self.metrics.performed.labels(job_class, claim.queue, outcome.status).inc()
        return outcome


__all__ = ["DURATION_BUCKETS", "LATENCY_BUCKETS", "JobMetrics", "PrometheusMiddleware"]
