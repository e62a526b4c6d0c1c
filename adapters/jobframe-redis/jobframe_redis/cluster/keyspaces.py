"""The keyspaces of one jobframe namespace on a Redis Cluster.

Each queue is a complete jobframe keyspace (`jobframe_redis.keys`) under the prefix
``<prefix>:<queue>``, so its keys carry the hash tag ``{<prefix>:<queue>}``: one slot per queue,
queues spread over the masters by that tag, and every Lua script of the single-node adapter runs
unchanged inside one slot. A small root keyspace ``{<prefix>}`` holds what is not a queue's: the
set of known queues (for ``*`` workers and the dashboard), the worker processes, rate limits, and
records of jobs no queue holds.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from redis.cluster import ClusterNode, RedisCluster

from jobframe.errors import ConfigurationError
from jobframe.redact import mask_url
from jobframe_redis.cluster.wire import ClusterWire, Node, SlotWire, slot_of
from jobframe_redis.connection import Store

SCHEME = "redis+cluster"
EXAMPLE = "e.g. redis+cluster://127.0.0.1:7000,127.0.0.1:7001 (any nodes of the cluster)"
#: how long a ``*`` worker keeps the list of queues before reading it again (seconds)
NAMES_TTL = 1.0


def parse_url(url: object) -> tuple[list[Node], str | None, str | None]:
    """The seed nodes, user name and password of a ``redis+cluster://`` URL.

    Raises:
        ConfigurationError: not such a URL, or a node without a port; the password masked.
    """
    if not isinstance(url, str) or not url.startswith(f"{SCHEME}://"):
        shown = mask_url(url) if isinstance(url, str) else repr(url)
        raise ConfigurationError(
            f"the redis-cluster adapter's url {shown!r} is not a cluster URL: it must start "
            f"with {SCHEME}://, {EXAMPLE}."
        )
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if parts.path.strip("/") not in ("", "0"):
        raise ConfigurationError(
            f"the redis-cluster adapter's url {mask_url(url)!r} names a database: a Redis "
            f"Cluster has only database 0; drop the path, {EXAMPLE}."
        )
    nodes: list[Node] = []
    for item in netloc.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(
                f"the redis-cluster adapter's url {mask_url(url)!r} has a node {item!r} "
                f"without host:port; {EXAMPLE}."
            )
        nodes.append((host.strip("[]"), int(port)))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return nodes, user, password


class Keyspaces:
    """The cluster client, the lean wire, the root keyspace and one `Store` per queue."""

    def __init__(self, url: str, prefix: str, **options: Any) -> None:
        nodes, user, password = parse_url(url)
        options.setdefault("socket_timeout", 10)
        options.setdefault("socket_connect_timeout", 5)
        self.url, self.prefix = url, prefix
        self._client: Any = None
        self._client_args = (nodes, user, password, options)
        self.wire = ClusterWire(
            nodes, user, password, options["socket_timeout"], options["socket_connect_timeout"]
        )
        self.lock = threading.RLock()
        self.root = self._store(prefix)
        self.stores: dict[str, Store] = {}
        self.known: set[str] = set()
        self._names: tuple[float, list[str]] = (0.0, [])

    @property
    def client(self) -> Any:
        """redis-py's cluster client, made on first use: it reads the topology when built, and
        an adapter must be built (an app started) while the cluster is down; its replies are
        loosely typed, so it is Any, as in the inspector."""
        if self._client is None:
            with self.lock:
                if self._client is None:
                    nodes, user, password, options = self._client_args
                    node: Any = ClusterNode  # untyped in redis-py
                    self._client = RedisCluster(
                        startup_nodes=[node(host, port) for host, port in nodes],
                        username=user,
                        password=password,
                        **options,
                    )
        return self._client

    def _store(self, prefix: str) -> Store:
        store = Store(self.url, prefix, client=cast(Any, _Lazy(self)))
        store.wire = cast(Any, SlotWire(self.wire, slot_of(store.keys.base)))
        return store

    def of(self, queue: str) -> Store:
        """The keyspace of ``queue`` (not registered: see `writing`)."""
        store = self.stores.get(queue)
        if store is None:
            with self.lock:
                store = self.stores.setdefault(queue, self._store(f"{self.prefix}:{queue}"))
        return store

    def writing(self, queue: str) -> Store:
        """The keyspace of ``queue``, which this process registers in the root's set of queues
        the first time it writes to it (one SADD per queue and process, not per job)."""
        if queue not in self.known:
            self.client.sadd(self.root.keys.queues, queue)
            self.known.add(queue)
        return self.of(queue)

    def names(self, fresh: bool = False) -> list[str]:
        """Every queue known in the root, sorted; read again at most every `NAMES_TTL` s."""
        read_at, names = self._names
        if fresh or time.monotonic() - read_at > NAMES_TTL:
            raw = cast(set[bytes], self.client.smembers(self.root.keys.queues))
            names = sorted(n.decode("utf-8", "backslashreplace") for n in raw)
            self._names = (time.monotonic(), names)
        return names

    def all(self) -> list[Store]:
        """The root, then every queue's keyspace."""
        return [self.root, *(self.of(name) for name in self.names(fresh=True))]

    def queue_of(self, store: Store) -> str | None:
        """The queue whose keyspace ``store`` is (None for the root)."""
        return store.keys.prefix[len(self.prefix) + 1 :] if store is not self.root else None

    def masters(self) -> set[Node]:
        """The nodes that own the queues' slots now (a test checks they are spread)."""
        return {self.wire.owner(slot_of(self.of(q).keys.base)) for q in self.names(fresh=True)}

    def close(self) -> None:
        self.wire.close()
        if self._client is not None:
            self._client.close()


class _Lazy:
    """The cluster client as a `Store` holds it: built on the first call that needs it (a Store
    only registers its scripts when made, which needs no server)."""

    def __init__(self, spaces: Keyspaces) -> None:
        self._spaces = spaces

    def register_script(self, script: str) -> Any:
        from redis.commands.core import Script

        return Script(cast(Any, self), script)

    def get_encoder(self) -> Any:
        """What `Script` hashes its text with (redis-py's default encoding): no server needed."""
        return _Utf8()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spaces.client, name)


class _Utf8:
    @staticmethod
    def encode(value: str) -> bytes:
        return value.encode("utf-8")
