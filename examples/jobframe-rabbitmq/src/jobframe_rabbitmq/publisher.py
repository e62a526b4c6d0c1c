"""Publishing that either reaches the broker's queues or raises `EnqueueError`, never a silent drop.

One job is published on a channel in confirm mode, ``mandatory``: pika waits for the broker's ack,
and an unroutable (returned) or nacked message raises. A batch is published in one AMQP
transaction: nothing of it is delivered before the commit, and the commit's reply arrives once the
broker holds every message (written to disk, as they are persistent), so the batch costs a few
round trips whatever its size and a failure before the commit leaves nothing behind.

Before publishing, the publisher declares what the messages need (their queues; the delay ladder)
once per connection; an error forgets that, so a queue deleted behind its back is declared again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from jobframe.errors import EnqueueError
from jobframe.redact import mask_secrets, mask_url
from jobframe_rabbitmq import scheduling
from jobframe_rabbitmq.connection import AMQP_ERRORS, Link
from jobframe_rabbitmq.messages import Message
from jobframe_rabbitmq.topology import Topology


class Publisher:
    """Publishes `Message` objects on one `Link`; safe to share between threads."""

    def __init__(self, link: Link, topology: Topology) -> None:
        self.link = link
        self.topology = topology
        self._generation = 0
        self._confirm: Any = None
        self._tx: Any = None
        self._returned: list[Any] = []
        self._declared: set[str] = set()
        self._ladder = False

    def publish(self, messages: Sequence[Message]) -> None:
        """Publish every message, or raise `EnqueueError` (a batch then leaves nothing behind)."""
        if not messages:
            return
        with self.link.lock:
            try:
                self._publish(messages)
            except AMQP_ERRORS as exc:
                self._forget()
                url = self.link.url
                raise EnqueueError(
                    f"RabbitMQ at {mask_url(url)} did not take the job(s): "
                    f"{type(exc).__name__}: {mask_secrets(str(exc), url)}"
                ) from exc

    def close(self) -> None:
        with self.link.lock:
            self._forget()
            self.link.drop()

    def _publish(self, messages: Sequence[Message]) -> None:
        connection = self.link.connection()
        if self._generation != self.link.generation or self._confirm is None:
            self._forget()
            self._generation = self.link.generation
            self._confirm = connection.channel()
            self._confirm.confirm_delivery()
            self.topology.declare_base(self._confirm)
        self._declare(messages, again=len(messages) > 1)
        if len(messages) == 1:
            [m] = messages
            self._confirm.basic_publish(m.exchange, m.routing_key, m.body, m.properties, True)
        else:
            self._transaction(connection, messages)

    def _declare(self, messages: Sequence[Message], again: bool) -> None:
        """Declare the queues the messages go to; ``again``: even those declared before."""
        ladder = scheduling.entry(self.topology.names)
        if not self._ladder and any(m.exchange == ladder for m in messages):
            self.topology.declare_ladder(self._confirm)
            self._ladder = True
        for queue in {m.queue for m in messages if m.queue is not None}:
            if again or queue not in self._declared:
                self.topology.declare_queue(self._confirm, queue)
                self._declared.add(queue)

    def _transaction(self, connection: Any, messages: Sequence[Message]) -> None:
        if self._tx is None:
            self._tx = connection.channel()
            self._tx.tx_select()
            self._tx.add_on_return_callback(lambda *returned: self._returned.append(returned))
        self._returned.clear()
        for m in messages:
            self._tx.basic_publish(m.exchange, m.routing_key, m.body, m.properties, True)
        self._tx.tx_commit()
        connection.process_data_events(0)  # runs the return callback for any message returned
        if self._returned:
            # The queues were declared just before, in this same lock: only a queue deleted in the
            # meantime gets here. The others of the batch are in their queues.
            raise EnqueueError(
                f"RabbitMQ returned {len(self._returned)} of {len(messages)} job(s) as unroutable"
                " (was a queue deleted while they were published?); the others were enqueued."
            )

    def _forget(self) -> None:
        """Drop channels and declarations after an error: the next publish starts afresh."""
        for channel in (self._confirm, self._tx):
            if channel is not None and channel.is_open:
                with contextlib.suppress(*AMQP_ERRORS):
                    channel.close()
        self._confirm = self._tx = None
        self._declared.clear()
        self._ladder = False
        if not self.link.is_open:
            self.link.drop()
