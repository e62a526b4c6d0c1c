"""What observability costs a worker: the Redis processing rate of no-op jobs with one real
``jobframe work`` process, with OpenTelemetry tracing off and on and Prometheus metrics off and on,
all in ONE run, every configuration once per round in turn (so a slow minute of the shared machine
hits them alike), medians over the rounds and each configuration's ratio to ``off``::

    .venv/bin/python benchmarks/observability.py [--jobs 5000] [--rounds 5] [--json out.json]

Configurations:

- ``off``: ``jobframe work`` as shipped, ``--log-level WARNING`` (no line per job);
- ``tracing``: ``otel = true`` in the configuration and the OpenTelemetry SDK installed in the
  worker with a batch span processor whose exporter drops every span;
- ``metrics``: ``--metrics-port`` (a Prometheus ``/metrics`` endpoint, nobody scraping it);
- ``tracing+metrics``: both;
- ``json-logs``: ``--log-level INFO --log-format json`` (one line per job, to a file).

A configuration whose contrib module is not installed (``jobframe.contrib.opentelemetry``,
``jobframe.contrib.prometheus`` and their packages) is reported as ``n/a``, not failed.

The jobs are enqueued before the worker starts (enqueueing is untraced here: this measures the
worker). ``process /s`` is the warm rate: the jobs done after the first poll that saw one done, over
the time since, so the worker's start-up (imports, the SDK, connecting) is left out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONFIGS = ["off", "tracing", "metrics", "tracing+metrics", "json-logs"]
CONCURRENCY = 5


def available(config: str) -> str | None:
    """Why ``config`` cannot run here (a missing module), or None."""
    needs = []
    if "tracing" in config:
        needs += ["jobframe.contrib.opentelemetry", "opentelemetry.sdk"]
    if "metrics" in config:
        needs += ["jobframe.contrib.prometheus", "prometheus_client"]
    for name in needs:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"n/a ({name} is not installed)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_once(config: str, jobs: int, url: str, timeout: float) -> float:
    """Enqueue ``jobs`` no-op jobs, start a worker in ``config``, return its warm rate (jobs/s)."""
    import jobframe
    from jobframe_redis.adapter import RedisAdapter

    prefix = f"bench-obs-{uuid.uuid4().hex[:8]}"
    adapter = RedisAdapter(url, prefix=prefix)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        count = folder / "count"
        count.touch()
        toml = f'adapter = "redis"\n[adapter_options]\nurl = "{url}"\nprefix = "{prefix}"\n'
        if "tracing" in config:
            toml = "otel = true\n" + toml
        (folder / "jobframe.toml").write_text(toml)
        import observability_jobs

        with jobframe.queue_adapters.override(adapter):
            for start in range(0, jobs, 1000):
                batch = range(start, min(jobs, start + 1000))
                jobframe.perform_all_later([observability_jobs.NoopJob(i) for i in batch])
        argv = [sys.executable, "-m", "jobframe", "work", "observability_jobs", "--queues", "*",
                "--concurrency", str(CONCURRENCY), "--log-level", "WARNING"]  # fmt: skip
        if "metrics" in config:
            argv += ["--metrics-port", str(free_port())]
        if config == "json-logs":
            argv += ["--log-level", "INFO", "--log-format", "json"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        env["BENCH_COUNT_FILE"] = str(count)
        env["BENCH_TRACING"] = "1" if "tracing" in config else "0"
        with open(folder / "worker.log", "wb") as log:
            proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        try:
            return _rate(proc, count, jobs, time.perf_counter() + timeout, folder / "worker.log")
        finally:
            proc.kill()
            proc.wait(10)
            client = adapter.store.client
            keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
            for first in range(0, len(keys), 1000):
                client.delete(*keys[first : first + 1000])
            adapter.shutdown()


def _rate(proc: subprocess.Popen[bytes], count: Path, jobs: int, deadline: float,
          log: Path) -> float:  # fmt: skip
    first: tuple[float, int] | None = None
    while True:
        done, now = count.stat().st_size, time.perf_counter()
        if first is None and done:
            first = (now, done)
        if done >= jobs:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode}): {log.read_text()[-500:]}")
        if now > deadline:
            raise TimeoutError(f"{done}/{jobs} jobs done in time: {log.read_text()[-500:]}")
        time.sleep(0.01)
    assert first is not None
    return (jobs - first[1]) / max(now - first[0], 1e-9)


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--jobs", "-n", type=int, default=5000, help="jobs per measurement (5000)")
    made.add_argument("--rounds", type=int, default=5, help="runs of every configuration (5)")
    made.add_argument("--only", default="", help="comma-separated: " + ",".join(CONFIGS))
    made.add_argument("--url", default="redis://127.0.0.1:6379/0", help="the Redis server")
    made.add_argument("--timeout", type=float, default=300.0, help="seconds per run (300)")
    made.add_argument("--json", metavar="PATH", help="also save every round's values as JSON")
    args = made.parse_args(argv)
    configs = [c for c in args.only.split(",") if c] or CONFIGS
    if unknown := set(configs) - set(CONFIGS):
        made.error(f"unknown configurations {sorted(unknown)}; choose from {', '.join(CONFIGS)}")
    sys.path.insert(0, str(HERE))
    skipped = {c: why for c in configs if (why := available(c))}
    runs: dict[str, list[float]] = {c: [] for c in configs if c not in skipped}
    print(f"{args.jobs} no-op jobs, 1 worker process, --concurrency {CONCURRENCY}, {args.url}")
    for number in range(1, args.rounds + 1):
        for config in runs:
            rate = run_once(config, args.jobs, args.url, args.timeout)
            runs[config].append(rate)
            print(f"round {number}/{args.rounds} {config:16} {rate:9.0f} jobs/s", flush=True)
    base = statistics.median(runs["off"]) if runs.get("off") else None
    print(f"\nmedian of {args.rounds} rounds")
    print(f"  {'configuration':16} {'process /s':>10} {'vs off':>7}  rounds")
    report: dict[str, Any] = {"jobs": args.jobs, "rounds": args.rounds, "results": {}}
    for config in configs:
        if config in skipped:
            print(f"  {config:16} {skipped[config]}")
            report["results"][config] = {"error": skipped[config]}
            continue
        median = statistics.median(runs[config])
        ratio = f"{median / base:7.3f}" if base else "    n/a"
        spread = "/".join(f"{v:.0f}" for v in runs[config])
        print(f"  {config:16} {median:10.0f} {ratio}  {spread}")
        report["results"][config] = {"process": median, "rounds": runs[config],
                                     "ratio": median / base if base else None}  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
