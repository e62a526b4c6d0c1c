"""`enqueue_in`: jobs enqueued in a block are written through the application's own SQLAlchemy
transaction, and commit or roll back with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

from jobframe.errors import ConfigurationError
from jobframe.redact import mask_url
from jobframe_sql.local_wake import poke


class Scope:
    """An `enqueue_in` block: the application's connection (and session, if it gave one)."""

    def __init__(self, connection: sa.Connection, session: Any) -> None:
        self.connection = connection
        self.session = session
        self.wakes = False  # a wake-up of local workers is set to follow the commit


current: ContextVar[Scope | None] = ContextVar("jobframe_sql_connection", default=None)


@contextmanager
def enqueue_in(session_or_connection: Any) -> Iterator[sa.Connection]:
    """Write jobs enqueued in this block through the application's own transaction.

    ``session_or_connection`` is a SQLAlchemy ``Session`` or ``Connection`` on the same database
    as the adapter; the jobs commit or roll back with it (``perform_later`` returns with
    ``successfully_enqueued`` True once the row is written in that transaction)::

        with Session.begin() as session, jobframe_sql.enqueue_in(session):
            session.add(order)
            SendReceiptJob.perform_later(order)
    """
    from sqlalchemy.orm import Session, scoped_session

    connection, session = session_or_connection, None
    if isinstance(connection, Session | scoped_session):
        session = connection.registry() if isinstance(connection, scoped_session) else connection
        connection = session.connection()  # begins the session's transaction if needed
    if not isinstance(connection, sa.Connection):
        raise ConfigurationError(
            "enqueue_in() needs a SQLAlchemy Session or Connection (sync), got "
            f"{type(session_or_connection).__name__}."
        )
    token = current.set(Scope(connection, session))
    try:
        yield connection
    finally:
        current.reset(token)


def wake_after_commit(scope: Scope, key: str) -> None:
    """Poke the idle workers on this machine when the application's transaction commits
    (nothing on a rollback). A Session's ``after_commit`` follows the commit; a bare
    Connection only tells just before it, which is enough on SQLite (a woken worker's claim
    waits for the write lock the committing transaction holds) and best effort elsewhere
    (a worker that looked too early finds the job at its next poll)."""
    scope.wakes = True

    def committed(*_: Any) -> None:
        scope.wakes = False  # the block may go on into another transaction
        poke(key)

    if scope.session is not None:
        sa.event.listen(scope.session, "after_commit", committed, once=True)
    else:
        sa.event.listen(scope.connection, "commit", committed, once=True)


def check_same_database(connection: sa.Connection, engine: sa.Engine, url: str) -> None:
    """Refuse an `enqueue_in` connection to another database than the adapter's."""
    theirs = connection.engine.url
    if (theirs.drivername.split("+")[0], theirs.host, theirs.port, theirs.database) != (
        engine.url.drivername.split("+")[0],
        engine.url.host,
        engine.url.port,
        engine.url.database,
    ):
        raise ConfigurationError(
            f"enqueue_in() got a connection to "
            f"{mask_url(theirs.render_as_string(hide_password=True))}, "
            f"but the sql adapter writes to {url}; a transaction cannot span both."
        )


__all__ = ["Scope", "check_same_database", "current", "enqueue_in", "wake_after_commit"]
