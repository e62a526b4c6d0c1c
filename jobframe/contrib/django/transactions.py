"""Enqueue after commit on Django's ``transaction.on_commit``.

A job enqueued while its database connection is inside ``atomic()`` is held when the
``enqueue_after_commit`` setting is true or its class says ``enqueue_after_commit = True`` (a
class saying False never waits), exactly as with SQLAlchemy (`jobframe.transactions`). Its
arguments are checked and serialized at ``perform_later``; it is enqueued, in order with the
others, when the outermost ``atomic()`` commits, and dropped on rollback. Django keeps each
callback with its savepoint, so rolling back a nested ``atomic()`` drops only the jobs enqueued
inside it. The connection is the ``default`` database unless the job class names another alias
in ``enqueue_after_commit_using``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from jobframe import transaction_scopes

if TYPE_CHECKING:
    from jobframe.job.base import Job

__all__ = ["DjangoScope", "install", "uninstall"]


class DjangoScope:
    """Django connections inside ``atomic()``, as a transaction scope
    (`jobframe.transaction_scopes.TransactionScope`)."""

    def hold(self, jobs: list[Job], bulk: bool) -> list[Job] | None:
        from django.db import DEFAULT_DB_ALIAS, connections, transaction

        by_alias: dict[str, list[Job]] = {}
        alias_of: dict[type, str] = {}  # once per class, not per job of a large bulk
        for job in jobs:
            cls = type(job)
            if cls not in alias_of:
                alias_of[cls] = getattr(cls, "enqueue_after_commit_using", None) or DEFAULT_DB_ALIAS
            by_alias.setdefault(alias_of[cls], []).append(job)
        held: list[Job] = []
        open_any = False
        for alias, group in by_alias.items():
            if not connections[alias].in_atomic_block:
                continue
            open_any = True
            waiting = [job for job in group if transaction_scopes.wants(job)]
            if bulk and waiting:
                transaction.on_commit(partial(transaction_scopes.replay, [(waiting, True)]), alias)
            else:
                for job in waiting:
                    transaction.on_commit(
                        partial(transaction_scopes.replay, [([job], False)]), alias
                    )
            held += waiting
        if not open_any:
            return None
        return [job for job in jobs if not any(job is h for h in held)]


_SCOPE = DjangoScope()


def install() -> None:
    """Hold jobs enqueued inside ``atomic()`` until it commits (called by the app config)."""
    transaction_scopes.register(_SCOPE)


def uninstall() -> None:
    """Stop holding jobs for Django transactions."""
    transaction_scopes.unregister(_SCOPE)
