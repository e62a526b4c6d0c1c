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
#: called when an instrumented block starts; returns a `Subscriber` to call when it ends, or None
Opener = Callable[[Event], Subscriber | None]
_subscribers: dict[str, tuple[Subscriber, ...]] = {}
#: a subscriber's ``when`` (`subscribe`): the events it wants at the moment
_conditions: dict[Subscriber, Callable[[str], bool]] = {}
_openers: dict[str, tuple[Opener, ...]] = {}
_lock = threading.Lock()


def subscribe(
    name: str, fn: Subscriber, when: Callable[[str], bool] | None = None
) -> Callable[[], None]:
    """Call ``fn(event)`` after every ``name`` event (``"*"`` for all). Returns an unsubscriber.

    ``when(event_name)``: whether ``fn`` wants that event at the moment (the log subscriber's
    line for ``perform_start`` exists only at DEBUG). An event no subscriber wants may be left
    unbuilt (`wanted`); one that is published still reaches ``fn``, which decides for itself.

    Raises:
        ValueError: ``name`` is not a known event.
    """
    if name != "*" and name not in EVENTS:
        raise ValueError(f"unknown jobframe event {name!r}; known: {', '.join(sorted(EVENTS))}")
    with _lock:
        _subscribers[name] = (*_subscribers.get(name, ()), fn)
        if when is not None:
            _conditions[fn] = when

    def unsubscribe() -> None:
        with _lock:
            remaining = list(_subscribers.get(name, ()))
            if fn in remaining:
                remaining.remove(fn)
            _subscribers[name] = tuple(remaining)
            if not any(fn in listening for listening in _subscribers.values()):
                _conditions.pop(fn, None)

    return unsubscribe


def subscribe_start(name: str, fn: Opener) -> Callable[[], None]:
    """Call ``fn(event)`` when a ``name`` block starts, before the work it times (tracing opens a
    span there). ``fn`` returns None or a closer, called with the event (its exception set) when
    the block ends, before the ``name`` subscribers. Returns an unsubscriber.

    Raises:
        ValueError: ``name`` is not a known event (``"*"`` is not accepted here).
    """
    if name not in EVENTS:
        raise ValueError(f"unknown jobframe event {name!r}; known: {', '.join(sorted(EVENTS))}")
    with _lock:
        _openers[name] = (*_openers.get(name, ()), fn)

    def unsubscribe() -> None:
        with _lock:
            remaining = list(_openers.get(name, ()))
            if fn in remaining:
                remaining.remove(fn)
            _openers[name] = tuple(remaining)

    return unsubscribe


def has_subscribers(name: str) -> bool:
    """Whether anything listens to ``name`` (a subscriber, ``"*"``, or a `subscribe_start`)."""
    return bool(_subscribers.get(name) or _subscribers.get("*") or _openers.get(name))
    return bool(_subscribers.get(name) or _subscribers.get("*"))


def wanted(name: str) -> bool:
    """Whether a ``name`` event would reach anyone now: an opener, or a subscriber whose
    ``when`` (if it has one) says yes. `has_subscribers` without the conditions: the job's
    ``perform_start`` event cost 1.9 µs per job with only the log subscriber, at INFO, to listen."""
    if _openers.get(name):
        return True
    for fn in (*_subscribers.get(name, ()), *_subscribers.get("*", ())):
        condition = _conditions.get(fn)
        if condition is None or condition(name):
            return True
    return False


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

    __slots__ = ("closers", "event", "started")

    def __init__(
        self, name: str, job: Any = None, adapter: QueueAdapter | None = None, **payload: Any
    ) -> None:
        self.event = Event(name, job, adapter, payload=payload)
        self.started = 0.0
        self.closers: list[Subscriber] | None = None

    def __enter__(self) -> Event:
        openers = _openers.get(self.event.name)
        if openers:
            self.closers = _open(openers, self.event)
        self.started = time.perf_counter()
        return self.event

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        event = self.event
        if exc is not None:
            event.exception = exc
        if self.closers:
            for closer in reversed(self.closers):
                try:
                    closer(event)
                except Exception:
                    _log.exception("jobframe closer %r failed on %s event", closer, event.name)
        if _subscribers.get(event.name) or _subscribers.get("*"):
            event.duration = time.perf_counter() - self.started
            publish(event)


def _open(openers: tuple[Opener, ...], event: Event) -> list[Subscriber]:
    """Run the openers of ``event``; a failing one is logged, never breaks the job."""
    closers: list[Subscriber] = []
    for fn in openers:
        try:
            closer = fn(event)
        except Exception:
            _log.exception("jobframe opener %r failed on %s event", fn, event.name)
            continue
        if closer is not None:
            closers.append(closer)
    return closers
