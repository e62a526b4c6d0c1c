"""One AMQP connection shared by threads: pika's `BlockingConnection` is not thread-safe.

Whoever uses the connection holds `Link.lock` for the whole exchange with the broker. A worker's
fetch holds it while it waits for deliveries, in short slices; a short step from another thread (an
acknowledgement, a heartbeat) goes in `Link.urgently`, which interrupts the wait and makes the
fetch let it pass: Python's locks are not fair, and a fetch retaking the lock at once would
otherwise keep acknowledgements waiting for its whole timeout. A connection
found closed (the broker restarted, a heartbeat was missed) is replaced on next use, and
`generation` counts the replacements: delivery tags belong to one connection, so a claim made on an
earlier generation can no longer be acknowledged (the broker has requeued its message).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pika  # type: ignore[import-untyped]
import pika.exceptions  # type: ignore[import-untyped]

from jobframe.errors import ConfigurationError
from jobframe.redact import mask_secrets, mask_url

#: what pika raises when the broker is unreachable, refuses, or drops the connection
AMQP_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


def check_url(url: object) -> str:
    """`url` if pika can read it.

    Raises:
        ConfigurationError: names the problem and a correct URL; the password is masked.
    """
    text = url if isinstance(url, str) else repr(url)
    try:
        if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
            raise ValueError("it must start with amqp:// or amqps://")
        pika.URLParameters(url)
    except (ValueError, IndexError, TypeError) as exc:
        raise ConfigurationError(
            f"the rabbitmq adapter's url {mask_url(text)!r} is not an AMQP URL: "
            f"{mask_secrets(str(exc), text)}; e.g. amqp://user:password@127.0.0.1:5672/%2F."
        ) from None
    return url


def parameters(url: str, connect_timeout: float) -> Any:
    params = pika.URLParameters(url)
    params.socket_timeout = connect_timeout
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    return params


class Link:
    """A lazily opened connection, reopened after it drops. Use it only while holding ``lock``."""

    def __init__(
        self, url: str, connect_timeout: float = 5.0, on_open: Callable[[Any], None] | None = None
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.lock = threading.RLock()
        self.generation = 0
        self._on_open = on_open
        self._connection: Any = None
        self._urgent = 0
        self._turn = threading.Condition()

    @property
    def is_open(self) -> bool:
        return self._connection is not None and self._connection.is_open

    def pump(self) -> None:
        """Process what the broker sent (deliveries, heartbeats, a close) without waiting.

        Also how a close the broker sent while we were idle is noticed, so that a publish does not
        go out on a dead socket. A failure drops the connection. Hold ``lock``.
        """
        if self.is_open:
            try:
                self._connection.process_data_events(0)
            except AMQP_ERRORS:
                self.drop()

    def connection(self) -> Any:
        """The open connection, connecting (and calling ``on_open``) if needed. Hold ``lock``."""
        self.pump()
        if not self.is_open:
            self._connection = pika.BlockingConnection(parameters(self.url, self.connect_timeout))
            self.generation += 1
            if self._on_open is not None:
                try:
                    self._on_open(self._connection)
                except BaseException:
                    self.drop()
                    raise
        return self._connection

    def drop(self) -> None:
        """Forget the connection (closing it if it is still open): the next use reconnects."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*AMQP_ERRORS):  # it is being thrown away either way
                connection.close()

    @contextlib.contextmanager
    def urgently(self) -> Iterator[None]:
        """Hold ``lock`` for a short step, ahead of a fetch waiting for deliveries."""
        with self._turn:
            self._urgent += 1
        self.interrupt()
        try:
            with self.lock:
                yield
        finally:
            with self._turn:
                self._urgent -= 1
                self._turn.notify_all()

    def interrupt(self) -> None:
        """End a wait for deliveries in progress in another thread (no lock needed)."""
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(*AMQP_ERRORS):
                # The one thread-safe method of BlockingConnection.
                connection.add_callback_threadsafe(lambda: None)

    def let_urgent_pass(self) -> None:
        """Called between waits, without ``lock``: returns once no urgent step is waiting."""
        with self._turn:
            self._turn.wait_for(lambda: self._urgent == 0)

    def close(self) -> None:
        with self.lock:
            self.drop()
