# ruff: noqa: E501, SIM105, B905
"""jobframe-redis against its peers on the same local Redis: enqueue rates, processing rate with one
worker process, and enqueue-to-start latency. See benchmarks/README.md.

    .venv/bin/python benchmarks/redis_bench.py [--jobs 5000] [--only jobframe,rq] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import rounds

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(HERE, "peers")
# library -> Redis database it gets to itself (FLUSHDB'd before, between and after its runs)
LIBRARIES = {"jobframe": 1, "rq": 2, "dramatiq": 3, "celery": 4, "huey": 5, "saq": 6, "arq": 7,
             "taskiq": 8}  # fmt: skip
# (key, heading, higher is better)
METRICS = [
    ("enqueue_one", "enqueue 1-by-1 /s", True),
    ("enqueue_bulk", "enqueue bulk /s", True),
    ("process", "process /s (1 worker)", True),
    ("process_warm", "process /s after 1st job", True),
    ("lat_p50_ms", "latency p50 ms", False),
    ("lat_p99_ms", "latency p99 ms", False),
]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_library(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one library's measurements in a child process (its own imports, its own DB); kill it
    and every worker it started when it is done or over its time budget."""
    fd, out_path = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".json")
    os.close(fd)
    fd, pid_path = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".pids")
    os.close(fd)
    env = dict(os.environ, BENCH_DB=str(LIBRARIES[name]), BENCH_PIDFILE=pid_path)
    argv = [sys.executable, os.path.join(PEERS_DIR, f"bench_{name}.py"), str(args.jobs),
            str(args.samples), str(args.phase_timeout), out_path]  # fmt: skip
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
        _kill_group(proc.pid)
        proc.wait()
        with open(pid_path) as f:
            for line in f:
                if line.strip():
                    _kill_group(int(line))
        for path in (out_path, pid_path):
            os.unlink(path)
    if "error" in result:
        result = {"library": name, **{key: result["error"] for key, _, _ in METRICS}}
    result["wall_s"] = time.perf_counter() - started
    return result


def _fmt(value: Any, key: str = "") -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if key.endswith("_ms") or key.endswith("_s"):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return f"{value:,.0f}"


def table(results: list[dict[str, Any]]) -> str:
    columns = [("library", "library"), ("version", "version")]
    for key, heading, _ in METRICS:
        columns.append((key, heading))
        if key == "enqueue_bulk":
            columns.append(("bulk_api", "bulk API"))
        if key == "process":
            columns.append(("first_job_s", "1st job done s"))
    rows = [[_fmt(r.get(key), key) for key, _ in columns] for r in results]
    widths = [max(len(heading), *(len(row[i]) for row in rows)) for i, (_, heading) in enumerate(columns)]
    def line(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) if i < 2 or not c[:1].isdigit() else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells, widths)))  # fmt: skip
    out = [line([h for _, h in columns]), "-+-".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def ratios(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    ours = next((r for r in results if r["library"] == "jobframe"), None)
    lines = []
    for key, heading, higher in METRICS:
        peers = [(r[key], r["library"]) for r in results
                 if r["library"] != "jobframe" and isinstance(r.get(key), int | float)]  # fmt: skip
        mine = ours.get(key) if ours else None
        if not peers or not isinstance(mine, int | float):
            lines.append((heading, "n/a (no jobframe value or no peer value)"))
            continue
        value, who = max(peers) if higher else min(peers)
        ratio = mine / value if value else float("inf")
        better = ratio >= 1 if higher else ratio <= 1
        verdict = "level" if abs(ratio - 1) < 0.02 else ("ahead" if better else "behind")
        sense = "higher is better" if higher else "lower is better"
        lines.append((heading, f"jobframe {_fmt(mine, key)} / best peer {who} {_fmt(value, key)}"
                               f" = {ratio:.2f}x ({sense}; jobframe "
                               f"{verdict})"))  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", "-n", type=int, default=5000, help="jobs per measurement (5000)")
    parser.add_argument("--samples", type=int, default=200, help="latency samples (200)")
    parser.add_argument("--only", default="", help="comma-separated libraries: " + ",".join(LIBRARIES))
    parser.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every library this many times, in turn, and report medians (1)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds a library gets for all its measurements (600)")  # fmt: skip
    parser.add_argument("--phase-timeout", type=float, default=300.0,
                        help="seconds the processing run may take (300)")  # fmt: skip
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(LIBRARIES)
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        parser.error(f"unknown libraries {unknown}; choose from {', '.join(LIBRARIES)}")
    print(f"{args.jobs} no-op jobs, {args.samples} latency samples, Redis 127.0.0.1:6379 "
          f"(one database per library)", flush=True)  # fmt: skip
    keys = [key for key, _, _ in METRICS]
    results = rounds.run(names, args.rounds, lambda name: run_library(name, args), keys)
    print()
    if args.rounds > 1:
        print(f"medians of {args.rounds} rounds:")
    print(table(results))
    if args.rounds > 1:
        print()
        print("every round's value (in run order):")
        print("\n".join(rounds.spread(results, METRICS, _fmt)))
    print()
    print("jobframe vs the best peer, per metric:")
    for heading, text in ratios(results):
        print(f"  {heading:24} {text}")
    print()
    print("worker configuration (one worker process each):")
    for r in results:
        print(f"  {r['library']:9} {r.get('worker_config', '')}")
    if args.json:
        meta = {"jobs": args.jobs, "samples": args.samples, "rounds": args.rounds, "python": sys.version.split()[0],
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results,
                       "ratios": dict(ratios(results))}, f, indent=2)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
