"""jobframe-redis against its peers on the same local Redis: enqueue rates, processing rate with one
worker process, and enqueue-to-start latency. See benchmarks/README.md.

    .venv/bin/python benchmarks/redis_bench.py [--jobs 5000] [--only jobframe,rq] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import common

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(HERE, "peers")
# library -> Redis database it gets to itself (FLUSHDB'd before, between and after its runs)
LIBRARIES = {"jobframe": 1, "rq": 2, "dramatiq": 3, "celery": 4, "huey": 5, "saq": 6, "arq": 7,
             "taskiq": 8, "jobframe-info": 11, "taskiq-tuned": 12}  # fmt: skip
#: jobframe's rows (the worker at WARNING, and at its default INFO); every other row is a peer
OURS = ("jobframe", "jobframe-info")


def run_library(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one library's measurements in a child process (its own imports, its own DB); kill it
    and every worker it started when it is done or over its time budget."""
    fd, out_path = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".json")
    os.close(fd)
    fd, pid_path = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".pids")
    os.close(fd)
    env = dict(os.environ, BENCH_DB=str(LIBRARIES[name]), BENCH_PIDFILE=pid_path)
    script = os.path.join(PEERS_DIR, f"bench_{name.replace('-', '_')}.py")
    argv = [sys.executable, script, str(args.jobs), str(args.samples), str(args.phase_timeout),
            out_path]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=args.timeout)
        with open(out_path) as f:
            text = f.read()
        if proc.returncode != 0 or not text:
            tail = " | ".join(output.decode(errors="replace").strip().splitlines()[-3:])
            raise RuntimeError(f"exit {proc.returncode}: {tail[-300:]}")
        result: dict[str, Any] = json.loads(text)
    except subprocess.TimeoutExpired:
        result = {"error": f"error: no result within {args.timeout:.0f}s (timeout)"}
    except Exception as exc:
        result = {"error": f"error: {exc}"}
    finally:
        common.kill_group(proc.pid)
        proc.wait()
        with open(pid_path) as f:
            for line in f:
                if line.strip():
                    common.kill_group(int(line))
        for path in (out_path, pid_path):
            os.unlink(path)
    if "error" in result:
        result = common.failed(name, result["error"])
    result["wall_s"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    made = common.parser(__doc__, list(LIBRARIES))
    args = made.parse_args(argv)
    names = common.chosen(made, args, list(LIBRARIES))
    host = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
    where = f"{host}:{os.environ.get('BENCH_REDIS_PORT', '6379')}"
    print(f"{args.jobs} no-op jobs, {args.samples} latency samples, Redis {where} "
          f"(one database per library)", flush=True)  # fmt: skip
    lead = [("library", "library"), ("version", "version")]
    return common.run_and_report(
        args, names, lambda name: run_library(name, args), lead,
        lambda results: [line for ours in OURS for line in common.ratios(
            results, lambda r, ours=ours: r["library"] == ours,
            lambda r: r["library"] not in OURS, ours)],
        "jobframe (worker at WARNING, then at INFO) vs the best peer, per metric:", 13)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
