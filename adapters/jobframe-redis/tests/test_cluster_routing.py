"""The cluster adapter's URL, options and routing: ``MOVED`` and ``ASK`` followed by the lean
wire on a real cluster (a slot map that is wrong, a slot being migrated)."""

from __future__ import annotations

import threading

import pytest
import redis

import jobframe
from jobframe import queue_adapters
from jobframe.errors import ConfigurationError, EnqueueError
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.cluster.adapter import RedisClusterAdapter
from jobframe_redis.cluster.keyspaces import parse_url
from jobframe_redis.cluster.wire import slot_of
from jobframe_redis.testing import RedisCluster, cluster_adapter


class Routed(jobframe.Job):
    def perform(self) -> None:
        pass


def test_the_url_names_seed_nodes_and_credentials() -> None:
    nodes, user, password = parse_url("redis+cluster://u:p%40ss@127.0.0.2:7000,[::1]:7001")
    assert nodes == [("127.0.0.2", 7000), ("::1", 7001)]
    assert (user, password) == ("u", "p@ss")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis://127.0.0.1:7000", "must start with redis\\+cluster://"),
        ("redis+cluster://127.0.0.1", "without host:port"),
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
    ],
)
def test_a_wrong_url_is_refused_with_the_fix(url: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        parse_url(url)


def test_the_password_never_shows_in_the_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_url("redis+cluster://:hunter2@127.0.0.1/5")
    assert "hunter2" not in str(caught.value)


def test_the_single_node_adapter_points_a_cluster_url_to_redis_cluster() -> None:
    with pytest.raises(ConfigurationError, match="adapter = 'redis-cluster'"):
        RedisAdapter("redis+cluster://127.0.0.1:7000")


def test_an_unknown_durable_mode_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="use 'replicas'"):
        RedisClusterAdapter("redis+cluster://127.0.0.1:1", durable="all")


def _node_id(port: int) -> str:
    client = redis.Redis(port=port)
    try:
        return str(client.execute_command("CLUSTER", "MYID").decode())
    finally:
        client.close()


def test_moved_and_ask_are_followed(redis_cluster: RedisCluster, prefix: str) -> None:
    with cluster_adapter(redis_cluster.url, prefix) as adapter, queue_adapters.override(adapter):
        spaces = adapter.spaces
        # MOVED: a slot map that names the wrong master; the enqueue lands all the same
        slot = slot_of(spaces.of("moved").keys.base)
        owner = spaces.wire.owner(slot)
        wrong = next(p for p in redis_cluster.master_ports() if p != owner[1])
        spaces.wire.slots[slot] = ("127.0.0.1", wrong)
        assert Routed.set(queue="moved").perform_later().successfully_enqueued
        assert spaces.wire.slots[slot] == owner
        # ASK: the slot of an empty queue is being migrated to another master; a single-key
        # command goes to the target at once, a script (several keys) waits for the end
        slot = slot_of(spaces.of("asked").keys.base)
        source = spaces.wire.owner(slot)[1]
        target = next(p for p in redis_cluster.master_ports() if p != source)
        src, dst = redis.Redis(port=source), redis.Redis(port=target)
        try:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", _node_id(source))
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", _node_id(target))
            spaces.writing("asked")
            marker = spaces.of("asked").keys.base + "marker"
            spaces.of("asked").wire.call("SET", marker, "1")  # type: ignore[union-attr]

            def finish() -> None:
                for node in redis_cluster.master_ports():
                    each = redis.Redis(port=node)
                    try:
                        each.execute_command("CLUSTER", "SETSLOT", slot, "NODE", _node_id(target))
                    finally:
                        each.close()

            timer = threading.Timer(0.1, finish)
            timer.start()
            assert Routed.set(queue="asked").perform_later().successfully_enqueued
            timer.join()
            assert dst.llen(spaces.of("asked").keys.ready("asked", 0)) == 1  # on the new owner
            assert dst.exists(marker)  # the single-key SET went there at once, with ASKING
        finally:
            src.close()
            dst.close()
        assert adapter.inspector().count("ready", "asked") == 1


def test_an_adapter_built_while_the_cluster_is_down_raises_enqueue_error() -> None:
    """Built without a server (an app starting during an outage); each enqueue then says what
    failed, with the password masked."""
    adapter = RedisClusterAdapter("redis+cluster://:hunter2@127.0.0.1:1")
    try:
        with queue_adapters.override(adapter), pytest.raises(EnqueueError) as caught:
            Routed.perform_later()
        assert "did not take the job" in str(caught.value)
        assert "hunter2" not in str(caught.value)
    finally:
        adapter.shutdown()


def test_doctor_checks_every_master(redis_cluster: RedisCluster, prefix: str) -> None:
    """The test cluster keeps nothing on disk: each master is named, by its own address."""
    with cluster_adapter(redis_cluster.url, prefix) as adapter:
        problems = adapter.check()
    named = {p.what.split(" db ")[0] for p in problems if "neither AOF nor RDB" in p.what}
    assert named == {f"Redis at 127.0.0.1:{port}" for port in redis_cluster.master_ports()}
