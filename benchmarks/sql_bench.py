# ruff: noqa: E501
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
import subprocess
import sys
import tempfile
import time
from typing import Any

import common

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
            common.kill_group(proc.pid)
            proc.wait()
        with open(pid_path) as f:
            for line in f:
                if line.strip():
                    common.kill_group(int(line))
        for path in (out_path, pid_path):
            os.unlink(path)
        drop_databases(name)
        shutil.rmtree(tmp, ignore_errors=True)
    if "error" in result:
        result = common.failed(name, result["error"])
    result["row"] = name
    result["wall_s"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    made = common.parser(__doc__, list(LIBRARIES))
    made.add_argument("--profile", action="store_true",
                      help="instead: cProfile jobframe-sql's 1-by-1 enqueue and worker on PostgreSQL")  # fmt: skip
    made.add_argument("--top", type=int, default=15, help="--profile: rows per listing (15)")
    args = made.parse_args(argv)
    if args.profile:
        return profile(args)
    names = common.chosen(made, args, list(LIBRARIES))
    print(f"{args.jobs} no-op jobs, {args.samples} latency samples, PostgreSQL {PG_HOST}:{PG_PORT} "
          f"(one database per row), MariaDB {MARIADB_HOST}:{MARIADB_PORT}, SQLite in a temp dir", flush=True)  # fmt: skip
    lead = [("library", "library"), ("backend", "jobs in"), ("version", "version")]
    return common.run_and_report(
        args, names, lambda name: run_library(name, args), lead,
        lambda results: common.ratios(results, lambda r: r["row"] == "jobframe",
                                      lambda r: r["row"] in PEERS, "jobframe-sql"),
        "jobframe-sql on PostgreSQL vs the best PostgreSQL peer (procrastinate, saq), per metric:",
        32)  # fmt: skip


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
