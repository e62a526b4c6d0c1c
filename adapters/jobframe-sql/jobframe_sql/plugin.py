"""Registers the ``sql`` adapter (SQLAlchemy is imported only when the adapter is first used)."""

from __future__ import annotations

from typing import Any

from jobframe.hookspecs import hookimpl


@hookimpl
def register_adapters(register: Any) -> None:
    register("sql", "jobframe_sql.adapter:SQLAdapter")


@hookimpl
def register_commands(cli: Any) -> None:
    from jobframe_sql.db import add_arguments

    add_arguments(cli)
