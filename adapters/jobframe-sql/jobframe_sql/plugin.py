"""Registers the ``sql`` adapter (SQLAlchemy is imported only when the adapter is first used)."""

from __future__ import annotations

from typing import Any

from jobframe.hookspecs import hookimpl


@hookimpl
def register_adapters(register: Any) -> None:
    register("sql", "jobframe_sql.adapter:SQLAdapter")


@hookimpl
def register_commands(cli: Any) -> None:
    # Every `jobframe` command builds this parser: SQLAlchemy is imported only when `db` runs,
    # not on each `jobframe work` start of a Redis worker.
    parser = cli.add_parser("db", help="create or upgrade the SQL backend's tables")
    parser.add_argument("action", choices=("init", "upgrade"))
    parser.add_argument("--url", help="SQLAlchemy URL (default: the configured sql adapter's)")
    parser.set_defaults(func=_run_db)


def _run_db(args: Any) -> int:
    from jobframe_sql.db import run

    return run(args)
