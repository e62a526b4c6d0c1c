"""Declaring (and deleting) the queues and exchanges of one namespace.

Every declare is idempotent, so publishers and workers both declare what they use rather than
rely on an order of deployment. A job queue is a durable classic queue with ``x-max-priority``;
RabbitMQ refuses to redeclare it with another value, so every process of one namespace must use
the same ``max_priority``.
"""

from __future__ import annotations

from typing import Any

from jobframe_rabbitmq import catalogue, scheduling
from jobframe_rabbitmq.messages import QUEUE_HEADER
from jobframe_rabbitmq.names import Names


class Topology:
    """What a namespace looks like on the broker, given its names and its priority levels."""

    def __init__(self, names: Names, max_priority: int) -> None:
        self.names = names
        self.max_priority = max_priority

    def declare_base(self, channel: Any) -> None:
        """The ``deliver`` exchange, the dead-letter queue and the catalogue."""
        channel.exchange_declare(self.names.deliver, exchange_type="headers", durable=True)
        channel.queue_declare(self.names.dead, durable=True)
        catalogue.declare(channel, self.names)

    def declare_queue(self, channel: Any, queue: str) -> None:
        """Job queue ``queue``, bound to ``deliver``, and its entry in the catalogue."""
        amqp_name = self.names.queue(queue)
        channel.queue_declare(
            amqp_name, durable=True, arguments={"x-max-priority": self.max_priority + 1}
        )
        channel.queue_bind(
            amqp_name, self.names.deliver, arguments={"x-match": "all", QUEUE_HEADER: queue}
        )
        catalogue.record(channel, self.names, queue)

    def declare_ladder(self, channel: Any) -> None:
        scheduling.declare_ladder(channel, self.names)

    def delete(self, channel: Any) -> None:
        """Delete every queue and exchange of the namespace, messages included (tests, removal)."""
        for queue in catalogue.browse(channel.connection, self.names):
            channel.queue_delete(self.names.queue(queue))
        scheduling.delete_ladder(channel, self.names)
        for queue in (self.names.dead, self.names.catalogue):
            channel.queue_delete(queue)
        channel.exchange_delete(self.names.deliver)
