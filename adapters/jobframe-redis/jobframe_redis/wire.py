"""A lean RESP2 connection for the hot path: script calls on every enqueue, fetch and outcome.

redis-py spends about 60 µs of Python per command on loopback (pool checkout, argument
encoding, parser layers), twice what the round trip itself costs here (a raw-socket PING runs
at 38,000/s, redis-py's at 11,700/s). Every ``perform_later`` and every worker fetch pays that,
so the Store sends its Lua scripts through `WirePool` instead. Everything else (inspection,
heartbeats, pipelines of admin commands) keeps using redis-py.

Replies are read by hiredis's C parser when it is installed (``jobframe-redis[fast]``): a worker's
fetch of 64 jobs is 257 values, 2 µs of Python per job against 0.13 µs (`benchmarks/README.md`).

Errors are redis-py's exception classes, so callers handle both paths alike: `redis.ConnectionError`
for a dead or unreachable server (`redis.BusyLoadingError` while it loads), `redis.TimeoutError`,
`NoScriptError` and `redis.ResponseError` for error replies.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
from types import ModuleType
from typing import Any

import redis
from redis.connection import parse_url
from redis.exceptions import NoScriptError

from jobframe.backend.forks import generation
from jobframe.redact import mask_url


def _hiredis() -> ModuleType | None:
    try:
        import hiredis
    except ImportError:  # the pure-Python reader below does the same, slower
        return None
    return hiredis


#: hiredis, when installed; tests set it to None to run the pure-Python reader
HIREDIS = _hiredis()

CRLF = b"\r\n"
#: hiredis's C `pack`, when installed
_PACK = None if HIREDIS is None else getattr(HIREDIS, "pack_command", None)

#: Whether the kernel can time out a blocking socket's sends and receives for us (struct timeval
#: as two longs), see `Wire`.
KERNEL_TIMEOUTS = sys.platform.startswith("linux")


def kernel_timeout(sock: socket.socket, seconds: float | None) -> None:
    """Time out ``sock``'s blocking receives and sends after ``seconds`` (None: never) in the
    kernel (SO_RCVTIMEO, SO_SNDTIMEO); an expired one fails with EAGAIN (`BlockingIOError`)."""
    whole = seconds or 0.0
    value = struct.pack("ll", int(whole), int(whole % 1 * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def pack(args: tuple[Any, ...]) -> bytes:
    """One command in RESP: ``*N`` then each argument as a bulk string.

    hiredis's C packer when it is installed: a worker's complete call carries about 16
    arguments per outcome, 3.7 µs of Python per job here against 1.7 µs (1,038 arguments, 64
    outcomes). It writes the same bytes (floats by ``repr`` too); what it refuses (a bool, an
    `enum.IntEnum`) goes through `bulk`, which coerces it or names the fix.
    """
    if _PACK is not None:
        try:
            return _PACK(args)  # type: ignore[no-any-return]
        except TypeError:
            pass
    return b"*%d\r\n%b" % (len(args), bulk(args))


def bulk(args: tuple[Any, ...] | list[Any]) -> bytes:
    """Arguments as RESP bulk strings, without the ``*N`` header: `pack`'s body, and the tail
    of a command whose head was packed once (see `Store.enqueue_one`)."""
    out = []
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            data = arg
        elif kind is str:
            data = arg.encode()
        elif kind is int:
            data = b"%d" % arg
        else:
            data = coerce(arg)
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


def coerce(arg: Any) -> bytes:
    """The arguments `pack` does not see every time: floats, and subclasses of str and int."""
    if isinstance(arg, bool):
        raise redis.DataError(f"cannot send a bool to Redis ({arg!r}): pass 0 or 1")
    if isinstance(arg, str):
        return str(arg).encode()
    if isinstance(arg, int):
        return b"%d" % arg
    if isinstance(arg, float):
        return repr(arg).encode()
    raise redis.DataError(f"cannot send a {type(arg).__name__} to Redis: {arg!r}")


def error_for(message: str) -> redis.RedisError:
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    if message.startswith("LOADING"):
        return redis.BusyLoadingError(message)
    return redis.ResponseError(message)


class Unanswered(redis.ConnectionError):
    """The connection was lost before the first reply of a pipeline: none of it ran."""


class Wire:
    """One connection. Not thread-safe: `WirePool` lends each to one thread at a time."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        path = options.get("path")
        timeout = options["connect_timeout"]
        try:
            if path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(path)
            else:
                sock = socket.create_connection((options["host"], options["port"]), timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except TimeoutError as exc:
            raise redis.TimeoutError(f"connecting to Redis timed out: {exc}") from exc
        except OSError as exc:
            raise redis.ConnectionError(f"cannot connect to Redis: {exc}") from exc
        self.parser = None if HIREDIS is None else HIREDIS.Reader(replyError=error_for)
        # With a timeout, Python polls the socket before every send and every receive: two more
        # system calls per round trip (2 of the 8 an enqueue made), each also leaving the
        # caller's Python with colder CPU caches. A blocking socket whose timeout the kernel
        # keeps does the same in two (a signal during a wait restarts the kernel's timeout). The
        # pure-Python reader (no hiredis) reads through a file object, which would take the
        # kernel's timeout for the end of the stream: it keeps Python's.
        timeout = options["timeout"]
        self.kernel_timeout = (
            self.parser is not None and KERNEL_TIMEOUTS and (timeout is None or timeout > 0)
        )
        if self.kernel_timeout:
            sock.settimeout(None)
            kernel_timeout(sock, timeout)
        else:
            sock.settimeout(timeout)
        self.sock = sock
        self.reader = sock.makefile("rb")
        try:
            if options.get("password"):
                user = options.get("username")
                self.call("AUTH", *((user,) if user else ()), options["password"])
            if options.get("db"):
                self.call("SELECT", options["db"])
        except BaseException:
            # refused (a wrong password, no such database): nobody holds this connection
            self.close()
            raise

    @property
    def open(self) -> bool:
        """False once closed (by `close`, or by a call that lost the connection)."""
        return self.sock.fileno() != -1

    def call(self, *args: Any, wait: float = 0.0) -> Any:
        """Send one command and return its reply (bytes, int, list or None). ``wait``: seconds
        the command itself may block in Redis (BLPOP's timeout), on top of the socket timeout."""
        return self.request(pack(args), wait)

    def request(self, command: bytes, wait: float = 0.0) -> Any:
        """`call` for a command already packed in RESP."""
        try:
            self.sock.sendall(command)
            reply = self._read_waiting(wait) if wait else self._read()
        except (TimeoutError, BlockingIOError) as exc:  # BlockingIOError: the kernel's timeout
            self.close()
            raise redis.TimeoutError(f"Redis did not answer in time: {exc}") from exc
        except OSError as exc:
            self.close()
            raise redis.ConnectionError(f"lost the connection to Redis: {exc}") from exc
        if isinstance(reply, redis.RedisError):
            raise reply
        return reply

    def _read_waiting(self, wait: float) -> Any:
        """`_read` with ``wait`` seconds more than the socket timeout (a blocking command)."""
        timeout = self.options["timeout"]
        longer = None if timeout is None else timeout + wait
        if self.kernel_timeout:
            kernel_timeout(self.sock, longer)
            try:
                return self._read()
            finally:
                kernel_timeout(self.sock, timeout)
        self.sock.settimeout(longer)
        try:
            return self._read()
        finally:
            self.sock.settimeout(timeout)

    def exchange(self, commands: bytes, count: int) -> list[Any]:
        """Send ``count`` commands packed back to back and read their replies, in one round
        trip; error replies come back as exceptions, not raised. The cluster layer sends
        ``ASKING`` or ``WAIT`` with a command this way, on one connection (`request` stays
        the lean single-command path)."""
        return self._round_trip(commands, count)

    def pipeline(self, commands: list[bytes]) -> list[Any]:
        """Send ``commands`` (each packed in RESP) in one write and read one reply each, in
        order. An error reply is returned in its place, as an exception instance, so one refused
        command fails only itself; a lost connection raises for all of them."""
        return self._round_trip(b"".join(commands), len(commands))

    def _round_trip(self, data: bytes, count: int) -> list[Any]:
        replies: list[Any] = []
        try:
            self.sock.sendall(data)
            for _ in range(count):
                replies.append(self._read())
        except (TimeoutError, BlockingIOError) as exc:
            self.close()
            raise redis.TimeoutError(f"Redis did not answer in time: {exc}") from exc
        except OSError as exc:
            self.close()
            # Nothing answered: the server had closed the connection, no command ran (retryable).
            lost = Unanswered if not replies else redis.ConnectionError
            raise lost(f"lost the connection to Redis: {exc}") from exc
        return replies

    def _read(self) -> Any:
        parser = self.parser
        if parser is None:
            return self._read_python()
        reply = parser.gets()
        while reply is False:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionResetError("the server closed the connection")
            parser.feed(data)
            reply = parser.gets()
        return reply

    def _read_python(self) -> Any:
        line = self.reader.readline()
        if not line.endswith(CRLF):
            raise ConnectionResetError("the server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self.reader.read(size + 2)[:-2]
        if kind == b":":
            return int(rest)
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._read_python() for _ in range(size)]
        if kind == b"+":
            return rest
        if kind == b"-":
            return error_for(rest.decode(errors="replace"))
        raise ConnectionResetError(f"not a RESP2 reply: {line[:40]!r}")

    def close(self) -> None:
        try:
            self.reader.close()
            self.sock.close()
        except OSError:
            pass

    def __del__(self) -> None:
        # A pool dropped without close() (an adapter nobody shut down) must not leak sockets.
        if hasattr(self, "reader"):
            # At interpreter exit the socket module may be gone already.
            with contextlib.suppress(Exception):
                self.close()


class WirePool:
    """Idle connections to one server, lent out one call at a time (list pop/append are atomic,
    so no lock). A connection that fails is dropped, never returned. After a fork the child
    starts an empty pool rather than share the parent's sockets (`jobframe.backend.forks`)."""

    def __init__(self, url: str, timeout: float | None, connect_timeout: float | None) -> None:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        if options.get("connection_class") not in (None, redis.UnixDomainSocketConnection):
            raise ValueError(
                f"WirePool speaks plain TCP and Unix sockets only, not {mask_url(url)!r}"
            )
        options["timeout"] = timeout
        options["connect_timeout"] = connect_timeout
        self.options = options
        self.idle: list[Wire] = []
        self.generation = generation()

    def call(self, *args: Any, wait: float = 0.0) -> Any:
        return self.request(pack(args), wait)

    def request(self, command: bytes, wait: float = 0.0) -> Any:
        """Send one command packed in RESP and return its reply."""
        if self.generation != generation():
            self.idle, self.generation = [], generation()
        try:
            wire = self.idle.pop()
        except IndexError:
            return self._request(Wire(self.options), command, wait)
        try:
            return self._request(wire, command, wait)
        except redis.ConnectionError:
            if wire.open:
                raise  # an error reply (LOADING), not a lost connection
            # An idle connection the server (or a restart) closed since its last use: the
            # command never reached Redis, so send it once more on a new connection.
            return self._request(Wire(self.options), command, wait)

    def _request(self, wire: Wire, command: bytes, wait: float) -> Any:
        """`Wire.request` on ``wire``, which goes back to the pool unless the call lost it (a
        lost connection closes itself). An error reply leaves the connection sound: dropping
        it instead left its socket to the garbage collector, which may finalize the socket
        before the `Wire` (a cycle through the error's traceback): a ResourceWarning, seen in
        a failover test where replies are CLUSTERDOWN and MOVED."""
        try:
            reply = wire.request(command, wait)
        except redis.RedisError:
            if wire.open:
                self.idle.append(wire)
            raise
        self.idle.append(wire)
        return reply

    def exchange(self, commands: bytes, count: int) -> list[Any]:
        """`Wire.exchange` on a connection of the pool: ``count`` commands, their replies."""
        fresh = not self.idle or self.generation != generation()
        wire = self.borrow()
        try:
            replies = wire.exchange(commands, count)
        except Unanswered:  # nothing ran: safe to send again (a reply read means it may have run)
            if fresh:
                raise
            # an idle connection closed since its last use (as in `request`): once more
            wire = Wire(self.options)
            replies = wire.exchange(commands, count)
        self.idle.append(wire)
        return replies

    def borrow(self) -> Wire:
        """A connection for the caller alone (a blocking wait on several nodes at once): give
        it back with `give_back` once its reply is read, or close it."""
        if self.generation != generation():
            self.idle, self.generation = [], generation()
        try:
            return self.idle.pop()
        except IndexError:
            return Wire(self.options)

    def give_back(self, wire: Wire) -> None:
        self.idle.append(wire)

    def pipeline(self, commands: list[bytes]) -> list[Any]:
        """`Wire.pipeline` on a lent connection: one round trip for all of ``commands``."""
        if self.generation != generation():
            self.idle, self.generation = [], generation()
        try:
            wire = self.idle.pop()
        except IndexError:
            wire = Wire(self.options)
        else:
            try:
                replies = wire.pipeline(commands)
            except Unanswered:
                wire = Wire(self.options)  # as in `request`: a stale idle connection
            else:
                self.idle.append(wire)
                return replies
        replies = wire.pipeline(commands)
        self.idle.append(wire)
        return replies

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for wire in idle:
            wire.close()
