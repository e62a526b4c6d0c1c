"""jobframe against an earlier jobframe: the same benchmarks, old and new code in turn, one run.

A change that should cost no speed (a refactor, a hardening) is checked by running jobframe's own
rows of `redis_bench.py` and `sql_bench.py` for an earlier revision and for the working tree,
alternating old and new every round so that both see the same machine load, and printing the
median of each metric and the ratio new/old::

    .venv/bin/python benchmarks/compare_revisions.py 951ace7 --rounds 3
    .venv/bin/python benchmarks/compare_revisions.py main~5 --suites overhead,redis --jobs 2000

The ``overhead`` suite (`enqueue_overhead.py`) times ``perform_later`` without a backend: it is
CPU-bound and far steadier than the end-to-end rows on a shared machine.

The earlier revision is checked out into a temporary git worktree (removed afterwards) and run
with this virtualenv's interpreter, its own source first on ``PYTHONPATH`` (the benchmark
scripts prepend to it for their workers), so both sides use the same installed drivers. A
revision older than a script (``enqueue_overhead.py`` is new) runs the working tree's copy of it
against its own code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import common  # benchmarks/common.py: the end-to-end metrics both drivers report

ROOT = Path(__file__).resolve().parent.parent
#: per suite: the benchmark script and the jobframe row it reports
SUITES = {
    "redis": ("redis_bench.py", "jobframe"),
    "sql": ("sql_bench.py", "jobframe-sql"),
    "overhead": ("enqueue_overhead.py", "jobframe-overhead"),
}
METRICS = [
    ("small_us", "perform_later, 2 args us", False),
    ("rich_us", "perform_later, rich us", False),
    ("set_wait_us", "set(wait=...) us", False),
    *common.METRICS,
]

def source_path(tree: Path) -> str:
    parts = [tree, tree / "adapters" / "jobframe-redis", tree / "adapters" / "jobframe-sql"]
    return os.pathsep.join(str(p) for p in parts)


def run_once(tree: Path, suite: str, jobs: int, samples: int) -> dict[str, Any]:
    script, row = SUITES[suite]
    path = tree / "benchmarks" / script
    if not path.exists():  # a script newer than that revision: the same one, on its code
        path = ROOT / "benchmarks" / script
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = dict(os.environ, PYTHONPATH=source_path(tree))
        command = [sys.executable, str(path), "--json", out.name]
        if suite != "overhead":
            command += ["--only", row.split("-")[0], "--jobs", str(jobs), "--samples", str(samples)]
        subprocess.run(command, env=env, cwd=tree, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(Path(out.name).read_text())["results"]
    [mine] = [r for r in results if r["library"] == row]
    return dict(mine)


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("base", help="the earlier revision (any git revision)")
    made.add_argument("--rounds", type=int, default=3, help="old/new pairs per suite (3)")
    made.add_argument("--jobs", "-n", type=int, default=5000, help="jobs per measurement (5000)")
    made.add_argument("--samples", type=int, default=200, help="latency samples (200)")
    made.add_argument("--suites", default="overhead,redis,sql", help="overhead,redis,sql (all)")
    made.add_argument("--json", metavar="PATH", help="also save every round's values as JSON")
    args = made.parse_args(argv)
    suites = [s for s in args.suites.split(",") if s]
    base = subprocess.run(
        ["git", "rev-parse", "--short", args.base],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    report: dict[str, Any] = {"base": base, "rounds": args.rounds, "jobs": args.jobs, "suites": {}}
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "base"
        add = ["git", "worktree", "add", "--detach", "-q", str(old), base]
        subprocess.run(add, cwd=ROOT, check=True)
        try:
            for suite in suites:
                runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
                for round_ in range(args.rounds):
                    # alternate which side goes first, so neither always runs on a warmer machine
                    order = [("old", old), ("new", ROOT)]
                    if round_ % 2:
                        order.reverse()
                    for label, tree in order:
                        runs[label].append(run_once(tree, suite, args.jobs, args.samples))
                        print(f"{suite} round {round_ + 1} {label}: done", file=sys.stderr)
                report["suites"][suite] = runs
                print_suite(suite, base, runs)
        finally:
            remove = ["git", "worktree", "remove", "--force", str(old)]
            subprocess.run(remove, cwd=ROOT, check=False)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


def print_suite(suite: str, base: str, runs: dict[str, list[dict[str, Any]]]) -> None:
    rounds = len(runs["old"])
    print(f"\n{suite}: median of {rounds} rounds, {base} (old) against the working tree (new)")
    print(f"  {'metric':26} {'old':>10} {'new':>10} {'new/old':>8}")
    for key, label, higher_is_better in METRICS:
        old = [r[key] for r in runs["old"] if isinstance(r.get(key), int | float)]
        new = [r[key] for r in runs["new"] if isinstance(r.get(key), int | float)]
        if not old or not new:
            continue
        a, b = statistics.median(old), statistics.median(new)
        better = " (better)" if a and b != a and (b > a) == higher_is_better else ""
        print(f"  {label:26} {a:10.2f} {b:10.2f} {b / a if a else float('nan'):8.3f}{better}")


if __name__ == "__main__":
    raise SystemExit(main())
