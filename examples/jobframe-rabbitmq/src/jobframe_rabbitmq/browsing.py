"""Reading the messages of a queue and leaving them there: the one way AMQP can list jobs.

AMQP 0-9-1 has no "list messages": only the management plugin's HTTP API has a (consuming) "get
messages", and it may be off. So the inspector reads with ``basic.get`` without acknowledging,
and closing the channel gives every message it still holds back to its queue, at its old place
(RabbitMQ requeues in position). What it acknowledges is gone; that is how it retries, runs now or
discards a job, after publishing what replaces it.

While held, messages are invisible to consumers: a browse holds at most `LIMIT` messages, for the
time a page takes. Messages already pushed to a worker (its prefetch) are not in the queue, so a
browse does not see them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pika.exceptions  # type: ignore[import-untyped]

#: the most messages one browse reads (one round trip each); the ones beyond are not listed
LIMIT = 10_000
NOT_FOUND = 404


@dataclass(frozen=True)
class Held:
    """A message read from ``source`` (the RabbitMQ queue), not acknowledged."""

    source: str
    tag: int
    properties: Any
    body: bytes

    @property
    def id(self) -> str:
        """The backend id the inspector shows: the message id jobframe gave it at enqueue.

        A foreign producer's message may have none: it is named by a digest of its body, so that
        the same message has the same id from one page to the next.
        """
        message_id = self.properties.message_id
        if message_id:
            return str(message_id)
        return f"sha256:{hashlib.sha256(self.body).hexdigest()[:24]}"

    def header(self, name: str) -> Any:
        return (self.properties.headers or {}).get(name)


@contextlib.contextmanager
def window(connection: Any) -> Iterator[Any]:
    """A channel to read on; closing it puts back every message read and not acknowledged."""
    channel = connection.channel()
    try:
        yield channel
    finally:
        if channel.is_open:
            channel.close()


def read(channel: Any, source: str, limit: int) -> Iterator[Held]:
    """Up to ``limit`` messages of queue ``source``, head first, held on ``channel``."""
    for _ in range(max(0, limit)):
        method, properties, body = channel.basic_get(source, auto_ack=False)
        if method is None:
            return
        yield Held(source, method.delivery_tag, properties, body)


def read_each(channel: Any, present: dict[str, int], limit: int) -> Iterator[Held]:
    """The messages of each queue of ``present`` (name -> size, as `sizes` gives it) in turn, at
    most ``limit`` in all, held on ``channel``."""
    for source, size in present.items():
        for held in read(channel, source, min(size, limit)):
            limit -= 1
            yield held


def sizes(connection: Any, sources: Iterable[str]) -> dict[str, int]:
    """How many messages wait in each queue (not those pushed to consumers), in the order of
    ``sources``; a queue that does not exist is left out. One passive declare each: nothing is
    created or read."""
    found: dict[str, int] = {}
    channel = connection.channel()
    try:
        for source in sources:
            try:
                found[source] = channel.queue_declare(source, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != NOT_FOUND:
                    raise
                channel = connection.channel()  # the broker closes a channel on a 404
        return found
    finally:
        if channel.is_open:
            channel.close()
