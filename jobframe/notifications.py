"""Instrumentation events: the job layer emits them, subscribers (logging, metrics) consume them.

Events: ``enqueue``, ``enqueue_at``, ``enqueue_all``, ``perform_start``, ``perform``,
``enqueue_retry``, ``retry_stopped``, ``discard``. Each carries the job (or jobs), the adapter, the
duration in seconds and the exception, if one was raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

EVENTS = frozenset(
    {
        "enqueue",
        "enqueue_at",
        "enqueue_all",
        "perform_start",
        "perform",
        "enqueue_retry",
        "retry_stopped",
        "discard",
    }
)

_log = logging.getLogger("jobframe")


@dataclass
class Event:
    """One instrumented occurrence. ``payload`` holds event-specific extras (``wait``, ``jobs``)."""

    name: str
    job: Any = None
    adapter: Any = None
    duration: float = 0.0
    exception: BaseException | None = None
    payload: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]
_subscribers: dict[str, tuple[Subscriber, ...]] = {}
_lock = threading.Lock()


def subscribe(name: str, fn: Subscriber) -> Callable[[], None]:
    """Call ``fn(event)`` after every ``name`` event (``"*"`` for all). Returns an unsubscriber.

    Raises:
        ValueError: ``name`` is not a known event.
    """
    if name != "*" and name not in EVENTS:
        raise ValueError(f"unknown jobframe event {name!r}; known: {', '.join(sorted(EVENTS))}")
    with _lock:
        _subscribers[name] = (*_subscribers.get(name, ()), fn)

    def unsubscribe() -> None:
        with _lock:
            remaining = list(_subscribers.get(name, ()))
            if fn in remaining:
                remaining.remove(fn)
            _subscribers[name] = tuple(remaining)

    return unsubscribe


def has_subscribers(name: str) -> bool:
    return bool(_subscribers.get(name) or _subscribers.get("*"))


def publish(event: Event) -> None:
    """Deliver ``event``; a failing subscriber is logged, never breaks the job."""
    for fn in (*_subscribers.get(event.name, ()), *_subscribers.get("*", ())):
        try:
            fn(event)
        except Exception:
            _log.exception("jobframe subscriber %r failed on %s event", fn, event.name)


@contextmanager
def instrument(name: str, job: Any = None, adapter: Any = None, **payload: Any) -> Iterator[Event]:
    """Time the block and publish an event with its duration and exception."""
    event = Event(name, job, adapter, payload=payload)
    if not has_subscribers(name):
        yield event
        return
    started = time.perf_counter()
    try:
        yield event
    except BaseException as exc:
        event.exception = exc
        raise
    finally:
        event.duration = time.perf_counter() - started
        publish(event)
