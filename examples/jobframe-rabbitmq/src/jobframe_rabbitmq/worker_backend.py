"""`RabbitMQWorkerBackend`: the worker runtime's view of RabbitMQ.

A claim is a delivery not yet acknowledged. RabbitMQ itself gives the at-least-once guarantee
that the Redis and SQL backends build with heartbeats and a reaper: when a worker's connection
closes, however it died, the broker puts the messages it had not acknowledged back in their queues.
So `heartbeat` and `maintain` only keep the connection alive, and `complete` acknowledges a job
only after what it leads to (a retry, a dead letter) has been confirmed by the broker.

Deliveries are pushed by consumers, one per queue, up to a prefetch limit shared by the channel:
the first fetch's ``limit``, which is the worker's whole capacity.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobframe.backend.worker import Claim, Outcome, ProcessInfo, WorkerBackend
from jobframe_rabbitmq import catalogue, scheduling
from jobframe_rabbitmq.connection import AMQP_ERRORS, Link
from jobframe_rabbitmq.messages import Message, dead_message, later

if TYPE_CHECKING:
    from jobframe_rabbitmq.adapter import RabbitMQAdapter

#: the longest a fetch holds the connection in one wait for deliveries (seconds)
WAIT_SLICE = 0.05


@dataclass(frozen=True)
class Delivery:
    """A message the broker pushed to this process, not yet acknowledged."""

    generation: int  # of the connection it came on: its tag means nothing on another
    tag: int
    queue: str
    properties: Any
    body: bytes

    @property
    def token(self) -> str:
        return f"{self.generation}.{self.tag}"


class RabbitMQWorkerBackend(WorkerBackend):
    """Implements `jobframe.backend.WorkerBackend` on one consuming connection.

    ``catalogue_interval``: how often (seconds) a worker of ``--queues '*'`` looks for new queues.
    """

    def __init__(self, adapter: RabbitMQAdapter, catalogue_interval: float = 1.0) -> None:
        self.adapter = adapter
        self.names = adapter.names
        self.topology = adapter.topology
        self.publisher = adapter.publisher  # a connection of its own: see `complete`
        self.catalogue_interval = catalogue_interval
        self._link = Link(adapter.url, adapter.connect_timeout, on_open=self._opened)
        self._channel: Any = None
        self._prefetch = 0
        self._consuming: dict[str, str] = {}  # queue -> consumer tag
        self._buffer: dict[str, deque[Delivery]] = {}
        self._held: dict[str, Delivery] = {}  # by claim token: handed to the runtime
        self._every: set[str] = set()  # the queues '*' means, as the catalogue listed them
        self._browsed_at = -float("inf")
        self._woken = False

    # -- the connection ---------------------------------------------------------------------------

    def _opened(self, connection: Any) -> None:
        """A new connection: nothing of the old one (consumers, buffered deliveries) survives."""
        self._consuming.clear()
        self._buffer.clear()
        self._channel = connection.channel()
        self._channel.add_on_cancel_callback(self._cancelled)
        self.topology.declare_base(self._channel)
        if self._prefetch:
            self._channel.basic_qos(prefetch_count=self._prefetch, global_qos=True)

    def _cancelled(self, method: Any) -> None:
        """The broker cancelled a consumer (its queue was deleted): consume again if redeclared."""
        tag = method.method.consumer_tag
        for queue, consumer in list(self._consuming.items()):
            if consumer == tag:
                del self._consuming[queue]

    def _consume(self, queues: list[str]) -> None:
        if queues == ["*"]:
            if time.monotonic() - self._browsed_at >= self.catalogue_interval:
                self._every |= catalogue.browse(self._channel.connection, self.names)
                self._browsed_at = time.monotonic()
            queues = sorted(self._every)
        for queue in queues:
            if queue not in self._consuming:
                self.topology.declare_queue(self._channel, queue)
                self._consuming[queue] = self._channel.basic_consume(
                    self.names.queue(queue), self._receiver(queue, self._link.generation)
                )

    def _receiver(self, queue: str, generation: int) -> Callable[[Any, Any, Any, bytes], None]:
        def receive(channel: Any, method: Any, properties: Any, body: bytes) -> None:
            delivery = Delivery(generation, method.delivery_tag, queue, properties, body)
            self._buffer.setdefault(queue, deque()).append(delivery)

        return receive

    # -- WorkerBackend ----------------------------------------------------------------------------

    def register(self, process: ProcessInfo) -> None:
        """Connect now, so that a wrong URL stops the worker at startup."""
        with self._link.lock:
            self._link.connection()

    def heartbeat(self, process_id: str) -> None:
        """Keep the AMQP connection's own heartbeats going (the broker's liveness check)."""
        with self._link.urgently():
            self._link.connection()

    def deregister(self, process_id: str) -> None:
        """Close the connection: deliveries fetched ahead go back to their queues."""
        with self._link.lock:
            self._link.drop()
            self._held.clear()
            self._buffer.clear()

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        deadline = time.monotonic() + timeout
        while True:
            with self._link.lock:
                connection = self._link.connection()
                if not self._prefetch:
                    self._prefetch = max(1, limit)
                    self._channel.basic_qos(prefetch_count=self._prefetch, global_qos=True)
                self._consume(queues)
                claims = self._take(queues, limit)
                remaining = deadline - time.monotonic()
                if claims or remaining <= 0 or self._woken:
                    self._woken = False
                    return claims
                connection.process_data_events(time_limit=min(WAIT_SLICE, remaining))
            self._link.let_urgent_pass()

    def _take(self, queues: list[str], limit: int) -> list[Claim]:
        claims: list[Claim] = []
        for queue in sorted(self._buffer) if queues == ["*"] else queues:
            waiting = self._buffer.get(queue)
            while waiting and len(claims) < limit:
                delivery = waiting.popleft()
                wait = scheduling.due_in(delivery.properties.headers)
                if wait:
                    self._postpone(delivery, wait, waiting)
                    continue
                self._held[delivery.token] = delivery
                id = delivery.properties.message_id or f"amqp-{delivery.token}"
                claims.append(Claim(id, delivery.token, queue, delivery.body))
        return claims

    def _postpone(self, delivery: Delivery, wait: int, waiting: deque[Delivery]) -> None:
        """A job due later than one ride down the delay ladder reaches: send it down again."""
        try:
            self.publisher.publish([later(delivery.properties, delivery.body, wait, self.names)])
        except Exception:
            waiting.appendleft(delivery)
            raise
        self._channel.basic_ack(delivery.tag)

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """Publish retries and dead letters (confirmed), then acknowledge the claims.

        Publishing goes through the adapter's connection: when RabbitMQ blocks publishers (a
        memory alarm) it blocks their whole connection, and the acknowledgements that would free
        memory must not be stuck behind them. A crash between the two steps runs the job again
        (at-least-once); a claim whose connection has gone is not acknowledged, as the broker has
        already put its message back.
        """
        messages: list[Message] = []
        for outcome in outcomes:
            messages.extend(outcome.retries)
            if outcome.status != "done":
                info = dict(outcome.error or {})
                info["attempts"] = outcome.attempts
                claim = outcome.claim
                dead = dead_message(self.names, claim.queue, claim.id, claim.payload, info)
                messages.append(dead)
        self.publisher.publish(messages)
        self._settle([outcome.claim for outcome in outcomes], requeue=None)

    def release(self, process_id: str, claims: list[Claim]) -> None:
        """Return claims to the front of their queues (``basic.nack`` with requeue)."""
        self._settle(claims, requeue=True)

    def _settle(self, claims: list[Claim], requeue: bool | None) -> None:
        with self._link.urgently():
            try:
                for claim in claims:
                    delivery = self._held.pop(claim.token, None)
                    if delivery is None or delivery.generation != self._link.generation:
                        continue  # its connection is gone, and the broker took the job back
                    if requeue is None:
                        self._channel.basic_ack(delivery.tag)
                    else:
                        self._channel.basic_nack(delivery.tag, requeue=requeue)
            except AMQP_ERRORS:
                self._link.drop()  # the broker requeues whatever this connection held

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        """Nothing to promote or reap: the delay ladder and the broker do both."""
        with self._link.urgently():
            self._link.pump()
        return {"promoted": 0, "reaped": 0}

    def retry_entry(self, job: Any, adapter: Any) -> Message | None:
        """The retry's message, written by `complete` before the claim is acknowledged."""
        from jobframe_rabbitmq.adapter import RabbitMQAdapter

        if not isinstance(adapter, RabbitMQAdapter) or adapter.url != self.adapter.url:
            return None
        if adapter.names != self.names:
            return None
        return adapter.message(job, job.scheduled_at)

    def wake(self) -> None:
        """End a fetch waiting for deliveries (shutdown)."""
        self._woken = True
        self._link.interrupt()
