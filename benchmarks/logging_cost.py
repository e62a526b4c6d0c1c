# ruff: noqa: E501
"""What a worker's log level costs: the Redis processing rate of no-op jobs with one real
``jobframe work`` process at ``--log-level WARNING`` (no line per job) and at the default INFO
(text, and JSON), all in ONE run, every configuration once per round in turn, medians of the
rounds, each configuration's ratio to ``warning`` and what it adds per job (µs)::

    .venv/bin/python benchmarks/logging_cost.py [--jobs 20000] [--rounds 5] [--only warning,info]
    .venv/bin/python benchmarks/logging_cost.py --base d791765     # and the same on an older revision

Configurations (each the same worker, ``--concurrency 5``, its stderr to a file):

- ``warning``: ``--log-level WARNING``;
- ``info``: the default level and format (``--log-level INFO``, text);
- ``info-json``: ``--log-level INFO --log-format json``;
- ``debug``: ``--log-level DEBUG`` (the start line of every job as well).

``process /s`` is the warm rate: the jobs done after the first poll that saw one done, over the time
since (start-up left out). The jobs are enqueued before the worker starts. Each run also counts
the lines the worker wrote per job. ``--pieces`` instead times, in this process, what each step of
one job's log line costs (see `logging_pieces.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "warning": ["--log-level", "WARNING"],
    "info": ["--log-level", "INFO"],
    "info-json": ["--log-level", "INFO", "--log-format", "json"],
    "debug": ["--log-level", "DEBUG"],
}
CONCURRENCY = int(os.environ.get("BENCH_JOBFRAME_CONCURRENCY", "5"))


def source_path(tree: Path) -> str:
    """PYTHONPATH that makes a worker run the jobframe of checkout ``tree``."""
    return os.pathsep.join(str(p) for p in (tree, tree / "adapters" / "jobframe-redis"))


def run_once(
    config: str, jobs: int, url: str, timeout: float, tree: Path | None = None
) -> dict[str, float]:
    """Enqueue ``jobs`` no-op jobs, run a worker in ``config``: its warm rate, CPU µs and log
    lines per job."""
    import jobframe
    from jobframe_redis.adapter import RedisAdapter

    prefix = f"bench-log-{uuid.uuid4().hex[:8]}"
    adapter = RedisAdapter(url, prefix=prefix)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        count = folder / "count"
        count.touch()
        toml = f'adapter = "redis"\n[adapter_options]\nurl = "{url}"\nprefix = "{prefix}"\n'
        (folder / "jobframe.toml").write_text(toml)
        import observability_jobs

        with jobframe.queue_adapters.override(adapter):
            for start in range(0, jobs, 1000):
                batch = range(start, min(jobs, start + 1000))
                jobframe.perform_all_later([observability_jobs.NoopJob(i) for i in batch])
        argv = [sys.executable, "-m", "jobframe", "work", "observability_jobs", "--queues", "*",
                "--concurrency", str(CONCURRENCY), *CONFIGS[config]]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        paths = [source_path(tree) if tree else "", str(HERE), env.get("PYTHONPATH")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        env["BENCH_COUNT_FILE"] = str(count)
        log_path = folder / "worker.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        try:
            redis_cpu = _RedisCpu(adapter.store.client)
            rate, cpu = _rate(proc, count, jobs, time.perf_counter() + timeout, log_path,
                              redis_cpu)  # fmt: skip
            proc.terminate()  # a graceful stop writes what the worker still buffers
            proc.wait(30)
            lines = log_path.read_bytes().count(b"\n")
            return {"process": rate, "cpu_us": cpu, "lines": lines / jobs,
                    "redis_us": redis_cpu.per_job}  # fmt: skip
        finally:
            proc.kill()
            proc.wait(10)
            client = adapter.store.client
            keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
            for first in range(0, len(keys), 1000):
                client.delete(*keys[first : first + 1000])
            adapter.shutdown()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _RedisCpu:
    """The Redis server's CPU time (``INFO cpu``, all its clients) between two marks, per job:
    meaningful on a server of the benchmark's own (``--url`` to a spare port)."""

    def __init__(self, client: Any) -> None:
        self.client, self.start, self.per_job = client, 0.0, float("nan")

    def now(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def mark(self) -> None:
        self.start = self.now()

    def stop(self, jobs: int) -> None:
        self.per_job = (self.now() - self.start) * 1e6 / max(jobs, 1)


def _rate(proc: subprocess.Popen[bytes], count: Path, jobs: int, deadline: float,
          log: Path, redis_cpu: _RedisCpu) -> tuple[float, float]:  # fmt: skip
    """The warm rate, and the worker's CPU time per job over the same jobs (µs): on a busy
    machine the rate moves with the neighbours, the CPU time much less."""
    first: tuple[float, int, float] | None = None
    while True:
        done, now = count.stat().st_size, time.perf_counter()
        if first is None and done:
            first = (now, done, cpu_seconds(proc.pid))
            redis_cpu.mark()
        if done >= jobs:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode}): {log.read_text()[-500:]}")
        if now > deadline:
            raise TimeoutError(f"{done}/{jobs} jobs done in time: {log.read_text()[-500:]}")
        time.sleep(0.005)
    assert first is not None
    cpu = cpu_seconds(proc.pid) - first[2]
    redis_cpu.stop(jobs - first[1])
    return (jobs - first[1]) / max(now - first[0], 1e-9), cpu * 1e6 / (jobs - first[1])


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--jobs", "-n", type=int, default=20000, help="jobs per run (20000)")
    made.add_argument("--rounds", type=int, default=5, help="runs of every configuration (5)")
    made.add_argument("--only", default="warning,info,info-json",
                      help="comma-separated, of: " + ",".join(CONFIGS))  # fmt: skip
    made.add_argument("--url", default="redis://127.0.0.1:6379/0", help="the Redis server")
    made.add_argument("--timeout", type=float, default=300.0, help="seconds per run (300)")
    made.add_argument("--json", metavar="PATH", help="also save every round's values as JSON")
    made.add_argument("--base", metavar="REV",
                      help="also run every configuration's worker on this earlier revision (a temporary git worktree)")  # fmt: skip
    made.add_argument("--pieces", action="store_true",
                      help="time each step of a job's log line in this process instead")  # fmt: skip
    args = made.parse_args(argv)
    sys.path.insert(0, str(HERE))
    if args.pieces:
        import logging_pieces

        return logging_pieces.main()
    configs = [c for c in args.only.split(",") if c]
    if unknown := set(configs) - set(CONFIGS):
        made.error(f"unknown configurations {sorted(unknown)}; choose from {', '.join(CONFIGS)}")
    trees: dict[str, Path | None] = {c: None for c in configs}
    scratch = tempfile.TemporaryDirectory() if args.base else None
    if scratch is not None:
        base = Path(scratch.name) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base],
                       cwd=HERE.parent, check=True)  # fmt: skip
        trees = {**{f"{c}@{args.base}": base for c in configs}, **trees}
        configs = list(trees)
    try:
        return _measure(args, configs, trees)
    finally:
        if scratch is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=HERE.parent,
                           check=False)  # fmt: skip
            scratch.cleanup()


def _measure(args: argparse.Namespace, configs: list[str], trees: dict[str, Path | None]) -> int:
    runs: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
    print(f"{args.jobs} no-op jobs, 1 worker process, --concurrency {CONCURRENCY}, {args.url}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    for number in range(1, args.rounds + 1):
        for config in configs:
            got = run_once(
                config.partition("@")[0], args.jobs, args.url, args.timeout, trees[config]
            )
            runs[config].append(got)
            print(f"round {number}/{args.rounds} {config:18} {got['process']:9.0f} jobs/s "
                  f"{got['cpu_us']:6.1f} CPU µs/job {got['redis_us']:5.1f} Redis µs/job {got['lines']:5.2f} lines/job", flush=True)  # fmt: skip
    print(f"\nmedian of {args.rounds} rounds; load average {os.getloadavg()[0]:.2f} at the end")
    base_key = "warning" if "warning" in runs else configs[0]
    medians = {
        c: {k: statistics.median(r[k] for r in runs[c]) for k in runs[c][0]} for c in configs
    }
    base = medians[base_key]
    print(f"  {'configuration':18} {'process /s':>10} {'vs ' + base_key:>11} {'CPU µs/job':>10}"
          f" {'CPU µs more':>11} {'Redis µs':>8} {'lines/job':>9}  rounds (jobs/s)")  # fmt: skip
    report: dict[str, Any] = {"jobs": args.jobs, "rounds": args.rounds, "results": {}}
    for config in configs:
        m = medians[config]
        ratio = m["process"] / base["process"]
        extra = m["cpu_us"] - base["cpu_us"]
        spread = "/".join(f"{r['process']:.0f}" for r in runs[config])
        print(f"  {config:18} {m['process']:10.0f} {ratio:11.3f} {m['cpu_us']:10.1f} {extra:11.1f}"
              f" {m['redis_us']:8.1f} {m['lines']:9.2f}  {spread}")  # fmt: skip
        report["results"][config] = {**m, "ratio": ratio, "rounds": runs[config]}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
