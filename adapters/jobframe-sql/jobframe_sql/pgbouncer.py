"""PgBouncer (or another PostgreSQL pooler) in transaction mode: supported when declared with
``adapter_options = { pgbouncer = true }``, refused with a `ConfigurationError` that says so when
not.

Transaction pooling hands each transaction whichever server connection is free, so nothing may
outlive a transaction on the server:

- psycopg prepares a statement it has run 5 times, on one server connection, and later runs it
  by name on another ("prepared statement does not exist"): declared, prepared statements are off
  (``prepare_threshold = None``).
- the workers' ``-c synchronous_commit=off`` startup parameter (`engine.async_commit_engine`) is
  refused by PgBouncer ("unsupported startup parameter: options"): declared, workers commit
  synchronously like enqueues; undeclared, that refusal becomes the `ConfigurationError`.
- ``LISTEN`` holds a session: declared, workers do not listen and poll every 0.1 s by default
  (``poll_interval``), as on MariaDB, and waits for results poll (`jobframe_sql.results`). The
  NOTIFY an enqueue sends is harmless and stays.

jobframe takes no advisory locks and sets nothing per session, so the rest works as is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jobframe.errors import ConfigurationError

#: what PgBouncer answers to a startup parameter it does not pass on (``options``)
REFUSAL = "unsupported startup parameter"


def configure(url: str, options: dict[str, Any]) -> None:
    """Turn psycopg's prepared statements off in ``options`` (`create_engine`'s) for a
    PostgreSQL ``url`` behind a transaction pooler.

    Raises:
        ConfigurationError: ``url`` is not a PostgreSQL URL.
    """
    if not url.startswith("postgresql"):
        raise ConfigurationError(
            "sql adapter option 'pgbouncer' is for PostgreSQL behind PgBouncer; the url is "
            "not a PostgreSQL one: remove the option"
        )
    connect_args = options.setdefault("connect_args", {})
    connect_args.setdefault("prepare_threshold", None)


def hint(exc: BaseException) -> str:
    """What to add to the message of ``exc`` when it is psycopg's prepared statement that a
    transaction pooler lost or doubled: the option to set ("" for any other error)."""
    if 'prepared statement "_pg3_' not in str(exc):
        return ""
    return (
        ". A prepared statement went to another server connection: a pooler in transaction mode "
        "(PgBouncer) sits in front of PostgreSQL; set adapter_options = { pgbouncer = true }"
    )


def refuse_undeclared(engine: sa.Engine) -> None:
    """Make a PgBouncer's refusal of ``engine``'s startup parameters a `ConfigurationError` that
    names the option to set (the driver's own message does not say what to do)."""

    @sa.event.listens_for(engine, "handle_error")
    def _explain(context: Any) -> None:
        if REFUSAL in str(context.original_exception):
            raise ConfigurationError(
                f"the server at {engine.url.render_as_string(hide_password=True)} refused a "
                f"startup parameter ({REFUSAL}): it is a connection pooler such as PgBouncer. "
                "In transaction mode set adapter_options = { pgbouncer = true } (prepared "
                "statements and LISTEN off, workers poll); or point the workers at PostgreSQL "
                "itself"
            ) from context.original_exception
