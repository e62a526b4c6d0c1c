# ruff: noqa: E501
"""One library's producer rates for `producers.py` (a child process per library and round).

    python produce.py LIBRARY JOBS OUT.json

For every producer setting (1, 16 and 64 threads; 200 coroutines) it times JOBS enqueues of the
no-op job split evenly over the producers, emptying the library's database in between. Each
library is called the way an application of that shape calls it: a sync library from threads
directly and from coroutines through ``asyncio.to_thread``; an async library from coroutines
directly and from threads through ``asyncio.run_coroutine_threadsafe`` on one event loop that
runs in the background (as ``async_to_sync`` does), its single producer as one coroutine. jobframe has both APIs: ``perform_later``
from threads, ``aperform_later`` from coroutines. The jobframe child also measures the floor of
a one-by-one enqueue (see `floor`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import harness
import redis

SETTINGS = [("1 thread", "thread", 1), ("16 threads", "thread", 16), ("64 threads", "thread", 64),
            ("200 coroutines", "coroutine", 200)]  # fmt: skip


class Library:
    """How one library enqueues a no-op job; exactly one of `call` / `acall` is set."""

    call: Callable[[int], Any] | None = None
    acall: Callable[[int], Awaitable[Any]] | None = None
    keep = ""  # a key pattern `clear` must keep

    def __init__(self, name: str) -> None:
        from importlib.metadata import version

        self.name = name
        self.version = version(name)
        self.r = redis.Redis.from_url(harness.url())
        self.loop: asyncio.AbstractEventLoop | None = None

    def start_loop(self, startup: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        if startup is not None:
            asyncio.run_coroutine_threadsafe(startup(), self.loop).result(30)

    def clear(self) -> None:
        keep = set(self.r.scan_iter(match=self.keep, count=1000)) if self.keep else set()
        doomed = [k for k in self.r.scan_iter(count=1000) if k not in keep]
        for start in range(0, len(doomed), 1000):
            self.r.delete(*doomed[start : start + 1000])


def library(name: str) -> Library:
    lib = Library(name)
    if name == "jobframe":
        import jobframe

        jobframe.configure(adapter="redis", adapter_options={"url": harness.url(), "prefix": "bench"})
        import jobs_jobframe

        lib.call = jobs_jobframe.NoopJob.perform_later
        lib.acall = jobs_jobframe.NoopJob.aperform_later
    elif name == "rq":
        import jobs_rq
        from rq import Queue

        queue = Queue("bench", connection=redis.Redis.from_url(harness.url()))
        lib.call = lambda i: queue.enqueue(jobs_rq.noop, i)
    elif name == "dramatiq":
        import jobs_dramatiq

        lib.call = jobs_dramatiq.noop.send
    elif name == "celery":
        import jobs_celery

        lib.call, lib.keep = jobs_celery.noop.delay, "_kombu.binding.*"
    elif name == "huey":
        import jobs_huey

        lib.call = jobs_huey.noop
    elif name == "saq":
        import jobs_saq

        lib.start_loop(jobs_saq.queue.connect)
        lib.acall = lambda i: jobs_saq.queue.enqueue("noop", i=i)
    elif name == "arq":
        import jobs_arq  # noqa: F401 - the job functions, as a worker would see them
        from arq.connections import ArqRedis

        lib.start_loop()
        # create_pool's connection pool refuses 64 concurrent commands (MaxConnectionsError)
        pool = ArqRedis.from_url(harness.url(), max_connections=512)
        lib.acall = lambda i: pool.enqueue_job("noop", i)
    elif name == "taskiq":
        import jobs_taskiq

        lib.start_loop(jobs_taskiq.broker.startup)
        lib.acall = jobs_taskiq.noop.kiq
    else:
        raise SystemExit(f"unknown library {name!r}")
    return lib


def from_threads(lib: Library, threads: int, per: int) -> tuple[float, str]:
    if threads == 1 and lib.call is None:  # one producer of an async library: one coroutine
        rate, _ = from_coroutines(lib, 1, per)
        return rate, "1 coroutine"
    if lib.call is not None:
        call, how = lib.call, "direct"
    else:
        acall, loop = lib.acall, lib.loop
        assert acall is not None and loop is not None

        def call(i: int) -> Any:
            return asyncio.run_coroutine_threadsafe(acall(i), loop).result(60)  # type: ignore[arg-type]

        how = "run_coroutine_threadsafe"
    gate = threading.Barrier(threads + 1)

    def produce() -> None:
        gate.wait(30)
        for i in range(per):
            call(i)

    workers = [threading.Thread(target=produce) for _ in range(threads)]
    for worker in workers:
        worker.start()
    gate.wait(30)
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return threads * per / (time.perf_counter() - started), how


def from_coroutines(lib: Library, tasks: int, per: int) -> tuple[float, str]:
    if lib.acall is not None:
        acall, how = lib.acall, "direct"
    else:
        call = lib.call
        assert call is not None

        def acall(i: int) -> Awaitable[Any]:
            return asyncio.to_thread(call, i)

        how = "asyncio.to_thread"

    async def produce() -> None:
        for i in range(per):
            await acall(i)

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(produce() for _ in range(tasks)))
        return time.perf_counter() - started

    if lib.loop is not None:  # the library's clients live on that loop
        took = asyncio.run_coroutine_threadsafe(run(), lib.loop).result(600)
    else:
        took = asyncio.run(run())
    return tasks * per / took, how


def warm(lib: Library) -> None:
    """Connect and load scripts before anything is timed."""
    if lib.call is not None:
        lib.call(-1)
    else:
        assert lib.acall is not None and lib.loop is not None
        asyncio.run_coroutine_threadsafe(lib.acall(-1), lib.loop).result(30)  # type: ignore[arg-type]
    lib.clear()


# -- the floor of one-by-one enqueue (jobframe only) ------------------------------------------------


def ping_us(samples: int) -> float:
    """Median raw-socket PING round trip, µs: no client library at all."""
    with socket.create_connection((harness.HOST, harness.PORT)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            sock.recv(64)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _enqueue_commands(samples: int) -> list[bytes]:
    """The very ``EVALSHA ENQUEUE`` commands ``perform_later`` sends, packed for fresh jobs."""
    import jobs_jobframe

    from jobframe.job.enqueuing import _freeze, _prepare
    from jobframe_redis.adapter import entry

    store = jobs_jobframe.NoopJob.adapter().store
    commands = []
    for i in range(samples):
        job = jobs_jobframe.NoopJob(i)
        _prepare(job)
        _freeze(job)
        commands.append(store.enqueue_command(entry(job, None)))
    return commands


def _raw_socket() -> socket.socket:
    """A bare socket to the benchmark's Redis, on the benchmark's database."""
    sock = socket.create_connection((harness.HOST, harness.PORT))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    db = str(harness.db()).encode()
    sock.sendall(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%b\r\n" % (len(db), db))
    assert sock.recv(64) == b"+OK\r\n"
    return sock


def raw_enqueue_us(samples: int) -> float:
    """Median raw-socket round trip of the very ``EVALSHA ENQUEUE`` commands ``perform_later``
    sends, packed beforehand for fresh jobs: the round trip and the script measured as one,
    with no client library on the way (``PING`` plus the script's own time leaves out what the
    script's command costs around it: a larger request, Redis waking for it)."""
    commands = _enqueue_commands(samples)
    with _raw_socket() as sock:
        times = []
        for command in commands:
            started = time.perf_counter()
            sock.sendall(command)
            reply = sock.recv(64)  # ":1" (a ready job), one segment
            times.append(time.perf_counter() - started)
            assert reply.startswith(b":"), reply
    return statistics.median(times) * 1e6


def interleaved_floor_us(samples: int) -> float:
    """The floor's parts one after the other in each timed step, as a real enqueue meets them:
    ``perform_later`` on the no-op adapter, then the raw-socket round trip of a prepacked
    ``ENQUEUE`` for a fresh job. Summing the parts measured apart, each in a warm loop of its
    own, leaves out that in a real call each runs on caches the other has just cooled (and the
    CPU woken from the idle a blocking receive let it fall into). Median µs per step."""
    import jobs_jobframe

    from jobframe import queue_adapters

    commands = _enqueue_commands(samples)
    clock, perform_later = time.perf_counter, jobs_jobframe.NoopJob.perform_later
    with _raw_socket() as sock, queue_adapters.override(_null_adapter()):
        times = []
        for command in commands:
            started = clock()
            perform_later(0)
            sock.sendall(command)
            reply = sock.recv(64)
            times.append(clock() - started)
            assert reply.startswith(b":"), reply
    return statistics.median(times) * 1e6


def evalsha_stats(r: redis.Redis) -> tuple[int, int]:
    stats = r.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def per_call_us(call: Callable[[int], Any], calls: int) -> list[float]:
    """Each call's own time, µs, so that a median can leave out the calls the scheduler of a
    busy machine preempted (a mean over a loop counts those too)."""
    clock = time.perf_counter
    times = []
    for i in range(calls):
        started = clock()
        call(i)
        times.append((clock() - started) * 1e6)
    return times


def _null_adapter() -> Any:
    """The adapter that stores nothing of `enqueue_overhead.py` (one folder up)."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from enqueue_overhead import NullAdapter

    return NullAdapter()


def null_perform_later_us(calls: int) -> list[float]:
    """``perform_later`` on an adapter that stores nothing (as `enqueue_overhead.py`), per call."""
    import jobs_jobframe

    from jobframe import queue_adapters

    with queue_adapters.override(_null_adapter()):
        return per_call_us(jobs_jobframe.NoopJob.perform_later, calls)


def floor(lib: Library, jobs: int, repeats: int) -> dict[str, Any]:
    """The parts of a one-by-one enqueue, measured in turns ``repeats`` times: the raw round
    trip, the ENQUEUE script's time inside Redis (``INFO commandstats``: this server runs
    nothing else) and ``perform_later``'s own Python; against the real one-by-one call. Medians
    of per-call times (the script's is a mean: Redis gives no other), and the one-by-one mean
    (what the rate counts) beside them."""
    assert lib.call is not None
    parts: dict[str, list[float]] = {"rtt_us": [], "script_us": [], "python_us": [],
                                     "one_by_one_us": [], "one_by_one_mean_us": [],
                                     "raw_enqueue_us": [], "interleaved_us": []}  # fmt: skip
    for _ in range(repeats):
        parts["rtt_us"].append(ping_us(jobs))
        before = evalsha_stats(lib.r)
        times = per_call_us(lib.call, jobs)
        after = evalsha_stats(lib.r)
        parts["one_by_one_us"].append(statistics.median(times))
        parts["one_by_one_mean_us"].append(statistics.mean(times))
        parts["script_us"].append((after[1] - before[1]) / max(1, after[0] - before[0]))
        parts["python_us"].append(statistics.median(null_perform_later_us(jobs)))
        parts["raw_enqueue_us"].append(raw_enqueue_us(jobs))
        parts["interleaved_us"].append(interleaved_floor_us(jobs))
        lib.clear()
    out: dict[str, Any] = {key: statistics.median(values) for key, values in parts.items()}
    out["floor_us"] = out["rtt_us"] + out["script_us"] + out["python_us"]
    out["over_floor"] = out["one_by_one_us"] / out["floor_us"]
    out["raw_floor_us"] = out["raw_enqueue_us"] + out["python_us"]
    out["over_interleaved"] = out["one_by_one_us"] / out["interleaved_us"]
    out["parts_rounds"] = parts
    return out


def median_call_us(lib: Library, calls: int) -> float:
    """The median time of one enqueue by one producer, µs (robust to the preemptions that
    swing a busy machine's loop rates: see `per_call_us`)."""
    if lib.call is not None:
        return statistics.median(per_call_us(lib.call, calls))
    acall, loop = lib.acall, lib.loop
    assert acall is not None and loop is not None

    async def timed() -> list[float]:
        clock, times = time.perf_counter, []
        for i in range(calls):
            started = clock()
            await acall(i)
            times.append((clock() - started) * 1e6)
        return times

    return statistics.median(asyncio.run_coroutine_threadsafe(timed(), loop).result(600))


def main() -> None:
    name, jobs, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lib = library(name)
    warm(lib)
    out: dict[str, Any] = {"library": name, "version": lib.version}
    for label, kind, producers in SETTINGS:
        per = max(1, jobs // producers)
        measure = from_threads if kind == "thread" else from_coroutines
        rate, how = measure(lib, producers, per)
        out[label], out[f"{label} how"] = rate, how
        lib.clear()
    out["median_call_us"] = median_call_us(lib, min(jobs, 2000))
    lib.clear()
    if name == "jobframe":
        out["floor"] = floor(lib, max(500, jobs // 4), 5)
    with open(path, "w") as f:
        json.dump(out, f)
    os._exit(0)  # background loops and client threads need no goodbye


if __name__ == "__main__":
    main()
