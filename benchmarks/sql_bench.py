# ruff: noqa: E501, SIM105, B905
"""jobframe-sql against its PostgreSQL peers (procrastinate, SAQ's PostgresQueue) on the same local
PostgreSQL: enqueue rates, processing rate with one worker process, and enqueue-to-start latency;
plus jobframe-sql on SQLite (a file) and on MariaDB, marked as such. See benchmarks/README.md.

    .venv/bin/python benchmarks/sql_bench.py [--jobs 5000] [--only jobframe,procrastinate] [--json out.json]
    .venv/bin/python benchmarks/sql_bench.py --profile [--jobs 5000]   # cProfile of jobframe-sql on PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import rounds

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(HERE, "peers")
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
MARIADB_HOST = os.environ.get("BENCH_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("BENCH_MARIADB_PORT", "3306"))
# row -> (peer script, jobs backend); every row gets the PostgreSQL database jf_bench_<row>
# (created before, dropped after), where its job body's counter lives.
LIBRARIES = {
    "jobframe": ("sql_bench_jobframe.py", "postgresql"),
    "procrastinate": ("sql_bench_procrastinate.py", "postgresql"),
    "saq": ("sql_bench_saq.py", "postgresql"),
    "jobframe-sqlite": ("sql_bench_jobframe.py", "sqlite"),
    "jobframe-mariadb": ("sql_bench_jobframe.py", "mariadb"),
}
PEERS = ("procrastinate", "saq")  # what jobframe on PostgreSQL is compared with
# (key, heading, higher is better)
METRICS = [
    ("enqueue_one", "enqueue 1-by-1 /s", True),
    ("enqueue_bulk", "enqueue bulk /s", True),
    ("process", "process /s (1 worker)", True),
    ("process_warm", "process /s after 1st job", True),
    ("lat_p50_ms", "latency p50 ms", False),
    ("lat_p99_ms", "latency p99 ms", False),
]


def db_name(row: str) -> str:
    return "jf_bench_" + row.replace("-", "_")


def pg_dsn(database: str) -> str:
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{database}"


def _pg_admin(statement: str) -> None:
    """CREATE/DROP DATABASE, from a connection to the `postgres` database (nothing else there)."""
    import psycopg

    with psycopg.connect(pg_dsn("postgres"), autocommit=True) as conn:
        conn.execute(statement)


def _mariadb_admin(statement: str) -> None:
    import pymysql

    conn = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user="root", password="")
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


def create_databases(row: str, tmp: str) -> dict[str, str]:
    """The row's fresh databases; returns the environment telling the child where they are."""
    name = db_name(row)
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    backend = LIBRARIES[row][1]
    if backend == "postgresql":
        url = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    elif backend == "sqlite":
        url = f"sqlite:///{os.path.join(tmp, 'jobs.sqlite3')}"
    else:
        _mariadb_admin(f"DROP DATABASE IF EXISTS {name}")
        _mariadb_admin(f"CREATE DATABASE {name}")
        url = f"mysql+pymysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{name}"
    return {"BENCH_PG_DSN": pg_dsn(name), "BENCH_SQL_URL": url}


def drop_databases(row: str) -> None:
    name = db_name(row)
    for drop in (lambda: _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                 lambda: LIBRARIES[row][1] == "mariadb" and _mariadb_admin(f"DROP DATABASE IF EXISTS {name}")):  # fmt: skip
        try:
            drop()
        except Exception as exc:
            print(f"  (could not drop {name}: {exc})", file=sys.stderr)


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
    tmp = tempfile.mkdtemp(prefix=f"bench-sql-{name}-")
    started = time.perf_counter()
    proc = None
    try:
        env = dict(os.environ, BENCH_PIDFILE=pid_path, **create_databases(name, tmp))
        env["PYTHONPATH"] = os.pathsep.join([PEERS_DIR, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        argv = [sys.executable, os.path.join(PEERS_DIR, LIBRARIES[name][0]), str(args.jobs),
                str(args.samples), str(args.phase_timeout), out_path]  # fmt: skip
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
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
        if proc is not None:
            _kill_group(proc.pid)
            proc.wait()
        with open(pid_path) as f:
            for line in f:
                if line.strip():
                    _kill_group(int(line))
        for path in (out_path, pid_path):
            os.unlink(path)
        drop_databases(name)
        shutil.rmtree(tmp, ignore_errors=True)
    if "error" in result:
        result = {"library": name, **{key: result["error"] for key, _, _ in METRICS}}
    result["row"] = name
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
    columns = [("library", "library"), ("backend", "jobs in"), ("version", "version")]
    for key, heading, _ in METRICS:
        columns.append((key, heading))
        if key == "enqueue_bulk":
            columns.append(("bulk_api", "bulk API"))
        if key == "process":
            columns.append(("first_job_s", "1st job done s"))
    rows = [[_fmt(r.get(key), key) for key, _ in columns] for r in results]
    widths = [max(len(heading), *(len(row[i]) for row in rows)) for i, (_, heading) in enumerate(columns)]
    def line(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) if i < 3 or not c[:1].isdigit() else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells, widths)))  # fmt: skip
    out = [line([h for _, h in columns]), "-+-".join("-" * w for w in widths)]
    out += [line(row) for row in rows]
    return "\n".join(out)


def ratios(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    ours = next((r for r in results if r["row"] == "jobframe"), None)
    lines = []
    for key, heading, higher in METRICS:
        peers = [(r[key], r["library"]) for r in results
                 if r["row"] in PEERS and isinstance(r.get(key), int | float)]  # fmt: skip
        mine = ours.get(key) if ours else None
        if not peers or not isinstance(mine, int | float):
            lines.append((heading, "n/a (no jobframe value or no peer value)"))
            continue
        value, who = max(peers) if higher else min(peers)
        ratio = mine / value if value else float("inf")
        better = ratio >= 1 if higher else ratio <= 1
        verdict = "level" if abs(ratio - 1) < 0.02 else ("ahead" if better else "behind")
        sense = "higher is better" if higher else "lower is better"
        lines.append((heading, f"jobframe-sql {_fmt(mine, key)} / best peer {who} {_fmt(value, key)}"
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
    parser.add_argument("--profile", action="store_true",
                        help="instead: cProfile jobframe-sql's 1-by-1 enqueue and worker on PostgreSQL")  # fmt: skip
    parser.add_argument("--top", type=int, default=15, help="--profile: rows per listing (15)")
    args = parser.parse_args(argv)
    if args.profile:
        return profile(args)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(LIBRARIES)
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        parser.error(f"unknown libraries {unknown}; choose from {', '.join(LIBRARIES)}")
    print(f"{args.jobs} no-op jobs, {args.samples} latency samples, PostgreSQL {PG_HOST}:{PG_PORT} "
          f"(one database per row), MariaDB {MARIADB_HOST}:{MARIADB_PORT}, SQLite in a temp dir", flush=True)  # fmt: skip
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
    print("jobframe-sql on PostgreSQL vs the best PostgreSQL peer (procrastinate, saq), per metric:")
    for heading, text in ratios(results):
        print(f"  {heading:24} {text}")
    print()
    print("worker configuration (one worker process each):")
    for r in results:
        print(f"  {r['library']:32} {r.get('worker_config', '')}")
    if args.json:
        meta = {"jobs": args.jobs, "samples": args.samples, "rounds": args.rounds, "python": sys.version.split()[0],
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results,
                       "ratios": dict(ratios(results))}, f, indent=2)  # fmt: skip
    return 0


def profile(args: argparse.Namespace) -> int:
    """Run peers/sql_profile_jobframe.py on a fresh PostgreSQL database (dropped afterwards)."""
    name = "jf_bench_profile"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {name}")
    env = dict(os.environ, BENCH_PG_DSN=pg_dsn(name),
               BENCH_SQL_URL=f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}")  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join([PEERS_DIR, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        return subprocess.call([sys.executable, os.path.join(PEERS_DIR, "sql_profile_jobframe.py"),
                                str(args.jobs), str(args.top)], env=env)  # fmt: skip
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
