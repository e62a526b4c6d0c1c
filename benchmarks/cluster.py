"""What a Redis Cluster and ``durable = "replicas"`` cost at enqueue, side by side in one run.

Starts its own 6-node cluster (3 masters, 3 replicas) on free loopback ports, and compares, for
one producer thread, one-by-one ``perform_later`` and ``perform_all_later`` (bulk) rates:

- ``redis``: the single-node adapter on the local Redis (6379), for reference;
- ``cluster``: the ``redis-cluster`` adapter, jobs spread over 8 queues (all three masters);
- ``cluster+wait``: the same with ``durable = "replicas"`` (``WAIT 1`` after each script, sent
  with it on one connection: one round trip, but the reply waits for a replica's ack).

Each configuration runs once per round in the same order; the median of the rounds is printed
with every round's value and the ratio to ``cluster``, and the load average next to them.

    .venv/bin/python benchmarks/cluster.py [--jobs 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jobframe
from jobframe import queue_adapters
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.cluster.adapter import RedisClusterAdapter
from jobframe_redis.testing import RedisCluster

QUEUES = [f"bench-{i}" for i in range(8)]


class NoOp(jobframe.Job):
    def perform(self, n: int) -> None:
        pass


def one_by_one(adapter: Any, jobs: int) -> float:
    with queue_adapters.override(adapter):
        queued = [NoOp.set(queue=QUEUES[n % len(QUEUES)]) for n in range(len(QUEUES))]
        for n in range(len(QUEUES)):  # first enqueue per queue registers it: not timed
            queued[n].perform_later(-1)
        began = time.perf_counter()
        for n in range(jobs):
            queued[n % len(QUEUES)].perform_later(n)
        return jobs / (time.perf_counter() - began)


def bulk(adapter: Any, jobs: int) -> float:
    with queue_adapters.override(adapter):
        batch = [NoOp(n).set(queue=QUEUES[n % len(QUEUES)]) for n in range(jobs)]
        began = time.perf_counter()
        assert jobframe.perform_all_later(batch) == jobs
        return jobs / (time.perf_counter() - began)


def make(name: str, cluster: RedisCluster) -> Any:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    if name == "redis":
        return RedisAdapter("redis://127.0.0.1:6379/0", prefix=prefix)
    durable = "replicas" if name == "cluster+wait" else None
    return RedisClusterAdapter(cluster.url, prefix=prefix, durable=durable)


def wipe(adapter: Any) -> None:
    if isinstance(adapter, RedisClusterAdapter):
        adapter.wipe()
    else:
        client = adapter.store.client
        keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    adapter.shutdown()


def main() -> int:
    made = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    made.add_argument("--jobs", type=int, default=3000)
    made.add_argument("--rounds", type=int, default=5)
    args = made.parse_args()
    names = ["redis", "cluster", "cluster+wait"]
    rates: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="jf-cluster-bench-") as folder:
        cluster = RedisCluster(Path(folder))
        try:
            cluster.start()
            for number in range(1, args.rounds + 1):
                print(f"round {number}/{args.rounds}", flush=True)
                for name in names:
                    adapter = make(name, cluster)
                    try:
                        for kind, measure in (("one-by-one", one_by_one), ("bulk", bulk)):
                            rates.setdefault((name, kind), []).append(measure(adapter, args.jobs))
                    finally:
                        wipe(adapter)
        finally:
            cluster.stop()
    print(f"\n{args.jobs} no-op jobs, one producer thread, median of {args.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")  # fmt: skip
    print(f"{'adapter':<14}{'kind':<12}{'jobs/s':>10}{'vs cluster':>12}  rounds")
    for kind in ("one-by-one", "bulk"):
        base = statistics.median(rates[("cluster", kind)])
        for name in names:
            values = rates[(name, kind)]
            median = statistics.median(values)
            shown = " ".join(f"{v:.0f}" for v in values)
            print(f"{name:<14}{kind:<12}{median:>10.0f}{median / base:>11.2f}x  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
