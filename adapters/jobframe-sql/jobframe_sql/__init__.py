"""jobframe-sql: a durable SQL table backend for jobframe (PostgreSQL, MariaDB/MySQL, SQLite)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use (see __getattr__); typed for users all the same
    from jobframe_sql.adapter import SQLAdapter
    from jobframe_sql.schema import metadata
    from jobframe_sql.transactional import enqueue_in

__all__ = ["SQLAdapter", "enqueue_in", "metadata"]


def __getattr__(name: str) -> Any:
    # Importing the package must not import SQLAlchemy (the plugin module loads at startup).
    if name == "SQLAdapter":
        from jobframe_sql.adapter import SQLAdapter

        return SQLAdapter
    if name == "enqueue_in":
        from jobframe_sql.transactional import enqueue_in

        return enqueue_in
    if name == "metadata":
        from jobframe_sql.schema import metadata

        return metadata
    raise AttributeError(name)
