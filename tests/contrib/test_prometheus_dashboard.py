"""``/metrics`` on the dashboard (behind its authentication) and the backend gauges' collector:
read off a real Redis, reused for ``max_age`` seconds, and a backend that cannot be reached
yields ``jobframe_inspector_up 0`` rather than a failed scrape."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from contrib.prometheus_jobs import QuickJob
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from jobframe import queue_adapters
from jobframe.contrib.prometheus import InspectorCollector
from jobframe.dashboard import Auth, create_app
from jobframe.testing.workers import free_port
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.testing import redis_adapter

TOKEN = "t" * 32


def gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def adapter() -> Iterator[Any]:
    with redis_adapter(label="jfprom") as made, queue_adapters.override(made):
        yield made


def test_dashboard_metrics_need_the_token_and_show_queue_depth(adapter: Any) -> None:
    for _ in range(2):
        QuickJob.set(queue="mail").perform_later("unused")
    client = TestClient(create_app(adapter.inspector(), Auth(token=TOKEN)))
    assert client.get("/metrics").status_code == 401
    assert (
        client.get("/metrics", headers={"authorization": "Bearer " + "x" * 32}).status_code == 401
    )
    response = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = gauges(response.text)
    assert samples[("jobframe_queue_depth", (("queue", "mail"),))] == 2
    assert samples[("jobframe_queue_oldest_job_age_seconds", (("queue", "mail"),))] >= 0
    assert samples[("jobframe_workers_alive", ())] == 0
    assert samples[("jobframe_inspector_up", ())] == 1

    QuickJob.set(queue="mail").perform_later("unused")  # within 5 s: the same reading
    again = gauges(client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text)
    assert again[("jobframe_queue_depth", (("queue", "mail"),))] == 2


def test_the_collector_reads_again_once_its_reading_is_older_than_max_age(adapter: Any) -> None:
    collector = InspectorCollector(adapter.inspector(), max_age=0.2)
    registry = CollectorRegistry()
    registry.register(collector)
    QuickJob.set(queue="mail").perform_later("unused")
    first = gauges(generate_latest(registry).decode())
    QuickJob.set(queue="mail").perform_later("unused")
    assert gauges(generate_latest(registry).decode()) == first
    time.sleep(0.25)  # the age the reading must reach; no event marks it
    assert (
        gauges(generate_latest(registry).decode())[("jobframe_queue_depth", (("queue", "mail"),))]
        == 2
    )


def test_an_unreachable_backend_gives_inspector_up_0_not_a_failed_scrape() -> None:
    closed = RedisAdapter(f"redis://127.0.0.1:{free_port()}/0", prefix=f"jf-{uuid.uuid4().hex}")
    try:
        registry = CollectorRegistry()
        registry.register(InspectorCollector(closed.inspector()))
        samples = gauges(generate_latest(registry).decode())
        assert samples == {("jobframe_inspector_up", ()): 0}
    finally:
        closed.shutdown()
