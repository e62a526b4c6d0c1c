"""The lean connection (`jobframe_redis.wire`) made cluster-aware: a slot map, one `WirePool`
per node, ``MOVED`` and ``ASK`` followed, and a blocking wait on several nodes at once.

The hot path (every enqueue, fetch and outcome script) goes here, as on one node; everything
else uses redis-py's `redis.cluster.RedisCluster`, which follows redirections by itself.

A ``MOVED`` reply updates the slot it names and sends the command on to the new owner (a
failover or a resharding); ``ASK`` sends ``ASKING`` and the command to the importing node on one
connection (a slot being migrated). A node that does not answer marks the map stale: the next
command reloads it (``CLUSTER SLOTS``) from any node that answers, so after a failover the
callers find the promoted replica by themselves. The command that met the dead node is not
repeated here: its caller decides (a producer gets `EnqueueError`, a worker backs off). A
``TRYAGAIN`` (a multi-key script while its slot is being migrated: nothing ran) is sent again
after a short wait, up to `TRYAGAIN` times.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import redis
from redis.crc import key_slot

from jobframe_redis.wire import Wire, WirePool, pack

Node = tuple[str, int]
SLOTS = 16384
MAX_REDIRECTS = 5
#: times a command refused with TRYAGAIN (a slot in migration) is sent again, 20 ms apart and more
TRYAGAIN = 10
#: a stale map is reloaded at most this often (seconds): a dead node must not make every
#: caller hammer the survivors with CLUSTER SLOTS
RELOAD_EVERY = 0.1


def slot_of(key: str) -> int:
    return int(key_slot(key.encode()))


def _redirect(error: redis.RedisError) -> tuple[str, int, Node] | None:
    """``("MOVED"|"ASK", slot, node)`` of a redirection error, else None."""
    text = str(error)
    if not text.startswith(("MOVED ", "ASK ")):
        return None
    kind, slot, address = text.split()[:3]
    host, _, port = address.rpartition(":")
    return kind, int(slot), (host, int(port))


class ClusterWire:
    """Slot map and per-node connection pools of one cluster."""

    def __init__(
        self,
        seeds: Sequence[Node],
        username: str | None,
        password: str | None,
        timeout: float | None,
        connect_timeout: float | None,
    ) -> None:
        self.seeds = list(seeds)
        self.username, self.password = username, password
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.pools: dict[Node, WirePool] = {}
        self.slots: list[Node | None] = [None] * SLOTS
        self.stale = True
        self.loaded_at = 0.0
        self.lock = threading.Lock()

    def pool(self, node: Node) -> WirePool:
        pool = self.pools.get(node)
        if pool is None:
            auth = ""
            if self.password:
                user = quote(self.username or "", safe="")
                auth = f"{user}:{quote(self.password, safe='')}@"
            url = f"redis://{auth}{node[0]}:{node[1]}/0"
            pool = self.pools.setdefault(node, WirePool(url, self.timeout, self.connect_timeout))
        return pool

    def reload(self) -> None:
        """Read the slot map from the first node that answers (known masters, then seeds)."""
        with self.lock:
            if not self.stale and any(self.slots):
                return
            wait = self.loaded_at + RELOAD_EVERY - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            candidates = list(dict.fromkeys([*{n for n in self.slots if n}, *self.seeds]))
            failure: Exception | None = None
            for node in candidates:
                try:
                    ranges = self.pool(node).call("CLUSTER", "SLOTS")
                except redis.RedisError as exc:
                    failure = exc
                    continue
                for start, end, master, *_ in ranges:
                    host = master[0].decode() or node[0]
                    owner = (host, int(master[1]))
                    for slot in range(int(start), int(end) + 1):
                        self.slots[slot] = owner
                self.stale = False
                self.loaded_at = time.monotonic()
                return
            self.loaded_at = time.monotonic()
            raise redis.ConnectionError(
                f"no node of the Redis Cluster answered CLUSTER SLOTS "
                f"({len(candidates)} tried): {failure}"
            )

    def owner(self, slot: int) -> Node:
        node = None if self.stale else self.slots[slot]
        if node is None:
            self.reload()
            node = self.slots[slot]
        if node is None:
            raise redis.ConnectionError(f"no node of the Redis Cluster serves slot {slot}")
        return node

    def exchange(self, slot: int, command: bytes, then: bytes = b"", count: int = 1) -> list[Any]:
        """``command`` (and ``count - 1`` more commands packed in ``then``) on the owner of
        ``slot``, one connection, one round trip; redirections followed. Error replies of the
        extra commands come back as exceptions, not raised; the first command's is raised."""
        node = self.owner(slot)
        asking = False
        tries = 0
        for _ in range(MAX_REDIRECTS + TRYAGAIN):
            pool = self.pool(node)
            try:
                if asking:
                    replies = pool.exchange(pack(("ASKING",)) + command + then, count + 1)[1:]
                elif count == 1:
                    replies = [pool.request(command)]
                else:
                    replies = pool.exchange(command + then, count)
            except (redis.ConnectionError, redis.TimeoutError):
                self.stale = True
                raise
            except redis.ResponseError as exc:
                replies = [exc]
            first = replies[0]
            if isinstance(first, redis.RedisError):
                moved = _redirect(first)
                if moved is None and str(first).startswith("TRYAGAIN") and tries < TRYAGAIN:
                    # a multi-key script on a slot being migrated: nothing ran; the migration
                    # of one slot takes moments, so wait a little and send it again
                    tries += 1
                    time.sleep(0.02 * tries)
                    node, asking = self.owner(slot), False
                    continue
                if moved is None:
                    if str(first).startswith(("CLUSTERDOWN", "TRYAGAIN", "READONLY")):
                        self.stale = True
                    raise first
                kind, where, node = moved
                asking = kind == "ASK"
                if not asking:
                    self.slots[where] = node
                continue
            return replies
        raise redis.ResponseError(f"slot {slot} was redirected more than {MAX_REDIRECTS} times")

    def wait_any(self, waits: Sequence[tuple[int, bytes]], timeout: float) -> list[Any]:
        """Send each blocking command (``(slot, command)``, e.g. BLPOP) on a connection of its
        own, all at once, and return the replies of those that answered first (None for the
        others), within ``timeout`` seconds plus the socket timeout. Connections still blocked
        are closed, which ends their command in Redis. A node that cannot be reached is left
        out (the map is reloaded next time); raises only when none can."""
        pending: dict[int, tuple[Wire, WirePool]] = {}
        replies: list[Any] = [None] * len(waits)
        failure: Exception | None = None
        try:
            for index, (slot, command) in enumerate(waits):
                try:
                    pending[index] = self._send(slot, command)
                except (redis.RedisError, OSError) as exc:
                    self.stale, failure = True, exc
            if not pending:
                raise redis.ConnectionError(f"no node of the Redis Cluster answered: {failure}")
            by_socket = {w.sock: i for i, (w, _) in pending.items()}
            limit = timeout + (self.timeout or 0.0)
            readable, _, _ = select.select(list(by_socket), [], [], limit)
            for sock in readable:
                index = by_socket[sock]
                wire, pool = pending.pop(index)
                try:
                    reply = wire._read()
                except OSError:
                    wire.close()
                    self.stale = True
                    continue
                pool.give_back(wire)
                if isinstance(reply, redis.RedisError):
                    self.stale = True  # MOVED, CLUSTERDOWN...: the next call reloads the map
                    continue
                replies[index] = reply
            return replies
        finally:
            for wire, _ in pending.values():
                wire.close()

    def _send(self, slot: int, command: bytes) -> tuple[Wire, WirePool]:
        pool = self.pool(self.owner(slot))
        wire = pool.borrow()
        try:
            wire.sock.sendall(command)
        except OSError:
            wire.close()  # an idle connection the server closed: a new one
            wire = Wire(pool.options)
            try:
                wire.sock.sendall(command)
            except OSError:
                wire.close()
                raise
        return wire, pool

    def close(self) -> None:
        for pool in list(self.pools.values()):
            pool.close()


class SlotWire:
    """A `ClusterWire` pinned to one slot: the ``wire`` of one keyspace's `Store` (the calls
    `WirePool` takes, sent to the node that owns the keyspace's hash tag)."""

    def __init__(self, cluster: ClusterWire, slot: int) -> None:
        self.cluster = cluster
        self.slot = slot

    def call(self, *args: Any, wait: float = 0.0) -> Any:
        return self.request(pack(args), wait)

    def request(self, command: bytes, wait: float = 0.0) -> Any:
        if wait:
            (reply,) = self.cluster.wait_any([(self.slot, command)], wait)
            return reply
        return self.cluster.exchange(self.slot, command)[0]

    def exchange(self, command: bytes, then: bytes, count: int) -> list[Any]:
        return self.cluster.exchange(self.slot, command, then, count)

    def close(self) -> None:
        """The pools are the cluster's: closed with it."""
