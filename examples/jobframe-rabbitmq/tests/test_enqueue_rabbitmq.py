"""Enqueueing: never a silent drop, priorities mapped, the plugin found by name."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from jobframe_rabbitmq import scheduling
from jobframe_rabbitmq.adapter import RabbitMQAdapter
from jobframe_rabbitmq.messages import amqp_priority
from rabbitmq_jobs import RecordJob
from rabbitmq_workers import peek

import jobframe
from jobframe import plugins, queue_adapters


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_enqueue_error_when_the_broker_is_unreachable() -> None:
    adapter = RabbitMQAdapter(f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F", prefix="gone")
    with queue_adapters.override(adapter):
        with pytest.raises(jobframe.EnqueueError, match="did not take the job"):
            RecordJob.perform_later("journal", "lost")
        with pytest.raises(jobframe.EnqueueError):
            RecordJob.set(wait=timedelta(seconds=5)).perform_later("journal", "lost")
        jobs = [RecordJob("journal", str(i)) for i in range(3)]
        with pytest.raises(jobframe.EnqueueError):
            jobframe.perform_all_later(jobs)
        assert not any(job.successfully_enqueued for job in jobs)
    adapter.shutdown()


def test_enqueue_error_when_the_broker_returns_the_job(adapter: RabbitMQAdapter) -> None:
    RecordJob.perform_later("journal", "first")  # declares the queue, and remembers it did
    with adapter.publisher.link.lock:  # delete the queue behind the adapter's back
        adapter.publisher.link.connection().channel().queue_delete(adapter.names.queue("default"))
    with pytest.raises(jobframe.EnqueueError, match="UnroutableError"):
        RecordJob.perform_later("journal", "returned")
    job = RecordJob.perform_later("journal", "again")  # the queue is declared again
    assert job.successfully_enqueued
    queued = peek(adapter, adapter.names.queue("default"))
    assert [props.message_id for props, _ in queued] == [job.provider_job_id]


def test_bulk_enqueue_is_one_transaction(adapter: RabbitMQAdapter) -> None:
    jobs = [RecordJob("journal", str(i)).set(queue=f"bulk{i % 3}") for i in range(30)]
    assert jobframe.perform_all_later(jobs) == 30
    for n in range(3):
        messages = peek(adapter, adapter.names.queue(f"bulk{n}"))
        assert [props.message_id for props, _ in messages] == [
            job.provider_job_id for job in jobs if job.queue_name == f"bulk{n}"
        ]


def test_priorities_map_to_rabbitmq_order(adapter: RabbitMQAdapter) -> None:
    assert [amqp_priority(p, 9) for p in (0, 1, 9, None)] == [10, 9, 1, 0]
    with pytest.raises(jobframe.InvalidOptionError, match=r"from 0 \(first\) to 9"):
        RecordJob.set(priority=10).perform_later("journal", "too low")
    with pytest.raises(jobframe.InvalidOptionError):
        RecordJob.set(priority=-1).perform_later("journal", "negative")
    for priority in (5, None, 0, 9):
        RecordJob.set(priority=priority).perform_later("journal", str(priority))
    queued = peek(adapter, adapter.names.queue("default"))
    # RabbitMQ hands out the highest AMQP priority first: jobframe's lowest number.
    assert [props.priority for props, _ in queued] == [10, 5, 1, 0]


def test_delay_routes_through_the_ladder() -> None:
    assert scheduling.routing_key(5000).split(".")[-13:] == list("1001110001000")
    assert len(scheduling.routing_key(5000).split(".")) == scheduling.LEVELS
    assert scheduling.routing_key(2**40) == ".".join("1" * scheduling.LEVELS)  # the longest ride


def test_the_plugin_registers_the_adapter_by_name(amqp_url: str) -> None:
    [info] = [info for info in plugins.adapters() if info.name == "rabbitmq"]
    assert (info.target, info.plugin) == ("jobframe_rabbitmq.adapter:RabbitMQAdapter", "rabbitmq")
    adapter = queue_adapters.lookup("rabbitmq", url=amqp_url, prefix="jftest-lookup")
    assert isinstance(adapter, RabbitMQAdapter)
    adapter.shutdown()
    with pytest.raises(jobframe.ConfigurationError, match="unknown rabbitmq adapter option"):
        queue_adapters.lookup("rabbitmq", urll=amqp_url)
