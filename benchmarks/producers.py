# ruff: noqa: E501
"""Concurrent producers: enqueue rates with 1, 16 and 64 threads and 200 coroutines, jobframe
against its peers in one run, and the floor of a one-by-one enqueue. See benchmarks/README.md.

    .venv/bin/python benchmarks/producers.py [--jobs 6400] [--rounds 3] [--only jobframe,huey] [--json out.json]

Runs on a private ``redis-server`` it starts on a spare loopback port (so ``INFO commandstats``
sees only this benchmark's commands; ``--port 6379`` uses a running server instead, each library
on its own database, FLUSHed). Every library runs once per round, in the same order, each in a
child process (`peers/produce.py`); the table gives medians of the rounds.
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
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(HERE, "peers")
LIBRARIES = {"jobframe": 1, "rq": 2, "dramatiq": 3, "celery": 4, "huey": 5, "saq": 6, "arq": 7,
             "taskiq": 8}  # fmt: skip
SETTINGS = ["1 thread", "16 threads", "64 threads", "200 coroutines"]
FLOOR_PARTS = [("rtt_us", "raw-socket PING round trip"), ("script_us", "ENQUEUE script inside Redis"),
               ("python_us", "perform_later on a no-op adapter"), ("floor_us", "floor (sum)"),
               ("one_by_one_us", "perform_later on Redis, one by one"),
               ("one_by_one_mean_us", "  the same, mean (what the rate counts)"),
               ("raw_enqueue_us", "raw-socket ENQUEUE round trip (script incl.)"),
               ("raw_floor_us", "  + perform_later on a no-op adapter"),
               ("interleaved_us", "no-op perform_later + raw ENQUEUE, in one step")]  # fmt: skip


def run_library(name: str, args: argparse.Namespace, port: int) -> dict[str, Any]:
    fd, out_path = tempfile.mkstemp(prefix=f"producers-{name}-", suffix=".json")
    os.close(fd)
    env = dict(os.environ, BENCH_DB=str(LIBRARIES[name]), BENCH_REDIS_PORT=str(port),
               PYTHONPATH=PEERS_DIR)  # fmt: skip
    argv = [sys.executable, os.path.join(PEERS_DIR, "produce.py"), name, str(args.jobs), out_path]
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, timeout=args.timeout, cwd=PEERS_DIR)
        text = Path(out_path).read_text()
        if proc.returncode != 0 or not text:
            tail = " | ".join(proc.stdout.decode(errors="replace").strip().splitlines()[-3:]
                              + proc.stderr.decode(errors="replace").strip().splitlines()[-3:])  # fmt: skip
            return {"library": name, "error": f"exit {proc.returncode}: {tail[-300:]}"}
        result: dict[str, Any] = json.loads(text)
        return result
    except subprocess.TimeoutExpired:
        return {"library": name, "error": f"no result within {args.timeout:.0f}s"}
    finally:
        os.unlink(out_path)


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
    return statistics.median(values) if values else None


def report(runs: dict[str, list[dict[str, Any]]], load: list[str]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for name, results in runs.items():
        row: dict[str, Any] = {"version": next((r.get("version") for r in results if "version" in r), "?")}
        for setting in SETTINGS:
            row[setting] = median_of(results, setting)
            row[f"{setting} rounds"] = [r.get(setting) for r in results]
            row[f"{setting} how"] = next((r.get(f"{setting} how") for r in results if f"{setting} how" in r), "")
        row["median_call_us"] = median_of(results, "median_call_us")
        row["median_call_us rounds"] = [r.get("median_call_us") for r in results]
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            row["errors"] = errors
        rows[name] = row
    width = max(len(n) for n in rows) + 2
    print(f"\nenqueue rate /s, medians of {max(len(r) for r in runs.values())} rounds (load average per round: {'; '.join(load)}):")
    print(f"{'library':{width}}" + "".join(f"{s:>16}" for s in SETTINGS))
    for name, row in rows.items():
        cells = "".join(f"{row[s]:>16,.0f}" if row[s] is not None else f"{'error':>16}" for s in SETTINGS)
        print(f"{name:{width}}{cells}")
    print("\nevery round:")
    for name, row in rows.items():
        print(f"  {name:{width}}" + "; ".join(f"{s} " + "/".join(f"{v:,.0f}" if v else "-" for v in row[f'{s} rounds']) for s in SETTINGS))
        for error in row.get("errors", []):
            print(f"  {'':{width}}error: {error}")
    print("\none producer, the median time of one enqueue (µs; every round):")
    for name, row in rows.items():
        value, every = row["median_call_us"], row["median_call_us rounds"]
        if value is not None:
            print(f"  {name:{width}}{value:8.1f}   ({'/'.join(f'{v:.1f}' for v in every if v)})")
    print("\nhow each library is called (threads / coroutines):")
    for name, row in rows.items():
        print(f"  {name:{width}}{row['16 threads how']} / {row['200 coroutines how']}")
    ratios: dict[str, str] = {}
    mine = rows.get("jobframe")
    print("\njobframe vs the best peer:")
    for setting in SETTINGS:
        peers = [(row[setting], name) for name, row in rows.items() if name != "jobframe" and row[setting]]
        if not peers or not mine or not mine[setting]:
            continue
        value, who = max(peers)
        ratios[setting] = f"{mine[setting] / value:.2f}x ({who})"
        print(f"  {setting:16} jobframe {mine[setting]:,.0f} / {who} {value:,.0f} = {mine[setting] / value:.2f}x")
    calls = [(row["median_call_us"], name) for name, row in rows.items() if name != "jobframe" and row["median_call_us"]]
    if calls and mine and mine["median_call_us"]:
        value, who = min(calls)
        ratios["median_call"] = f"{value / mine['median_call_us']:.2f}x ({who})"
        print(f"  {'1 producer, median call':16} jobframe {mine['median_call_us']:.1f} µs / {who} {value:.1f} µs: {value / mine['median_call_us']:.2f}x the best peer's speed")
    floors = [r["floor"] for r in runs.get("jobframe", []) if "floor" in r]
    out: dict[str, Any] = {"rows": rows, "ratios": ratios}
    if floors:
        print("\none-by-one enqueue against its floor (jobframe, 1 thread; µs per call, medians of per-call times, the script's a mean):")
        floor = {key: statistics.median(f[key] for f in floors) for key, _ in FLOOR_PARTS if all(key in f for f in floors)}
        for key, label in FLOOR_PARTS:
            if key not in floor:
                continue
            every = "/".join(f"{f[key]:.1f}" for f in floors)
            print(f"  {label:36} {floor[key]:7.1f}   (rounds {every})")
        floor["over_floor"] = floor["one_by_one_us"] / floor["floor_us"]
        print(f"  {'one by one / floor':36} {floor['over_floor']:7.2f}x  (target <= 1.25x)")
        if "raw_floor_us" in floor:
            floor["over_raw_floor"] = floor["one_by_one_us"] / floor["raw_floor_us"]
            print(f"  {'one by one / (raw ENQUEUE + no-op)':36} {floor['over_raw_floor']:7.2f}x")
        if "interleaved_us" in floor:
            floor["over_interleaved"] = floor["one_by_one_us"] / floor["interleaved_us"]
            print(f"  {'one by one / the two in one step':36} {floor['over_interleaved']:7.2f}x")
        out["floor"] = floor
    return out


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--jobs", "-n", type=int, default=6400, help="jobs per setting, split over the producers (6400)")
    made.add_argument("--rounds", type=int, default=3)
    made.add_argument("--only", default="", help="comma-separated: " + ",".join(LIBRARIES))
    made.add_argument("--port", type=int, default=0, help="use the Redis server on this loopback port")
    made.add_argument("--timeout", type=float, default=600.0, help="seconds per library and round")
    made.add_argument("--json", metavar="PATH")
    args = made.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(LIBRARIES)
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        made.error(f"unknown libraries {unknown}")
    with ExitStack() as stack:
        port = args.port
        if not port:
            from jobframe.testing.services import redis_server

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="producers-redis-")))
            port = stack.enter_context(redis_server(folder)).port
        print(f"{args.jobs} no-op jobs per setting, Redis 127.0.0.1:{port}, {args.rounds} rounds", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        load = []
        for number in range(1, args.rounds + 1):
            load.append(f"{os.getloadavg()[0]:.2f}")
            print(f"round {number}/{args.rounds} (load {load[-1]})", flush=True)
            for name in names:
                started = time.perf_counter()
                runs[name].append(run_library(name, args, port))
                print(f"  {name} {time.perf_counter() - started:.0f}s", flush=True)
        out = report(runs, load)
    if args.json:
        out["meta"] = {"jobs": args.jobs, "rounds": args.rounds, "load": load, "python": sys.version.split()[0],
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
