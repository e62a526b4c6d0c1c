"""CPU per enqueue in the producer's process: ``perform_later`` on Redis from 1 and 16 threads.

    .venv/bin/python benchmarks/producer_cpu.py [--jobs 12800] [--rounds 3] [--port 6379] [--db 3]

Wall-clock rates on a shared 2-core machine move with its load; the CPU time the producing
process spends per job (``getrusage``: user and system) moves far less, and it is what bounds
the rate of many producer threads under one GIL. Beside it, Redis's own time per job
(``INFO commandstats``, reset per run: the server should run nothing else, see
`producers.py` for a private one) and the round trips it took (EVALSHA calls), and the same
``perform_later`` on an adapter that stores nothing (the Python any enqueue pays).

Last, the least a coalesced producer in one CPython process can do (``waiting``): the no-op
adapter's ``perform_later``, then each caller blocking until its own reply is back, through the
same `jobframe_redis.coalesce.Coalescer`, whose round trips carry one ``PING`` per job on a bare
socket (no packing, no script): what any design that answers every caller on its own pays per
job. Its rate (jobs / wall seconds) from 16 threads is the ceiling of the Redis row's. Needs a
Redis server on loopback; database ``--db`` is emptied (FLUSHDB) between runs, never database 0.
"""

from __future__ import annotations

import argparse
import resource
import socket
import threading
import time
from typing import Any

import redis
from enqueue_overhead import NullAdapter  # this folder: the script's own

import jobframe
from jobframe import queue_adapters
from jobframe_redis.coalesce import Coalescer


class NoopJob(jobframe.Job):
    queue_as = "bench"

    def perform(self, i: int) -> None:
        pass


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def produce(threads: int, jobs: int) -> tuple[float, float, float]:
    """User and system CPU µs per job for ``jobs`` perform_later calls split over ``threads``,
    and the rate (jobs per wall second)."""
    per = jobs // threads
    gate = threading.Barrier(threads + 1)

    def run() -> None:
        gate.wait(30)
        for i in range(per):
            NoopJob.perform_later(i)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    user, system = cpu()
    gate.wait(30)
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    user_after, system_after = cpu()
    done = per * threads
    return (user_after - user) / done * 1e6, (system_after - system) / done * 1e6, done / elapsed


class WaitingAdapter(NullAdapter):
    """`NullAdapter`, and then the caller waits for its own reply to a ``PING`` that shares a
    round trip with the other callers' (see the module)."""

    name = "waiting"

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.coalescer = Coalescer(self._send)
        self.trips = 0

    def _send(self, commands: list[bytes]) -> list[Any]:
        self.trips += 1
        self.sock.sendall(b"".join(commands))
        want, got = 7 * len(commands), b""  # "+PONG\r\n" each
        while len(got) < want:
            got += self.sock.recv(65536)
        return [None] * len(commands)

    def enqueue(self, job: Any) -> None:
        job.serialize()
        self.coalescer.call(b"*1\r\n$4\r\nPING\r\n")


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--jobs", type=int, default=12_800)
    made.add_argument("--rounds", type=int, default=3)
    made.add_argument("--port", type=int, default=6379)
    made.add_argument("--db", type=int, default=3)
    args = made.parse_args(argv)
    if args.db == 0:
        raise SystemExit("--db 0 is the shared database: pick another (it is emptied)")
    url = f"redis://127.0.0.1:{args.port}/{args.db}"
    jobframe.configure(adapter="redis", adapter_options={"url": url, "prefix": "bench"})
    client = redis.Redis.from_url(url)
    NoopJob.perform_later(-1)  # connected, scripts loaded
    client.flushdb()
    print(f"{args.jobs} jobs per run; CPU µs per job of this process (user + system)")
    for _ in range(args.rounds):
        for threads in (1, 16):
            client.config_resetstat()
            user, system, rate = produce(threads, args.jobs)
            stats = client.info("commandstats").get("cmdstat_evalsha", {})
            calls, usec = stats.get("calls", 0), stats.get("usec", 0)
            print(
                f"  redis, {threads:2} thread(s): {user + system:5.1f} ({user:.1f} + {system:.1f});"
                f" Redis {usec / args.jobs:4.1f} µs per job in {calls} script calls; {rate:,.0f}/s"
            )
            client.flushdb()
        with queue_adapters.override(NullAdapter()):
            for threads in (1, 16):
                user, system, rate = produce(threads, args.jobs)
                total = user + system
                print(f"  no-op adapter, {threads:2} thread(s): {total:5.1f}; {rate:,.0f}/s")
        waiting = WaitingAdapter(args.port)
        with queue_adapters.override(waiting):
            for threads in (1, 16):
                waiting.trips = 0
                user, system, rate = produce(threads, args.jobs)
                print(
                    f"  waiting, {threads:2} thread(s): {user + system:5.1f}"
                    f" ({user:.1f} + {system:.1f}); {rate:,.0f}/s in {waiting.trips} round trips"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
