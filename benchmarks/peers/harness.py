# ruff: noqa: E501, SIM105, SIM115
"""The tiny harness every peer shares: the no-op work, worker processes, and the four measurements.

Each library gets its own Redis database (``DB``), flushed before and between measurements, so the
libraries never see each other's keys. The job body is the same for all. By default
(``BENCH_BODY=append``) it appends one byte to a count file with one ``os.write`` (about 1 µs: the
no-op job the issue asks for, and how completion is detected: the file's size); with
``BENCH_BODY=incr`` it is one ``INCR bench:count`` on a redis-py client, a job that does one round
trip of I/O. Latency samples ``RPUSH bench:lat <t>`` with ``t = time.time()`` taken as the job
starts.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import redis

COUNT_KEY = "bench:count"
LAT_KEY = "bench:lat"
HERE = os.path.dirname(os.path.abspath(__file__))
HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
PORT = int(os.environ.get("BENCH_REDIS_PORT", "6379"))


def db() -> int:
    return int(os.environ.get("BENCH_DB", "1"))


def url(database: int | None = None) -> str:
    return f"redis://{HOST}:{PORT}/{db() if database is None else database}"


# -- the job bodies (run inside the workers) ----------------------------------------------------

_sync: redis.Redis | None = None
_async: dict[int, Any] = {}


def _client() -> redis.Redis:
    global _sync
    if _sync is None:
        _sync = redis.Redis.from_url(url())
    return _sync


BODY = os.environ.get("BENCH_BODY", "append")
if BODY not in ("append", "incr"):
    raise SystemExit(f"BENCH_BODY must be append or incr, not {BODY!r}")
_count_fd: int | None = None


def _append() -> None:
    global _count_fd
    if _count_fd is None:
        _count_fd = os.open(os.environ["BENCH_COUNT_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(_count_fd, b"x")


def hit() -> None:
    if BODY == "append":
        _append()
    else:
        _client().incr(COUNT_KEY)


def stamp() -> None:
    started = time.time()
    _client().rpush(LAT_KEY, repr(started))


def _aclient() -> Any:
    import asyncio

    import redis.asyncio as aredis

    loop = id(asyncio.get_running_loop())
    if loop not in _async:
        _async[loop] = aredis.Redis.from_url(url())
    return _async[loop]


async def ahit() -> None:
    if BODY == "append":
        _append()  # a write to a local file: microseconds, no need to leave the event loop
    else:
        await _aclient().incr(COUNT_KEY)


async def astamp() -> None:
    started = time.time()
    await _aclient().rpush(LAT_KEY, repr(started))


# -- what each peer module provides ----------------------------------------------------------------


class Peer:
    """Override the enqueue methods and `worker_argv`; the harness does the rest."""

    name = "?"
    bulk_api: str | None = None  # the API used for bulk enqueue, None = the library has none
    worker_config = ""  # concurrency settings of the one worker process, for the table
    keep_patterns: tuple[str, ...] = ()  # keys `clear` must keep (e.g. kombu's bindings)
    burst = False  # the processing run's worker exits when the queue is empty (RQ --burst)

    def __init__(self) -> None:
        self.r = redis.Redis.from_url(url(), socket_timeout=60)  # the harness's own client
        self.workdir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        self.count_file = os.path.join(self.workdir, "count")
        os.environ["BENCH_COUNT_FILE"] = self.count_file  # the workers inherit it
        open(self.count_file, "wb").close()

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.name)

    def setup(self) -> None:
        """Connect (not timed)."""

    def enqueue_one(self, n: int) -> None:
        raise NotImplementedError

    def enqueue_bulk(self, n: int) -> None:
        raise NotImplementedError

    def prefill(self, n: int) -> None:
        (self.enqueue_bulk if self.bulk_api else self.enqueue_one)(n)

    def enqueue_stamp(self) -> None:
        raise NotImplementedError

    def worker_argv(self, burst: bool) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Disconnect (not timed)."""

    # -- hooks `measure` calls; the SQL harness's Peer overrides them ------------------------------

    poll_interval = 0.002  # seconds between two looks at the count while a worker processes

    def identity(self) -> dict[str, Any]:
        """The fields that name this row of the table."""
        return {"library": self.name}

    def prepare(self) -> None:
        """Empty the library's keys, then connect (not timed)."""
        self.clear()
        self.setup()

    def open_latency(self) -> None:
        """Get ready to receive start stamps, dropping any left from before."""
        self.r.delete(LAT_KEY)

    def next_stamp(self, timeout: float) -> float | None:
        """The next latency job's start stamp, or None after ``timeout`` seconds."""
        got = self.r.blpop([LAT_KEY], timeout=timeout)
        return None if got is None else float(got[1])

    def done(self) -> int:
        """How many jobs have run so far."""
        if BODY == "append":
            return os.path.getsize(self.count_file)
        return int(self.r.get(COUNT_KEY) or 0)

    def finish(self) -> None:
        """Disconnect and leave nothing behind, whatever happened."""
        for closing in (self.close, self.r.flushdb):  # flushdb: kombu's bindings included
            try:
                closing()
            except Exception:
                pass

    def clear(self) -> None:
        open(self.count_file, "wb").close()
        if not self.keep_patterns:
            self.r.flushdb()
            return
        keep = set()
        for pattern in self.keep_patterns:
            keep.update(self.r.scan_iter(match=pattern, count=1000))
        doomed = [k for k in self.r.scan_iter(count=1000) if k not in keep]
        for start in range(0, len(doomed), 1000):
            self.r.delete(*doomed[start : start + 1000])


# -- worker processes ------------------------------------------------------------------------------


class WorkerProcess:
    """A worker in its own process group; `stop` kills the whole group (SIGTERM, then SIGKILL)."""

    def __init__(self, peer: Peer, burst: bool = False) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([HERE, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["BENCH_DB"] = str(db())
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path = tempfile.mktemp(prefix="worker-", suffix=".log", dir=peer.workdir)
        self.log = open(self.log_path, "wb")
        self.argv = peer.worker_argv(burst)
        self.proc = subprocess.Popen(self.argv, cwd=peer.workdir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        pids = os.environ.get("BENCH_PIDFILE")
        if pids:
            with open(pids, "a") as f:
                f.write(f"{self.proc.pid}\n")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                # the leader is gone; children may linger in the group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                continue
            break
        self.log.close()


# -- the measurements --------------------------------------------------------------------------------


def _timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _err(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return "error: " + (text[:200] + "..." if len(text) > 200 else text)


def measure(peer: Peer, n: int, samples: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {**peer.identity(), "bulk_api": peer.bulk_api or "n/a",
                           "worker_config": peer.worker_config}  # fmt: skip
    try:
        out["version"] = peer.version()
    except Exception:
        out["version"] = "?"
    workers: list[WorkerProcess] = []
    try:
        peer.prepare()
        # 1. one-by-one enqueue
        try:
            out["enqueue_one"] = n / _timed(peer.enqueue_one, n)
        except Exception as exc:
            out["enqueue_one"] = _err(exc)
        peer.clear()
        # 2. bulk enqueue
        if peer.bulk_api:
            try:
                out["enqueue_bulk"] = n / _timed(peer.enqueue_bulk, n)
            except Exception as exc:
                out["enqueue_bulk"] = _err(exc)
            peer.clear()
        else:
            out["enqueue_bulk"] = "n/a"
        # 3. processing with one worker process, started on N waiting jobs
        try:
            peer.prefill(n)
            start = time.perf_counter()
            worker = WorkerProcess(peer, burst=True)
            workers.append(worker)
            first = None
            deadline = start + timeout
            while True:
                done = peer.done()
                now = time.perf_counter()
                if first is None and done:
                    first, first_done = now - start, done
                if done >= n:
                    break
                if not worker.alive() and peer.done() < n:
                    raise RuntimeError(f"worker exited ({worker.proc.returncode}) after {done} "
                                       f"jobs: {worker.tail()}")  # fmt: skip
                if now > deadline:
                    raise TimeoutError(f"{done}/{n} jobs done after {timeout:.0f}s: {worker.tail(5)}")
                time.sleep(peer.poll_interval)
            out["process"] = n / (now - start)
            out["first_job_s"] = first
            # the same run once the worker is up: jobs after the first poll that saw one done,
            # over the time since (start-up, imports and connecting left out)
            if first is not None and now - start > first and n > first_done:
                out["process_warm"] = (n - first_done) / (now - start - first)
            if peer.burst:
                worker.proc.wait(15)
        except Exception as exc:
            out["process"] = _err(exc)
        # 4. enqueue-to-start latency, worker running and idle
        try:
            if not workers or not workers[0].alive():
                if workers:
                    workers[0].stop()
                peer.clear()
                workers[:] = [WorkerProcess(peer, burst=False)]
            time.sleep(0.5)  # let the worker settle into its idle wait
            peer.open_latency()
            lat = []
            for i in range(samples + 5):
                t0 = time.time()
                peer.enqueue_stamp()
                got = peer.next_stamp(15)
                if got is None:
                    raise TimeoutError(f"sample {i}: the job did not start within 15s: "
                                       f"{workers[0].tail(5)}")  # fmt: skip
                if i >= 5:  # 5 warm-up samples
                    lat.append(got - t0)
                time.sleep(0.01)
            lat.sort()
            out["lat_p50_ms"] = statistics.median(lat) * 1000
            out["lat_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        except Exception as exc:
            out["lat_p50_ms"] = out["lat_p99_ms"] = _err(exc)
    except Exception as exc:
        for key in ("enqueue_one", "enqueue_bulk", "process", "lat_p50_ms", "lat_p99_ms"):
            out.setdefault(key, _err(exc))
    finally:
        for worker in workers:
            worker.stop()
        peer.finish()
    return out


def run_peer_main(peer_cls: type[Peer]) -> None:
    """`python bench_x.py N SAMPLES TIMEOUT OUT.json`: what redis_bench.py and sql_bench.py run."""
    import json

    n, samples, timeout, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    result = measure(peer_cls(), n, samples, timeout)
    with open(path, "w") as f:
        json.dump(result, f)
