"""The backend conformance suite against the real Redis: an in-process worker for the enqueue
tests, real ``jobframe work`` processes for the reliability ones."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing import BackendConformance, WorkerHarness
from jobframe_redis.adapter import RedisAdapter

REDIS_PORT = 6379


def tcp_ports(pids: list[int], server_port: int) -> set[int]:
    """The local ports of the TCP connections that processes ``pids`` hold to ``server_port``
    (from /proc: Linux), so that only their connections are killed."""
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that has exited holds nothing
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
            ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


class TestRedisBackend(BackendConformance):
    @pytest.fixture
    def adapter(self, adapter: RedisAdapter) -> QueueAdapter:  # type: ignore[override]
        return adapter

    @pytest.fixture
    def harness(  # type: ignore[override]
        self, adapter: RedisAdapter, tmp_path: Path, redis_url: str, prefix: str
    ) -> WorkerHarness:
        client = adapter.store.client

        def drop_connections() -> int:
            """CLIENT KILL every connection of this test's workers (the server is shared)."""
            ports = tcp_ports([p.pid for p in harness.procs], REDIS_PORT)
            ids = [
                c["id"] for c in client.client_list() if int(c["addr"].rsplit(":", 1)[1]) in ports
            ]
            return sum(int(client.client_kill_filter(_id=id)) for id in ids)

        options = {"url": redis_url, "prefix": prefix}
        harness = WorkerHarness(
            tmp_path / "workers", "redis", options, drop_connections=drop_connections
        )
        return harness

    def crashes(self, adapter: QueueAdapter, provider_id: str) -> int:
        assert isinstance(adapter, RedisAdapter)
        store = adapter.store
        return int(store.client.hget(store.keys.crashes, provider_id) or 0)
