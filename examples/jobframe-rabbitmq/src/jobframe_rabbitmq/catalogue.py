"""The names of a namespace's job queues, kept in a queue, for ``jobframe work --queues '*'``.

AMQP cannot list queues (only the management plugin's HTTP API can, and it may be off). So each
process that declares a job queue also publishes its name to the ``catalogue`` queue, and a worker
told to take every queue browses it: it reads every entry without acknowledging it, then closes the
channel, which puts them all back. Duplicates it meets are acknowledged (removed) instead, so the
catalogue stays about as long as the list of queue names however many processes record them.
"""

from __future__ import annotations

from typing import Any

import pika  # type: ignore[import-untyped]

from jobframe_rabbitmq.names import Names

#: a browse reads at most this many entries (one round trip each)
BROWSE_LIMIT = 10_000


def declare(channel: Any, names: Names) -> None:
    channel.queue_declare(names.catalogue, durable=True)


def record(channel: Any, names: Names, queue: str) -> None:
    channel.basic_publish(
        "", names.catalogue, queue.encode(), pika.BasicProperties(delivery_mode=2)
    )


def browse(connection: Any, names: Names) -> set[str]:
    """The queue names recorded so far (those another browser holds this instant are missed)."""
    channel = connection.channel()
    try:
        declare(channel, names)
        found: set[str] = set()
        for _ in range(BROWSE_LIMIT):
            method, _properties, body = channel.basic_get(names.catalogue, auto_ack=False)
            if method is None:
                break
            name = body.decode(errors="replace")
            if name in found:
                channel.basic_ack(method.delivery_tag)
            else:
                found.add(name)
        return found
    finally:
        if channel.is_open:
            channel.close()  # the entries not acknowledged go back to the catalogue
