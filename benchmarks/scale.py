# ruff: noqa: E501
"""Cost curves on Redis: rates and memory per job from 10^3 to 10^6 waiting jobs.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000,1000000] [--processes 1,2,4]
        [--window 5000] [--plots docs/images] [--json out.json]
    .venv/bin/python benchmarks/scale.py --backend postgresql ...   # runs benchmarks/scale_sql.py

For each size N, on a fresh key prefix of a private ``redis-server`` (started on a spare loopback
port; ``--port`` uses a running one, and only this run's prefix is ever deleted):

- **bulk /s**: N no-op jobs written with ``perform_all_later`` in batches of 10,000;
- **memory per job**: ``INFO memory`` ``used_memory`` after the fill minus before, over N, next
  to the stored payload's own length (``HSTRLEN``): the rest is what jobframe's keys cost;
- **enqueue 1-by-1 /s**: ``--window`` more ``perform_later`` calls on top of the N waiting jobs;
- **process /s, P processes**: ``jobframe work --processes P`` started on the N waiting jobs; the
  rate from the first look that saw a fifth of 2 x ``--window`` jobs (at most N / 2) done until
  all of those are done, so start-up and the end of the drain are left out;
  then the workers are killed and the queue topped up to N again for the next P.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
sys.path.insert(0, str(PEERS))
BATCH = 10_000


def used_memory(r: Any) -> int:
    return int(r.info("memory")["used_memory"])


def drop_prefix(r: Any, stem: str) -> None:
    """Delete this run's keys (and only those)."""
    keys = list(r.scan_iter(match=stem + "*", count=10_000))
    for start in range(0, len(keys), 1000):
        r.delete(*keys[start : start + 1000])  # not UNLINK: freed now, before the next baseline


def redis_cpu(r: Any) -> float:
    """Seconds of CPU the server has used: unlike a rate, not stretched by waiting for a core."""
    cpu = r.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def fill(jobframe: Any, job: Any, n: int) -> float:
    """Write n jobs in bulk batches; seconds taken (building the jobs included)."""
    started = time.perf_counter()
    for start in range(0, n, BATCH):
        jobframe.perform_all_later([job(i) for i in range(start, min(n, start + BATCH))])
    return time.perf_counter() - started


def process_rate(workdir: Path, processes: int, window: int, count_file: Path, timeout: float, r: Any) -> tuple[float, float]:
    """Jobs per second of ``jobframe work --processes P`` from the first look that saw a fifth of
    ``window`` jobs done until ``window`` are done (start-up left out: with 4 processes on 2 busy
    cores, the last one is up a second after the first)."""
    count_file.write_bytes(b"")
    env = dict(os.environ, PYTHONPATH=str(PEERS), BENCH_COUNT_FILE=str(count_file), PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "jobframe", "work", "jobs_jobframe", "--queues", "*",
            "--processes", str(processes), "--log-level", "WARNING"]  # fmt: skip
    with open(workdir / "worker.log", "ab") as log:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        first = None
        while True:
            done = count_file.stat().st_size
            now = time.perf_counter()
            # the clock starts once a fifth is done: every process is up by then
            if first is None and done >= window // 5:
                first = (now, done, redis_cpu(r))
            elif first is not None and done >= window:
                jobs = done - first[1]
                return jobs / (now - first[0]), (redis_cpu(r) - first[2]) / jobs * 1e6
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({proc.returncode}); see {workdir / 'worker.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done} jobs done after {timeout:.0f}s")
            time.sleep(0.005)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what it held is given back by the reaper
        proc.wait(30)


def measure(size: int, args: argparse.Namespace, r: Any, url: str, workdir: Path) -> dict[str, Any]:
    import jobs_jobframe

    import jobframe

    stem = "{" + args.prefix + "}:"
    job = jobs_jobframe.NoopJob
    out: dict[str, Any] = {"jobs": size}
    drop_prefix(r, stem)
    job.perform_later(-1)  # connect and load the script before the baseline
    drop_prefix(r, stem)
    before = used_memory(r)
    cpu, mine = redis_cpu(r), time.process_time()
    out["bulk_per_s"] = size / fill(jobframe, job, size)
    out["bulk_redis_cpu_us"] = (redis_cpu(r) - cpu) / size * 1e6
    out["bulk_client_cpu_us"] = (time.process_time() - mine) / size * 1e6
    out["memory_per_job"] = (used_memory(r) - before) / size
    some = next(iter(r.hscan_iter(stem + "jobs", count=10)))[0]
    out["payload_bytes"] = r.hstrlen(stem + "jobs", some)
    out["overhead_per_job"] = out["memory_per_job"] - out["payload_bytes"]
    for name, key in (("jobs_hash", "jobs"), ("ids_hash", "ids"), ("ready_list", "r:bench:0")):
        out[f"{name}_per_job"] = int(r.memory_usage(stem + key, samples=0) or 0) / size  # O(N), once
    window = args.window
    cpu, mine, started = redis_cpu(r), time.process_time(), time.perf_counter()
    for i in range(window):
        job.perform_later(i)
    out["enqueue_per_s"] = window / (time.perf_counter() - started)
    out["enqueue_redis_cpu_us"] = (redis_cpu(r) - cpu) / window * 1e6
    out["enqueue_client_cpu_us"] = (time.process_time() - mine) / window * 1e6
    for processes in args.process_counts:
        # back to N waiting jobs (the last run took some; the jobs its killed workers held stay
        # claimed, outside the queue, until the reaper gives them back)
        missing = size - int(r.llen(stem + "r:bench:0"))
        if missing > 0:
            fill(jobframe, job, missing)
        # never the whole queue: the last jobs of a drain (workers idling, the last claims) are
        # not the steady rate this curve is about
        out[f"process_{processes}_per_s"], out[f"process_{processes}_redis_cpu_us"] = process_rate(
            workdir, processes, min(size // 2, args.window * 2), workdir / "count", args.timeout, r)
    drop_prefix(r, stem)
    return out


def plot(results: list[dict[str, Any]], processes: list[int], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["jobs"] for r in results]
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(sizes, [r["enqueue_per_s"] for r in results], "o-", label="enqueue 1-by-1")
    ax.plot(sizes, [r["bulk_per_s"] for r in results], "s-", label="enqueue bulk")
    for p in processes:
        ax.plot(sizes, [r[f"process_{p}_per_s"] for r in results], "^-", label=f"process, {p} process{'es' if p > 1 else ''}")
    ax.set(xscale="log", xlabel="jobs waiting in Redis", ylabel="jobs / s", title="jobframe on Redis: rates by queue size")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    rates = folder / "scale-redis-rates.png"
    fig.tight_layout()
    fig.savefig(rates, dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(sizes, [r["memory_per_job"] for r in results], "o-", label="used_memory per job")
    ax.plot(sizes, [r["payload_bytes"] for r in results], "s--", label="the payload's own length")
    ax.plot(sizes, [r["payload_bytes"] + 200 for r in results], ":", color="grey", label="payload + 200 B (the target)")
    ax.set(xscale="log", xlabel="jobs waiting in Redis", ylabel="bytes", title="Redis memory per waiting no-op job")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    memory = folder / "scale-redis-memory.png"
    fig.tight_layout()
    fig.savefig(memory, dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(sizes, [r["enqueue_redis_cpu_us"] for r in results], "o-", label="Redis, enqueue 1-by-1")
    ax.plot(sizes, [r["bulk_redis_cpu_us"] for r in results], "s-", label="Redis, enqueue bulk")
    ax.plot(sizes, [r[f"process_{processes[0]}_redis_cpu_us"] for r in results], "^-", label=f"Redis, processing ({processes[0]} process)")
    ax.plot(sizes, [r["enqueue_client_cpu_us"] for r in results], "o--", label="producer, enqueue 1-by-1")
    ax.plot(sizes, [r["bulk_client_cpu_us"] for r in results], "s--", label="producer, enqueue bulk")
    ax.set(xscale="log", xlabel="jobs waiting in Redis", ylabel="CPU µs per job", title="CPU per job by queue size")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    cpu = folder / "scale-redis-cpu.png"
    fig.tight_layout()
    fig.savefig(cpu, dpi=100)
    plt.close(fig)
    return [rates, memory, cpu]


def table(results: list[dict[str, Any]], processes: list[int]) -> str:
    heads = ["jobs", "enqueue 1-by-1 /s", "bulk /s", *[f"process /s, {p} proc" for p in processes],
             "memory B/job", "payload B", "overhead B", "Redis CPU µs/job: 1-by-1 / bulk / processing",
             "producer CPU µs/job: 1-by-1 / bulk"]  # fmt: skip
    lines = ["| " + " | ".join(heads) + " |", "|" + "---:|" * len(heads)]
    for r in results:
        processing = f"{r[f'process_{processes[0]}_redis_cpu_us']:.1f}" if processes else "-"  # --processes ''
        cells = [f"{r['jobs']:,}", f"{r['enqueue_per_s']:,.0f}", f"{r['bulk_per_s']:,.0f}",
                 *[f"{r[f'process_{p}_per_s']:,.0f}" for p in processes],
                 f"{r['memory_per_job']:.0f}", f"{r['payload_bytes']}", f"{r['overhead_per_job']:.0f}",
                 f"{r['enqueue_redis_cpu_us']:.1f} / {r['bulk_redis_cpu_us']:.1f} / {processing}",
                 f"{r['enqueue_client_cpu_us']:.1f} / {r['bulk_client_cpu_us']:.1f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--backend", default="redis", help="redis (here) or postgresql (benchmarks/scale_sql.py)")
    made.add_argument("--sizes", default="1000,10000,100000,1000000")
    made.add_argument("--processes", default="1,2,4")
    made.add_argument("--window", type=int, default=5000, help="enqueues timed per size; processing counts twice that")
    made.add_argument("--port", type=int, default=0, help="a running Redis on this loopback port (default: a private one)")
    made.add_argument("--prefix", default="scale", help="the key prefix (deleted before and after each size)")
    made.add_argument("--timeout", type=float, default=300.0, help="seconds one processing run may take")
    made.add_argument("--plots", metavar="DIR", help="write the PNG plots here (e.g. docs/images)")
    made.add_argument("--json", metavar="PATH")
    args, rest = made.parse_known_args(argv)
    if args.backend == "postgresql":  # scale_sql.py measures PostgreSQL only: its own options
        return subprocess.call([sys.executable, str(HERE / "scale_sql.py"), *rest])
    if args.backend != "redis":
        made.error(f"--backend {args.backend}: redis or postgresql")
    if rest:
        made.error(f"unrecognized arguments: {' '.join(rest)}")
    args.process_counts = [int(p) for p in args.processes.split(",") if p]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-")))
        port = args.port
        if not port:
            from jobframe.testing.services import redis_server

            port = stack.enter_context(redis_server(workdir)).port
        url = f"redis://127.0.0.1:{port}/0"
        os.environ["BENCH_REDIS_PORT"], os.environ["BENCH_DB"] = str(port), "0"
        os.environ["BENCH_COUNT_FILE"] = str(workdir / "count")
        (workdir / "jobframe.toml").write_text(f'adapter = "redis"\n[adapter_options]\nurl = "{url}"\nprefix = "{args.prefix}"\n')
        import redis

        import jobframe

        jobframe.configure(adapter="redis", adapter_options={"url": url, "prefix": args.prefix})
        r = redis.Redis.from_url(url)
        print(f"Redis {url}, prefix {args.prefix!r}; sizes {sizes}; processes {args.process_counts}", flush=True)
        results = []
        for size in sizes:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            result = measure(size, args, r, url, workdir)
            result["load"] = load
            results.append(result)
            print(f"  {size:>9,} jobs: {json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()})} ({time.perf_counter() - started:.0f}s)", flush=True)
        print()
        print(table(results, args.process_counts))
        if args.plots:
            for path in plot(results, args.process_counts, Path(args.plots)):
                print(f"wrote {path}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
