# ruff: noqa: E501
"""What redis_bench.py and sql_bench.py share: the metrics, the command line, the table, the ratios
to the best peer, and the report. Each driver keeps how it runs one library (`run_library`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import rounds

# (key, heading, higher is better)
METRICS = [
    ("enqueue_one", "enqueue 1-by-1 /s", True),
    ("enqueue_bulk", "enqueue bulk /s", True),
    ("process", "process /s (1 worker)", True),
    ("process_warm", "process /s after 1st job", True),
    ("lat_p50_ms", "latency p50 ms", False),
    ("lat_p99_ms", "latency p99 ms", False),
]


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def failed(name: str, error: str) -> dict[str, Any]:
    """A row for a library whose run failed: the error in every metric's cell."""
    return {"library": name, **{key: error for key, _, _ in METRICS}}


def parser(doc: str | None, names: list[str]) -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--jobs", "-n", type=int, default=5000, help="jobs per measurement (5000)")
    made.add_argument("--samples", type=int, default=200, help="latency samples (200)")
    made.add_argument("--only", default="", help="comma-separated libraries: " + ",".join(names))
    made.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    made.add_argument("--rounds", type=int, default=1,
                      help="run every library this many times, in turn, and report medians (1)")  # fmt: skip
    made.add_argument("--timeout", type=float, default=600.0,
                      help="seconds a library gets for all its measurements (600)")  # fmt: skip
    made.add_argument("--phase-timeout", type=float, default=300.0,
                      help="seconds the processing run may take (300)")  # fmt: skip
    return made


def chosen(made: argparse.ArgumentParser, args: argparse.Namespace, names: list[str]) -> list[str]:
    """The libraries ``--only`` names (all of them by default); an unknown one is a usage error."""
    picked = [n.strip() for n in args.only.split(",") if n.strip()] or list(names)
    unknown = [n for n in picked if n not in names]
    if unknown:
        made.error(f"unknown libraries {unknown}; choose from {', '.join(names)}")
    return picked


def fmt(value: Any, key: str = "") -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "-"
    if key.endswith("_ms") or key.endswith("_s"):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return f"{value:,.0f}"


def table(results: list[dict[str, Any]], lead: list[tuple[str, str]]) -> str:
    """The results as a text table: the ``lead`` columns (key, heading), left-aligned, then the
    metrics with the bulk API and start-up columns beside theirs."""
    columns = list(lead)
    for key, heading, _ in METRICS:
        columns.append((key, heading))
        if key == "enqueue_bulk":
            columns.append(("bulk_api", "bulk API"))
        if key == "process":
            columns.append(("first_job_s", "1st job done s"))
    rows = [[fmt(r.get(key), key) for key, _ in columns] for r in results]
    widths = [max(len(heading), *(len(row[i]) for row in rows)) for i, (_, heading) in enumerate(columns)]
    def line(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) if i < len(lead) or not c[:1].isdigit() else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells, widths, strict=True)))  # fmt: skip
    out = [line([h for _, h in columns]), "-+-".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def ratios(results: list[dict[str, Any]], ours: Callable[[dict[str, Any]], bool],
           peer: Callable[[dict[str, Any]], bool], label: str) -> list[tuple[str, str]]:  # fmt: skip
    """Per metric, our value over the best peer's (highest rate, lowest latency)."""
    mine_row = next((r for r in results if ours(r)), None)
    lines = []
    for key, heading, higher in METRICS:
        peers = [(r[key], r["library"]) for r in results if peer(r) and isinstance(r.get(key), int | float)]
        mine = mine_row.get(key) if mine_row else None
        if not peers or not isinstance(mine, int | float):
            lines.append((heading, "n/a (no jobframe value or no peer value)"))
            continue
        value, who = max(peers) if higher else min(peers)
        ratio = mine / value if value else float("inf")
        better = ratio >= 1 if higher else ratio <= 1
        verdict = "level" if abs(ratio - 1) < 0.02 else ("ahead" if better else "behind")
        sense = "higher is better" if higher else "lower is better"
        lines.append((heading, f"{label} {fmt(mine, key)} / best peer {who} {fmt(value, key)}"
                               f" = {ratio:.2f}x ({sense}; jobframe {verdict})"))  # fmt: skip
    return lines


def run_and_report(args: argparse.Namespace, names: list[str], run_library: Callable[[str], dict[str, Any]],
                   lead: list[tuple[str, str]], ratio_lines: Callable[[list[dict[str, Any]]], list[tuple[str, str]]],
                   versus: str, name_width: int) -> int:  # fmt: skip
    """Run the rounds, print the table, every round's values, the ratios and the worker
    configurations, and save the JSON if asked."""
    keys = [key for key, _, _ in METRICS]
    results = rounds.run(names, args.rounds, run_library, keys)
    print()
    if args.rounds > 1:
        print(f"medians of {args.rounds} rounds:")
    print(table(results, lead))
    if args.rounds > 1:
        print()
        print("every round's value (in run order):")
        print("\n".join(rounds.spread(results, METRICS, fmt)))
    print()
    print(versus)
    for heading, text in ratio_lines(results):
        print(f"  {heading:24} {text}")
    print()
    print("worker configuration (one worker process each):")
    for r in results:
        print(f"  {r['library']:{name_width}} {r.get('worker_config', '')}")
    if args.json:
        meta = {"jobs": args.jobs, "samples": args.samples, "rounds": args.rounds,
                "python": sys.version.split()[0], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results, "ratios": dict(ratio_lines(results))}, f, indent=2)
    return 0
