"""The lean connection reads every kind of reply alike with hiredis's parser and with its own
pure-Python reader (the one used when ``jobframe-redis[fast]`` is not installed)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from jobframe.testing.services import missing
from jobframe_redis import wire

SCRIPT = """
return {1, 'two', {3, false, 'x'}, redis.call('GET', KEYS[1]), ARGV[1], -7}
"""


@pytest.fixture(params=["hiredis", "python"])
def pool(
    request: pytest.FixtureRequest, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[wire.WirePool]:
    if request.param == "hiredis":
        if wire.HIREDIS is None:
            missing("hiredis is not installed (jobframe-redis[fast]; the dev group has it)")
    else:
        monkeypatch.setattr(wire, "HIREDIS", None)
        monkeypatch.setattr(wire, "_PACK", None)
    made = wire.WirePool(redis_url, 5.0, 5.0)
    yield made
    made.close()


def test_replies_of_every_kind(pool: wire.WirePool, prefix: str) -> None:
    key = f"{prefix}:wire"
    assert pool.call("SET", key, b"\x00\xffbytes\r\n") == b"OK"
    try:
        reply: Any = pool.call("EVAL", SCRIPT, 1, f"{prefix}:missing", "y" * 100_000)
        assert reply == [1, b"two", [3, None, b"x"], None, b"y" * 100_000, -7]
        assert pool.call("GET", key) == b"\x00\xffbytes\r\n"
        assert pool.call("INCRBY", f"{prefix}:n", 5) == 5
    finally:
        pool.call("DEL", key, f"{prefix}:n")


def test_error_replies_are_redis_pys_exceptions(pool: wire.WirePool) -> None:
    with pytest.raises(redis.exceptions.NoScriptError):
        pool.call("EVALSHA", "0" * 40, 0)
    with pytest.raises(redis.ResponseError, match="boom"):
        pool.call("EVAL", "return redis.error_reply('boom')", 0)
    assert pool.call("PING") == b"PONG"  # the connection is still usable after an error


def test_an_error_reply_keeps_the_connection_in_the_pool(pool: wire.WirePool) -> None:
    """Dropped, it was left to the garbage collector, which may close the socket only after
    warning of it (a cycle through the error's traceback): a ResourceWarning in a failover test
    whose replies were CLUSTERDOWN and MOVED."""
    pool.call("PING")
    [sound] = pool.idle
    for refused in (("EVALSHA", "0" * 40, 0), ("EVAL", "return redis.error_reply('boom')", 0)):
        with pytest.raises(redis.ResponseError):
            pool.call(*refused)
        assert pool.idle == [sound] and sound.open


def test_a_refused_handshake_closes_its_socket(pool: wire.WirePool) -> None:
    """AUTH refused (this server has no password): the connection nobody holds is closed at
    once, not left for the garbage collector to find open."""
    made: list[socket.socket] = []
    real = socket.create_connection

    def create_connection(*args: Any, **kwargs: Any) -> socket.socket:
        made.append(real(*args, **kwargs))
        return made[-1]

    options = dict(pool.options, password="not-the-password")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "create_connection", create_connection)
        with pytest.raises(redis.ResponseError) as refused:
            wire.Wire(options)
    assert "not-the-password" not in str(refused.value)
    assert [sock.fileno() for sock in made] == [-1]


def test_a_server_that_does_not_answer_times_out(
    pool: wire.WirePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a listening socket nobody reads: the kernel completes the connection, no reply ever comes
    with socket.create_server(("127.0.0.1", 0)) as silent:
        options = dict(pool.options, host="127.0.0.1", port=silent.getsockname()[1], timeout=0.3)
        mute = wire.Wire(options)
        # with hiredis the kernel keeps the timeout (a blocking socket: no poll per call)
        assert mute.kernel_timeout == (wire.HIREDIS is not None and wire.KERNEL_TIMEOUTS)
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError, match="did not answer in time"):
            mute.call("PING")
        assert 0.25 < time.monotonic() - started < 5
        with pytest.raises(redis.TimeoutError):
            wire.Wire(options).pipeline([wire.pack(("PING",)), wire.pack(("PING",))])
    assert pool.call("PING") == b"PONG"


def test_a_blocking_command_waits_past_the_socket_timeout(redis_url: str, prefix: str) -> None:
    short = wire.WirePool(redis_url, 0.2, 5.0)
    try:
        started = time.monotonic()
        assert short.call("BLPOP", f"{prefix}:empty", 0.6, wait=0.6) is None
        assert time.monotonic() - started >= 0.5
        # the socket timeout is back to its own after the wait: a command that blocks longer
        # than it, without a wait, times out
        with pytest.raises(redis.TimeoutError):
            short.call("BLPOP", f"{prefix}:empty", 1)
    finally:
        short.close()


def test_packing_writes_the_same_bytes_with_hiredis_and_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    values = (b"\x00\r\n", "é", Name("n"), 0, -5, 2**70, 1e-05, 1765000000.123, 1 / 3, -0.0)
    args = ("EVALSHA", *values, Level.HIGH)  # the IntEnum: hiredis refuses it, `bulk` takes it
    packed = wire.pack(args)
    for _ in ("as installed", "pure Python"):
        with pytest.raises(redis.DataError, match="pass 0 or 1"):
            wire.pack(("SET", "k", True))
        monkeypatch.setattr(wire, "_PACK", None)
    assert wire.pack(args) == packed
    assert packed.startswith(b"*12\r\n$7\r\nEVALSHA\r\n") and packed.endswith(b"$1\r\n3\r\n")
