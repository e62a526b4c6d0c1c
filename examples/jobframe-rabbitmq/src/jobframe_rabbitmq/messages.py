"""What goes on the wire: one AMQP message per job, and one per dead job.

A job's body is its jobframe payload (JSON), untouched, so any worker of any version reads it as
``Job.deserialize`` expects. Everything RabbitMQ needs to route it travels in properties and
headers: ``jobframe-queue`` names its queue (the ``deliver`` exchange routes by it after a delay),
``jobframe-due`` its due time when it was scheduled.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pika  # type: ignore[import-untyped]

from jobframe.backend.ids import new_id
from jobframe.errors import InvalidOptionError
from jobframe_rabbitmq import scheduling
from jobframe_rabbitmq.names import Names

if TYPE_CHECKING:
    from jobframe.job.base import Job

QUEUE_HEADER = "jobframe-queue"
ERROR_HEADER = "jobframe-error"
REASON_HEADER = "jobframe-reason"
PERSISTENT = 2


@dataclass(frozen=True)
class Message:
    """A message to publish, and the jobframe queue it is for (declared before publishing)."""

    exchange: str
    routing_key: str
    body: bytes
    properties: Any
    queue: str | None = None


def amqp_priority(priority: int | None, max_priority: int) -> int:
    """jobframe's priority (lower runs first; None after every prioritised job) in AMQP terms.

    RabbitMQ delivers higher numbers first and gives 0 to a message without one, so jobframe's
    ``0..max_priority`` becomes ``max_priority + 1 .. 1`` and None becomes 0.

    Raises:
        InvalidOptionError: ``priority`` is outside ``0..max_priority``.
    """
    if priority is None:
        return 0
    if not 0 <= priority <= max_priority:
        raise InvalidOptionError(
            f"the rabbitmq adapter takes priorities from 0 (first) to {max_priority} (last), "
            f"got {priority}; raise adapter_options.max_priority for more levels."
        )
    return max_priority + 1 - priority


def job_message(job: Job, at: datetime | None, names: Names, max_priority: int) -> Message:
    """The message for ``job``, due at ``at`` (None: now). Sets ``job.provider_job_id``."""
    priority = amqp_priority(job.priority, max_priority)
    amqp_queue = names.queue(job.queue_name)  # validates the name before anything is sent
    job.provider_job_id = new_id()
    headers: dict[str, Any] = {QUEUE_HEADER: job.queue_name}
    exchange, routing_key = "", amqp_queue
    if at is not None:
        due_ms = math.ceil(at.timestamp() * 1000)
        delay = scheduling.delay_until(due_ms)
        if delay > 0:
            headers[scheduling.DUE_HEADER] = due_ms
            exchange, routing_key = scheduling.entry(names), scheduling.routing_key(delay)
    properties = pika.BasicProperties(
        content_type="application/json",
        delivery_mode=PERSISTENT,
        message_id=job.provider_job_id,
        priority=priority,
        timestamp=int(time.time()),
        type=job.serialize().get("job_class"),
        headers=headers,
    )
    body = json.dumps(job.serialize(), separators=(",", ":"), allow_nan=False).encode()
    return Message(exchange, routing_key, body, properties, job.queue_name)


def raw_message(queue: str, payload: bytes, names: Names) -> Message:
    """A message whose body is ``payload`` as given, ready on jobframe queue ``queue`` (for
    ``enqueue_raw``). Returns it with its id in ``properties.message_id``."""
    amqp_queue = names.queue(queue)
    properties = pika.BasicProperties(
        delivery_mode=PERSISTENT,
        message_id=new_id(),
        priority=0,
        timestamp=int(time.time()),
        headers={QUEUE_HEADER: queue},
    )
    return Message("", amqp_queue, payload, properties, queue)


def later(delivered: Any, body: bytes, delay_ms: int, names: Names) -> Message:
    """A delivered message sent back down the delay ladder (a wait longer than one ride)."""
    # Without the x-death records of the ride so far: they would grow with every ride.
    headers = {k: v for k, v in (delivered.headers or {}).items() if not k.startswith("x-")}
    properties = pika.BasicProperties(
        content_type=delivered.content_type,
        delivery_mode=PERSISTENT,
        message_id=delivered.message_id,
        priority=delivered.priority,
        timestamp=delivered.timestamp,
        type=delivered.type,
        headers=headers,
    )
    exchange, routing_key = scheduling.entry(names), scheduling.routing_key(delay_ms)
    return Message(exchange, routing_key, body, properties, headers.get(QUEUE_HEADER))


def dead_message(
    names: Names, queue: str, message_id: str, body: bytes, error: dict[str, Any]
) -> Message:
    """A dead job for the dead-letter queue: the raw body as received, the error in headers."""
    properties = pika.BasicProperties(
        delivery_mode=PERSISTENT,
        message_id=message_id,
        timestamp=int(time.time()),
        headers={
            QUEUE_HEADER: queue,
            REASON_HEADER: str(error.get("reason", "")),
            ERROR_HEADER: json.dumps(error, default=repr),
        },
    )
    return Message("", names.dead, body, properties)


def ready_again(stored: Any, body: bytes, names: Names, queue: str, priority: int) -> Message:
    """A stored message (dead, or waiting on the delay ladder) put back as a ready job on jobframe
    queue ``queue`` with its id, body and AMQP ``priority``: for the inspector's retry and run-now.

    Its due time and RabbitMQ's own ``x-`` headers (the ladder's dead-letter records) are
    dropped, as are the dead letter's error headers: it is an ordinary ready job again.
    """
    properties = pika.BasicProperties(
        content_type=stored.content_type,
        delivery_mode=PERSISTENT,
        message_id=stored.message_id,
        priority=priority,
        timestamp=stored.timestamp,
        type=stored.type,
        headers={QUEUE_HEADER: queue},
    )
    return Message("", names.queue(queue), body, properties, queue)
