"""``jobframe work --processes 2 --metrics-port``: a real supervisor and two children on Redis,
scraped over HTTP. One scrape sums both children's counters and histograms, counts each outcome,
and reads the queue depth and live workers off the backend."""

from __future__ import annotations

import json
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contrib.prometheus_jobs import DroppedJob, FailingJob, FlakyJob, QuickJob
from prometheus_client.parser import text_string_to_metric_families

from jobframe import queue_adapters
from jobframe.testing.databases import REDIS_URL
from jobframe.testing.workers import Workers, free_port, wait_until, write_config
from jobframe_redis.testing import redis_adapter

pytestmark = pytest.mark.slow
TESTS = str(Path(__file__).parent.parent)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """Every sample of one scrape, by name and sorted labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def try_scrape(port: int) -> Samples | None:
    try:
        return scrape(port)
    except OSError:
        return None


@pytest.fixture
def redis_folder(tmp_path: Path) -> Iterator[Any]:
    prefix = f"jfprom-{uuid.uuid4().hex[:8]}"
    with redis_adapter(prefix) as adapter, queue_adapters.override(adapter):
        write_config(tmp_path, "redis", url=REDIS_URL, prefix=prefix)
        yield adapter


def metric_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("jobframe-metrics-*"))


def test_one_scrape_sums_both_children(redis_folder: Any, tmp_path: Path) -> None:
    before = metric_dirs()
    journal = str(tmp_path / "journal.jsonl")
    port = free_port()
    workers = Workers(tmp_path, ("contrib.prometheus_jobs",), [TESTS], concurrency=1)
    inspector = redis_folder.inspector()
    try:
        supervisor = workers.start("--processes", "2", "--metrics-port", str(port), queues="work")
        wait_until(lambda: len(inspector.workers()) == 2, 30, "two children")
        for _ in range(3):  # a queue no worker reads: its depth is what the gauge shows
            QuickJob.set(queue="parked").perform_later(journal)
        quick = [QuickJob.set(queue="work").perform_later(journal) for _ in range(20)]
        for cls in (FlakyJob, DroppedJob, FailingJob):
            cls.set(queue="work").perform_later(journal)

        def performed(samples: Samples) -> float:
            return sum(
                v for (name, _), v in samples.items() if name == "jobframe_jobs_performed_total"
            )

        # 20 quick + flaky twice (retried, then succeeded) + dropped + failing
        wait_until(lambda: (s := try_scrape(port)) and performed(s) == 24, 60, "24 performs")
        # One scrape reads each metric's files at its own moment: the one that saw the 24th count
        # may have read the histograms just before that job's duration was written (seen in CI:
        # 19 durations beside 20 counts). Every job observes its duration before its count, so a
        # scrape begun after the 24th count was seen reads all of them.
        samples = scrape(port)
        assert supervisor.poll() is None, workers.logs()
        ran = [json.loads(line) for line in Path(journal).read_text().splitlines()]
        assert len({r["pid"] for r in ran}) == 2, "both children ran jobs: the scrape sums two"
        assert len([r for r in ran if r["job_id"] in {j.job_id for j in quick}]) == 20

        labels = {"queue": "work"}
        ok = "jobframe_jobs_performed_total"
        assert value(samples, ok, job_class="prom.QuickJob", outcome="succeeded", **labels) == 20
        assert value(samples, ok, job_class="prom.FlakyJob", outcome="retried", **labels) == 1
        assert value(samples, ok, job_class="prom.FlakyJob", outcome="succeeded", **labels) == 1
        assert value(samples, ok, job_class="prom.DroppedJob", outcome="discarded", **labels) == 1
        assert value(samples, ok, job_class="prom.FailingJob", outcome="failed", **labels) == 1
        # the workers enqueued the one retry; the test's own enqueues are not theirs to count
        enqueued = "jobframe_jobs_enqueued_total"
        assert value(samples, enqueued, job_class="prom.FlakyJob", **labels) == 1
        assert value(samples, enqueued, job_class="prom.QuickJob", **labels) is None

        quick_labels = {"job_class": "prom.QuickJob", **labels}
        duration, latency = "jobframe_job_duration_seconds", "jobframe_job_queue_latency_seconds"
        assert value(samples, f"{duration}_count", **quick_labels) == 20
        assert value(samples, f"{latency}_count", **quick_labels) == 20
        assert value(samples, f"{duration}_count", job_class="prom.FlakyJob", **labels) == 2
        total = value(samples, f"{duration}_sum", **quick_labels)
        assert total is not None and 20 * 0.05 <= total < 20 * 1.0
        assert value(samples, f"{duration}_bucket", le="0.025", **quick_labels) == 0
        assert value(samples, f"{duration}_bucket", le="+Inf", **quick_labels) == 20

        # the gauges are a reading of the backend reused for 5 s: the queue empties within that
        gauges = wait_until(
            lambda: (
                (s := scrape(port)) and value(s, "jobframe_queue_depth", queue="work") == 0 and s
            ),
            15,
            "a reading of the backend after the work queue emptied",
        )
        assert value(gauges, "jobframe_workers_alive") == 2
        assert value(gauges, "jobframe_queue_depth", queue="parked") == 3
        age = value(gauges, "jobframe_queue_oldest_job_age_seconds", queue="parked")
        assert age is not None and age >= 0
        assert value(gauges, "jobframe_inspector_up") == 1
        assert len(metric_dirs() - before) == 1, "the children's metric files"
    finally:
        workers.stop()
    wait_until(lambda: try_scrape(port) is None, 10, "the port closed after the supervisor")
    assert metric_dirs() - before == set(), "the supervisor removes the children's files"


def test_a_single_process_serves_its_own_metrics(redis_folder: Any, tmp_path: Path) -> None:
    journal, port = str(tmp_path / "journal.jsonl"), free_port()
    workers = Workers(tmp_path, ("contrib.prometheus_jobs",), [TESTS], concurrency=2)
    try:
        workers.start("--metrics-port", str(port), queues="work")
        for _ in range(3):
            QuickJob.set(queue="work").perform_later(journal)
        name, labels = "jobframe_jobs_performed_total", {"queue": "work", "outcome": "succeeded"}
        samples = wait_until(
            lambda: (
                (s := try_scrape(port))
                and value(s, name, job_class="prom.QuickJob", **labels) == 3
                and s
            ),
            30,
            "3 jobs counted",
        )
        assert value(samples, "jobframe_workers_alive") in (0, 1)  # a reading from its start
        assert value(samples, "jobframe_inspector_up") == 1
    finally:
        workers.stop()
