"""One Redis client and the registered scripts, shared by the adapter, worker and inspector."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.commands.core import Script
from redis.connection import parse_url
from redis.exceptions import NoScriptError

from jobframe.backend.payload import dump_payload
from jobframe.errors import ConfigurationError
from jobframe.redact import mask_secrets, mask_url
from jobframe_redis import scripts
from jobframe_redis.coalesce import Coalescer
from jobframe_redis.keys import Keys
from jobframe_redis.wire import WirePool, bulk, pack


def now_ms() -> int:
    return int(time.time() * 1000)


def day_and_minute(ms: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d"), str(ms // 60000)


_SCHEMES = ("redis", "rediss", "unix")


def check_url(url: object) -> str:
    """`url` if redis-py reads it as meant; a database path that is not a number is refused
    rather than silently become database 0.

    Raises:
        ConfigurationError: names the problem and a correct URL; the password is masked.
    """
    example = "e.g. redis://127.0.0.1:6379/0 (host, port, database number)"
    if not isinstance(url, str):
        raise ConfigurationError(f"the redis adapter's url must be a string, {example}.")
    parts = urlsplit(url)
    if parts.scheme == "redis+cluster":
        raise ConfigurationError(
            f"the redis adapter's url {mask_url(url)!r} names a Redis Cluster: set "
            "adapter = 'redis-cluster' for it (one hash tag per queue, see docs/redis.md)."
        )
    if parts.scheme not in _SCHEMES or "://" not in url:
        raise ConfigurationError(
            f"the redis adapter's url {mask_url(url)!r} is not a Redis URL: it must start with "
            f"redis://, rediss:// or unix://, {example}."
        )
    database = parts.path.strip("/") if parts.scheme != "unix" else ""
    if database and not (database.isascii() and database.isdigit()):
        raise ConfigurationError(
            f"the redis adapter's url {mask_url(url)!r} names database {database!r}, which is "
            f"not a database number; {example}."
        )
    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise ConfigurationError(
            f"the redis adapter's url {mask_url(url)!r} is malformed: "
            f"{mask_secrets(str(exc), url).rstrip('.')}; {example}."
        ) from None
    return url


class Store:
    """The Redis client, the key layout and the Lua scripts of one jobframe namespace."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "jobframe",
        client: redis.Redis | None = None,
        **client_options: Any,
    ) -> None:
        client_options.setdefault("socket_timeout", 10)
        client_options.setdefault("socket_connect_timeout", 5)
        client_options.setdefault("health_check_interval", 30)
        self.url = check_url(url) if client is None else url
        self.client: redis.Redis = client or redis.Redis.from_url(url, **client_options)
        self.wire: WirePool | None = None
        if client is None and not url.startswith("rediss"):
            self.wire = WirePool(
                url, client_options["socket_timeout"], client_options["socket_connect_timeout"]
            )
        self.keys = Keys(prefix)
        self.enqueue = self.client.register_script(scripts.ENQUEUE)
        self.enqueue_each = self.client.register_script(scripts.ENQUEUE_EACH)
        self.fetch = self.client.register_script(scripts.FETCH)
        self.complete = self.client.register_script(scripts.COMPLETE)
        self.release = self.client.register_script(scripts.RELEASE)
        self.maintain = self.client.register_script(scripts.MAINTAIN)
        self.dead = self.client.register_script(scripts.DEAD)
        self.clear = self.client.register_script(scripts.CLEAR)
        self.pending = self.client.register_script(scripts.PENDING)
        self.unwait = self.client.register_script(scripts.UNWAIT)
        self.reserve = self.client.register_script(scripts.RESERVE)
        self.defer = self.client.register_script(scripts.DEFER)
        self.drop = self.client.register_script(scripts.DROP)
        self.run_now = self.client.register_script(scripts.RUN_NOW)

        k = self.keys
        self.stem = k.base
        self.enqueue_keys = [
            k.jobs,
            k.seq,
            k.wake,
            k.scheduled,
            k.queues,
            k.waiting,
            k.inflight,
            k.paused,
        ]
        # `enqueue_one` sends EVALSHA, the sha, the keys and the stem packed once, here; only the
        # time and the job's seven fields are packed per call.
        head = ("EVALSHA", self.enqueue.sha, len(self.enqueue_keys), *self.enqueue_keys, self.stem)
        self._enqueue_head = pack((*head, *[""] * 8))[: -len(bulk([""] * 8))]
        # ENQUEUE_EACH's command for several jobs: its arguments but the count, packed once
        self._each_body = bulk(
            (
                "EVALSHA",
                self.enqueue_each.sha,
                len(self.enqueue_keys),
                *self.enqueue_keys,
                self.stem,
            )
        )
        self._each_fixed = 3 + len(self.enqueue_keys) + 2  # EVALSHA sha n keys... stem now
        # Concurrent `enqueue_one` callers (threads of a web server) share round trips.
        self._producers = Coalescer(self._send_enqueues)

    def run(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        """EVALSHA, loading the script if the server lacks it.

        The hot path (every enqueue, fetch and outcome) goes here rather than through
        ``Script.__call__``, whose layers cost more than the round trip itself on loopback: over
        the lean `WirePool` when the URL is plain TCP or a Unix socket, else redis-py's pool.
        """
        wire = self.wire
        if wire is not None:
            try:
                return wire.call("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:
                wire.call("SCRIPT", "LOAD", script.script)
                return wire.call("EVALSHA", script.sha, len(keys), *keys, *args)
        pool = self.client.connection_pool
        conn: Any = pool.get_connection()
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            try:
                return conn.read_response()
            except NoScriptError:
                conn.send_command("SCRIPT", "LOAD", script.script)
                conn.read_response()
                conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                return conn.read_response()
        except (redis.ConnectionError, redis.TimeoutError):
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def enqueue_one(self, entry: tuple[Any, ...]) -> Any:
        """The ENQUEUE script for one job: `run` with the command's constant head packed once.
        ``entry`` is `jobframe_redis.adapter.Entry`; an older five-field one (no job_id, no batch)
        is taken too: the script then reads them from the payload."""
        wire = self.wire
        if wire is None:
            if len(entry) == 5:
                entry = (*entry, "", "")
            return self.run(self.enqueue, self.enqueue_keys, self.enqueue_args([entry]))
        return self._producers.call(_tail(entry))

    def enqueue_many(self, entries: Sequence[tuple[Any, ...]]) -> list[Any]:
        """ENQUEUE for each entry, in one round trip (lean connection only): one reply per
        entry, an error reply as a `redis.RedisError` in its place. Raises when the round trip
        itself failed."""
        return self._send_enqueues([_tail(entry) for entry in entries])

    def _send_enqueues(self, tails: list[bytes]) -> list[Any]:
        """One round trip for the jobs `Coalescer` gathered, each packed by `_enqueue_tail`: a
        lone job as one ENQUEUE, several as one ENQUEUE_EACH per `EACH_CHUNK` of them (loading
        the scripts if the server lost them, as after a restart). One reply per job."""
        wire = self.wire
        assert wire is not None
        now = b"%d" % now_ms()
        now = b"$%d\r\n%b\r\n" % (len(now), now)
        if len(tails) == 1:
            commands = [self._enqueue_head + now + tails[0]]
        else:
            commands = []
            for start in range(0, len(tails), EACH_CHUNK):
                chunk = tails[start : start + EACH_CHUNK]
                count = self._each_fixed + 7 * len(chunk)
                commands.append(b"*%d\r\n%b%b%b" % (count, self._each_body, now, b"".join(chunk)))
        replies = wire.pipeline(commands)
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:  # a call refused with NOSCRIPT ran nothing: those once more
            # both scripts, so that the first lone enqueue readies the coalesced ones too
            load = [pack(("SCRIPT", "LOAD", s.script)) for s in (self.enqueue, self.enqueue_each)]
            for reply in wire.pipeline(load):
                if isinstance(reply, Exception):
                    raise reply
            again = wire.pipeline([commands[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        if len(tails) == 1:
            return replies
        out: list[Any] = []
        for start, reply in zip(range(0, len(tails), EACH_CHUNK), replies, strict=True):
            size = min(EACH_CHUNK, len(tails) - start)
            if isinstance(reply, list) and len(reply) == size:
                out.extend(reply)
            else:  # the call failed as a whole (out of memory, busy): each job gets the error
                out.extend(reply if i == 0 else copy.copy(reply) for i in range(size))
        return out

    def enqueue_command(self, entry: tuple[Any, ...]) -> bytes:
        """The ENQUEUE script's EVALSHA for one `jobframe_redis.adapter.Entry`, packed as
        `enqueue_one` sends it (the cluster adapter sends it with a ``WAIT`` behind it)."""
        return self._enqueue_head + bulk((now_ms(), *entry))

    def blpop(self, keys: list[str], timeout: float) -> Any:
        """BLPOP: ``[key, value]`` of the first list with an item; None when ``timeout``
        (seconds) passed with nothing to pop."""
        if self.wire is not None:
            return self.wire.call("BLPOP", *keys, timeout, wait=timeout)
        return self.client.blpop(keys, timeout=timeout)

    def close(self) -> None:
        if self.wire is not None:
            self.wire.close()
        self.client.close()

    def fetch_keys(self) -> list[str]:
        k = self.keys
        return [k.jobs, k.inflight, k.wake, k.queues, k.paused, k.seq, k.waiting]

    def complete_keys(self) -> list[str]:
        k = self.keys
        return [
            k.jobs,
            k.inflight,
            k.dead,
            k.dead_info,
            k.crashes,
            k.seq,
            k.wake,
            k.scheduled,
            k.queues,
        ]

    def maintain_keys(self) -> list[str]:
        k = self.keys
        return [
            k.jobs,
            k.scheduled,
            k.processes,
            k.inflight,
            k.crashes,
            k.dead,
            k.dead_info,
            k.wake,
            k.seq,
        ]

    def dead_keys(self) -> list[str]:
        k = self.keys
        return [k.jobs, k.dead, k.dead_info, k.crashes, k.wake, k.seq]

    def enqueue_args(self, entries: Sequence[tuple[Any, ...]]) -> list[Any]:
        args: list[Any] = [self.stem, now_ms()]
        for entry in entries:
            args.extend(entry)
        return args


#: Jobs per ENQUEUE_EACH call: a larger coalesced batch goes as several calls in one round trip,
#: so that no single script call holds Redis for long (as `jobframe_redis.adapter.BULK_CHUNK`).
EACH_CHUNK = 1000

#: The seven bulk strings of `_enqueue_tail`.
_TAIL = b"$%d\r\n%b\r\n" * 7


def _enqueue_tail(entry: tuple[Any, ...]) -> bytes:
    """`bulk` of ``entry`` for the usual field types (str, str, int, int, bytes, str, str), in
    one formatting step: a third of `bulk`'s cost, on every enqueue."""
    id, queue, priority, run_at, payload, job_id, batch = entry
    id, queue, job_id, batch = id.encode(), queue.encode(), job_id.encode(), batch.encode()
    priority, run_at = b"%d" % priority, b"%d" % run_at
    return _TAIL % (
        len(id), id, len(queue), queue, len(priority), priority, len(run_at), run_at,
        len(payload), payload, len(job_id), job_id, len(batch), batch,
    )  # fmt: skip


def _tail(entry: tuple[Any, ...]) -> bytes:
    """One job's part of an ENQUEUE command. An older five-field entry (no job_id, no batch)
    is taken too: the script then reads them from the payload."""
    if len(entry) == 5:
        entry = (*entry, "", "")
    try:
        return _enqueue_tail(entry)
    except (AttributeError, TypeError):  # not the usual field types: the general packer
        return bulk(entry)


_fast_dumps: Any
try:  # jobframe[fast]
    from orjson import dumps as _fast_dumps
except ImportError:
    _fast_dumps = None


def dump(payload: dict[str, Any]) -> bytes:
    """``job.serialize()`` as it is stored: `dump_payload`'s JSON, by orjson when it is installed
    (a no-op job's payload in 0.3 µs against 2.2: 14,000 of the 218,000 instructions of a
    one-by-one ``perform_later`` on Redis, callgrind). Only output that is all ASCII is taken, as
    `dump_payload` writes it (non-ASCII escaped); what orjson refuses (integers beyond 64 bits, a
    lone surrogate) or writes as UTF-8 goes to `dump_payload`. Arguments hold no NaN or infinity
    (`jobframe.arguments` marks them), which orjson would write as null. Numbers may be spelled
    otherwise (``1e16`` for ``1e+16``): the same values, read back alike."""
    if _fast_dumps is not None:
        try:
            data: bytes = _fast_dumps(payload)
        except TypeError:  # orjson.JSONEncodeError is one
            pass
        else:
            if data.isascii():
                return data
    return dump_payload(payload)
