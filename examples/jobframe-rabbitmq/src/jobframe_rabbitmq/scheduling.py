"""Scheduling without a broker plugin: a binary ladder of TTL queues.

RabbitMQ expires messages only at the head of a queue, so one queue holding different delays would
keep a short delay waiting behind a long one. Here every queue has one fixed TTL, and a job crosses
only the queues whose delays add up to its own: level ``n`` holds messages for ``2**n`` ms, and a
delay of 5000 ms (binary 1001110001000) visits levels 12, 9, 8, 7 and 3.

The route is the routing key: 32 words, one bit per level, highest first. Each level's topic
exchange sends a message whose bit is 1 into its queue and one whose bit is 0 straight on to the
next level's exchange (an exchange-to-exchange binding). Each queue dead-letters expired messages to
the next level, keeping the routing key; after level 0 the ``deliver`` exchange routes them by
their ``jobframe-queue`` header. 32 levels reach 2**32 - 1 ms (49.7 days, RabbitMQ's largest TTL);
a longer wait takes that ride more than once (the worker sees it arrive early, see `due_in`).

The topology is fixed (32 exchanges and 32 queues, however many different delays are used), each
delay is exact to the millisecond plus the time a hop takes, and a job never arrives early.
"""

from __future__ import annotations

import time
from typing import Any

from jobframe_rabbitmq.names import Names

LEVELS = 32
MAX_DELAY_MS = 2**LEVELS - 1
#: the header holding a delayed job's due time (epoch milliseconds)
DUE_HEADER = "jobframe-due"


def routing_key(delay_ms: int) -> str:
    """The route of a message that must wait ``delay_ms`` (at most `MAX_DELAY_MS`)."""
    bits = format(min(max(delay_ms, 0), MAX_DELAY_MS), f"0{LEVELS}b")
    return ".".join(bits)


def delay_until(due_ms: int) -> int:
    """Milliseconds from now until ``due_ms``, rounded up so the job is never early."""
    return max(0, due_ms - int(time.time() * 1000))


def due_in(headers: dict[str, Any] | None) -> int:
    """Milliseconds a delivered message must still wait (0 when due: the usual case)."""
    due = (headers or {}).get(DUE_HEADER)
    return delay_until(int(due)) if isinstance(due, int) else 0


def _pattern(level: int, bit: str) -> str:
    return ".".join(["*"] * (LEVELS - 1 - level) + [bit, "#"])


def declare_ladder(channel: Any, names: Names) -> None:
    """Declare the ``deliver`` exchange and the delay levels (idempotent, as every declare)."""
    channel.exchange_declare(names.deliver, exchange_type="headers", durable=True)
    below = names.deliver
    for level in range(LEVELS):  # bottom up, so that every binding's destination exists
        exchange = names.delay(level)
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        channel.queue_declare(
            exchange,
            durable=True,
            arguments={"x-message-ttl": 2**level, "x-dead-letter-exchange": below},
        )
        channel.queue_bind(exchange, exchange, routing_key=_pattern(level, "1"))
        channel.exchange_bind(destination=below, source=exchange, routing_key=_pattern(level, "0"))
        below = exchange


def entry(names: Names) -> str:
    """The exchange a delayed message is published to: the top of the ladder."""
    return names.delay(LEVELS - 1)


def delete_ladder(channel: Any, names: Names) -> None:
    for level in range(LEVELS):
        channel.queue_delete(names.delay(level))
        channel.exchange_delete(names.delay(level))
