"""Test helpers: a `RedisAdapter` of a test's own (the test server, a key prefix no other test
uses, every key under it deleted afterwards), and a real Redis Cluster on loopback ports."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from jobframe.testing.databases import REDIS_URL
from jobframe.testing.services import answers_ping, require_service
from jobframe.testing.workers import wait_until
from jobframe_redis.adapter import RedisAdapter


@contextmanager
def redis_adapter(prefix: str | None = None, *, label: str = "jftest") -> Iterator[RedisAdapter]:
    """A `RedisAdapter` on ``JOBFRAME_TEST_REDIS`` under ``prefix`` (by default
    ``<label>-<random>``); its keys are deleted and the adapter shut down afterwards."""
    require_service("Redis", "127.0.0.1", 6379)
    adapter = RedisAdapter(REDIS_URL, prefix=prefix or f"{label}-{uuid.uuid4().hex[:8]}")
    try:
        yield adapter
    finally:
        client = adapter.store.client
        keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
        if keys:
            client.delete(*keys)
        adapter.shutdown()


def missing(message: str) -> None:
    """Fail the test under ``CI``, skip it otherwise (as `require_service` does)."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


#: cluster nodes take ports from here up; each also needs its bus port (port + 10000) free
CLUSTER_PORTS = range(21000, 30000)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(count: int) -> list[int]:
    """``count`` loopback ports that are free, each with its cluster bus port (port + 10000)
    free too, picked at random so that parallel test runs rarely collide."""
    ports: list[int] = []
    for port in random.sample(CLUSTER_PORTS, len(CLUSTER_PORTS)):
        if _free(port) and _free(port + 10000):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free loopback ports (with their bus ports) in {CLUSTER_PORTS}")


class RedisCluster:
    """A real Redis Cluster on loopback: ``masters`` masters with ``replicas`` replicas each,
    one ``redis-server --cluster-enabled yes`` per node in ``folder``, created with
    ``redis-cli --cluster create``. `start` returns once every node reports ``cluster_state:ok``."""

    def __init__(self, folder: Path, masters: int = 3, replicas: int = 1) -> None:
        self.folder = folder
        self.masters, self.replicas = masters, replicas
        self.ports = cluster_ports(masters * (1 + replicas))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start_node(self, port: int) -> None:
        node = self.folder / str(port)
        node.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                   "--dir", str(node), "--cluster-enabled", "yes",
                   "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                   "--appendonly", "no", "--save", ""]  # fmt: skip
        with open(node / "redis.log", "ab") as log:
            self.procs[port] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def start(self, timeout: float = 30.0) -> None:
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            wait_until(partial(answers_ping, port), 10, f"cluster node on port {port}")
        create = ["redis-cli", "--cluster", "create",
                  *(f"127.0.0.1:{p}" for p in self.ports),
                  "--cluster-replicas", str(self.replicas), "--cluster-yes"]  # fmt: skip
        done = subprocess.run(create, capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout[-2000:]!r}")
        wait_until(self.ok, timeout, "cluster_state:ok on every node")
        # a replica that has not finished its first sync can neither take over nor ack a WAIT
        wait_until(self.synced, timeout, "every replica in sync with its master")

    def info(self, port: int, *command: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(port), *command],
                              capture_output=True, timeout=5, check=False)  # fmt: skip
        return done.stdout.decode(errors="replace")

    def ok(self) -> bool:
        """Every live node says ``cluster_state:ok`` and sees ``masters`` masters with slots."""
        for port, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            info = self.info(port, "cluster", "info")
            if "cluster_state:ok" not in info or f"cluster_size:{self.masters}" not in info:
                return False
        return True

    def synced(self) -> bool:
        """Every live replica's link to its master is up, and there are as many as asked."""
        up = 0
        for port, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            info = self.info(port, "info", "replication")
            if "role:slave" in info:
                if "master_link_status:up" not in info:
                    return False
                up += 1
        return up >= self.masters * self.replicas

    def master_ports(self) -> list[int]:
        """Ports of the live nodes that are masters now."""
        live = [port for port, proc in self.procs.items() if proc.poll() is None]
        return [port for port in live if "role:master" in self.info(port, "info", "replication")]

    def kill(self, port: int) -> None:
        """``kill -9`` one node."""
        proc = self.procs[port]
        proc.kill()
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@contextmanager
def redis_cluster(folder: Path, masters: int = 3, replicas: int = 1) -> Iterator[RedisCluster]:
    """A started `RedisCluster`, every node killed on exit. A test needing it fails under
    ``CI``, and skips otherwise, when redis-server or redis-cli is missing or the cluster does
    not come up."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        missing("redis-server and redis-cli are not on PATH; install Debian's redis-server")
    cluster = RedisCluster(folder, masters, replicas)
    try:
        try:
            cluster.start()
        except (RuntimeError, AssertionError, subprocess.SubprocessError, OSError) as exc:
            missing(f"the Redis Cluster did not start: {exc}")
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def cluster_adapter(url: str, prefix: str | None = None, **options: Any) -> Iterator[Any]:
    """A `RedisClusterAdapter` on ``url`` under ``prefix`` (by default random); every key under
    the prefix deleted and the adapter shut down afterwards."""
    from jobframe_redis.cluster.adapter import RedisClusterAdapter

    adapter = RedisClusterAdapter(url, prefix=prefix or f"jfc-{uuid.uuid4().hex[:8]}", **options)
    try:
        yield adapter
    finally:
        adapter.wipe()
        adapter.shutdown()
