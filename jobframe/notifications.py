"""Instrumentation events: the job layer emits them, subscribers (logging, metrics) consume them.

Events: ``enqueue``, ``enqueue_at``, ``enqueue_all``, ``perform_start``, ``perform``,
``enqueue_retry``, ``retry_stopped``, ``discard``, and the worker's flow control: ``expire``,
``throttle``, ``cancel``, ``timeout`` (see `jobframe.worker.middleware`), and ``interrupt``
(a continuation stopped at a checkpoint and re-enqueued, `jobframe.worker.continuing`). Each
carries the job (or jobs), the adapter, the duration in seconds and the exception, if one was
raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter

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
        "expire",
        "throttle",
        "cancel",
        "timeout",
        "interrupt",
    }
)

_log = logging.getLogger("jobframe")


@dataclass
class Event:
    """One instrumented occurrence. ``payload`` holds event-specific extras (``wait``, ``jobs``)."""

    name: str
    job: Any = None
    adapter: QueueAdapter | None = None
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


class instrument:
    """Time the block and publish an event with its duration and exception.

    A class rather than a ``@contextmanager`` generator: it runs several times per job, on the
    hot path of enqueueing and performing.
    """

    __slots__ = ("event", "started")

    def __init__(
        self, name: str, job: Any = None, adapter: QueueAdapter | None = None, **payload: Any
    ) -> None:
        self.event = Event(name, job, adapter, payload=payload)
        self.started = 0.0

    def __enter__(self) -> Event:
        self.started = time.perf_counter()
        return self.event

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        event = self.event
        if exc is not None:
            event.exception = exc
        if _subscribers.get(event.name) or _subscribers.get("*"):
            event.duration = time.perf_counter() - self.started
            publish(event)
