"""`RabbitMQAdapter`: enqueue jobs into RabbitMQ queues, now, later, or as a batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobframe.backend.capabilities import Capabilities
from jobframe.errors import ConfigurationError
from jobframe.queue_adapters.base import QueueAdapter
from jobframe.queue_adapters.payload import check_raw
from jobframe_rabbitmq.connection import Link
from jobframe_rabbitmq.messages import Message, job_message, raw_message
from jobframe_rabbitmq.names import Names
from jobframe_rabbitmq.publisher import Publisher
from jobframe_rabbitmq.topology import Topology

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe_rabbitmq.worker_backend import RabbitMQWorkerBackend

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


class RabbitMQAdapter(QueueAdapter):
    """Options: ``url`` (an AMQP URL), ``prefix`` of every queue and exchange name (default
    ``jobframe``), ``max_priority`` (priorities 0..max_priority are accepted, default 9) and
    ``connect_timeout`` in seconds (default 5)."""

    name = "rabbitmq"
    supports_bulk = True
    capabilities = Capabilities(bulk=True, raw_payloads=True, durable=True)

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prefix: str = "jobframe",
        max_priority: int = 9,
        connect_timeout: float = 5.0,
        **options: Any,
    ) -> None:
        super().__init__(
            url=url,
            prefix=prefix,
            max_priority=max_priority,
            connect_timeout=connect_timeout,
            **options,
        )
        if options:
            raise ConfigurationError(f"unknown rabbitmq adapter option(s): {', '.join(options)}")
        if not isinstance(max_priority, int) or not 0 <= max_priority <= 254:
            raise ConfigurationError(
                f"rabbitmq adapter_options.max_priority must be 0..254, got {max_priority!r}"
            )
        self.url = url
        self.connect_timeout = connect_timeout
        self.names = Names(prefix)
        self.topology = Topology(self.names, max_priority)
        self.publisher = Publisher(Link(url, connect_timeout), self.topology)

    def message(self, job: Job, at: datetime | None) -> Message:
        """The message that enqueues ``job`` (the worker uses it to write a retry)."""
        return job_message(job, at, self.names, self.topology.max_priority)

    def enqueue(self, job: Job) -> None:
        self.publisher.publish([self.message(job, None)])

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        self.publisher.publish([self.message(job, timestamp)])

    def enqueue_all(self, jobs: Sequence[Job]) -> int:
        self.publisher.publish([self.message(job, job.scheduled_at) for job in jobs])
        for job in jobs:
            job.successfully_enqueued = True
        return len(jobs)

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Publish ``payload`` as is as a ready job on ``queue`` (see
        `jobframe.queue_adapters.base.QueueAdapter.enqueue_raw`)."""
        name, data = check_raw(queue, payload)
        message = raw_message(name, data, self.names)
        self.publisher.publish([message])
        return str(message.properties.message_id)

    def worker_backend(self) -> RabbitMQWorkerBackend:
        from jobframe_rabbitmq.worker_backend import RabbitMQWorkerBackend

        return RabbitMQWorkerBackend(self)

    def delete_everything(self) -> None:
        """Delete this namespace's queues and exchanges, with the jobs in them. For tests."""
        link = Link(self.url, self.connect_timeout)
        try:
            with link.lock:
                channel = link.connection().channel()
                self.topology.delete(channel)
        finally:
            link.close()

    def shutdown(self, timeout: float | None = None) -> None:
        self.publisher.close()
