"""Enqueue after commit: hold jobs until the application's SQLAlchemy session commits.

A job enqueued while a registered session is in a transaction is validated and serialized at
once (a bad argument still fails in ``perform_later``), then held on that transaction. When the
session's outermost transaction commits the held jobs are enqueued, in order, through their
adapters (callbacks and instrumentation run then); when it rolls back or closes uncommitted they
are dropped. Jobs held in a SAVEPOINT (``begin_nested``) join the outer transaction when it is
released and are dropped when it rolls back. Works with every adapter; SQLAlchemy is imported only
by the code that registers a session.

Two ways to register a session::

    with jobframe.after_commit(session):          # explicit: jobs in the block wait for commit
        session.add(user)
        SendWelcomeEmailJob.perform_later(user)
    session.commit()                              # ... now they are enqueued

    jobframe.transactions.watch(Session)          # automatic, with `enqueue_after_commit = true`
                                                  # in the settings (or on a job class)

A job class can opt out (``enqueue_after_commit = False``) or in (``= True``) whatever the setting.
While held, the job's ``successfully_enqueued`` is False and ``provider_job_id`` is None.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from jobframe import transaction_scopes
from jobframe.errors import ConfigurationError

if TYPE_CHECKING:
    from jobframe.job.base import Job

__all__ = ["after_commit", "watch"]

_KEY = "jobframe.after_commit"

#: Sessions registered in this context, innermost last: (session ref, explicit block?).
_scopes: ContextVar[tuple[tuple[Callable[[], Any], bool], ...]] = ContextVar(
    "jobframe_after_commit_scopes", default=()
)


class _Held:
    """The jobs held on one session: ``[transaction, jobs, bulk]`` entries in enqueue order."""

    def __init__(self) -> None:
        self.entries: list[list[Any]] = []
        self.committed: Any = None


def _session_of(target: Any) -> Any:
    """The ORM ``Session`` behind ``target`` (a Session, an AsyncSession or a scoped_session)."""
    from sqlalchemy.orm import Session, scoped_session

    if isinstance(target, scoped_session):
        target = target()
    target = getattr(target, "sync_session", target)  # AsyncSession
    if not isinstance(target, Session):
        raise ConfigurationError(
            f"after_commit() needs a SQLAlchemy Session, got {type(target).__name__}; "
            "pass the session whose commit should enqueue the jobs."
        )
    return target


def _listen(session: Any) -> _Held:
    held = session.info.get(_KEY)
    if held is None:
        from sqlalchemy import event

        held = session.info[_KEY] = _Held()
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_transaction_end", _on_end)
    assert isinstance(held, _Held)
    return held


def _on_commit(session: Any) -> None:
    held: _Held = session.info[_KEY]
    nested = session.get_nested_transaction()
    if nested is not None:  # a SAVEPOINT released: its jobs now belong to the enclosing one
        for entry in held.entries:
            if entry[0] is nested:
                entry[0] = nested.parent
    else:
        held.committed = session.get_transaction()


def _on_end(session: Any, transaction: Any) -> None:
    held: _Held = session.info[_KEY]
    if transaction.parent is None and held.committed is transaction:
        held.committed = None
        ready, held.entries = held.entries, []
        transaction_scopes.replay((jobs, bulk) for _, jobs, bulk in ready)
    else:  # rolled back, or closed without commit: its jobs are dropped
        held.entries = [e for e in held.entries if e[0] is not transaction]


class _SQLAlchemyScope:
    """Sessions registered in this context (`after_commit`, `watch`) as a transaction scope."""

    def hold(self, jobs: list[Job], bulk: bool) -> list[Job] | None:
        for ref, explicit in reversed(_scopes.get()):
            session = ref()
            if session is None:
                continue
            transaction = session.get_nested_transaction() or session.get_transaction()
            if transaction is None:
                continue  # not in a transaction: nothing to wait for
            waiting = [job for job in jobs if transaction_scopes.wants(job, explicit)]
            if not waiting:
                return jobs
            held = _listen(session)
            if bulk:
                held.entries.append([transaction, waiting, True])
            else:
                held.entries += [[transaction, [job], False] for job in waiting]
            return [job for job in jobs if not any(job is w for w in waiting)]
        return None


transaction_scopes.register(_SQLAlchemyScope())


@contextmanager
def after_commit(session: Any) -> Iterator[None]:
    """Hold jobs enqueued in this block until ``session`` commits; drop them if it rolls back.

    ``session`` is a SQLAlchemy ``Session`` (or ``AsyncSession``/``scoped_session``). A job
    enqueued while the session has no open transaction is enqueued at once. A class with
    ``enqueue_after_commit = False`` is never held.

    Raises:
        ConfigurationError: ``session`` is not a SQLAlchemy session.
    """
    target = _session_of(session)
    _listen(target)
    token = _scopes.set((*_scopes.get(), (weakref.ref(target), True)))
    try:
        yield
    finally:
        _scopes.reset(token)


def watch(factory: Any) -> None:
    """Register every session made by ``factory`` (a ``sessionmaker``, a ``Session`` subclass or
    a ``scoped_session``) while its transaction is open, in the context that opened it.

    Jobs enqueued then are held when the ``enqueue_after_commit`` setting is true or their class
    says ``enqueue_after_commit = True``. Sync sessions only: with ``AsyncSession`` use the
    explicit ``after_commit(session)`` block.
    """
    from sqlalchemy import event
    from sqlalchemy.orm import scoped_session

    if isinstance(factory, scoped_session):
        factory = factory.session_factory
    if getattr(factory, "_jobframe_watched", False):
        return

    def begun(session: Any, transaction: Any) -> None:
        if transaction.parent is None:
            _listen(session)
            _scopes.set((*_forget(session), (weakref.ref(session), False)))

    def ended(session: Any, transaction: Any) -> None:
        if transaction.parent is None:
            _scopes.set(_forget(session))

    event.listen(factory, "after_transaction_create", begun)
    event.listen(factory, "after_transaction_end", ended)
    factory._jobframe_watched = True


def _forget(session: Any) -> tuple[tuple[Callable[[], Any], bool], ...]:
    return tuple(
        (ref, explicit)
        for ref, explicit in _scopes.get()
        if explicit or ref() not in (None, session)
    )
