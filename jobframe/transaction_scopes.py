"""Transaction scopes: where a job enqueued inside an application's transaction waits for it.

Enqueuing asks each registered `TransactionScope` in turn (`hold`); the first one that has a
transaction open holds the jobs that should wait for its commit and hands back the others. A scope
replays what it held with `replay` when the transaction commits and forgets it on rollback. The
SQLAlchemy scope (`jobframe.transactions`) is always registered; Django's
(`jobframe.contrib.django.transactions`) is registered by its app config. The core knows neither.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

from jobframe import config

if TYPE_CHECKING:
    from jobframe.job.base import Job

__all__ = ["TransactionScope", "hold", "register", "replay", "unregister", "wants"]

_log = logging.getLogger("jobframe")
_lock = threading.Lock()
_scopes: list[TransactionScope] = []
#: True while held jobs are being enqueued (they must not be held again).
_replaying: ContextVar[bool] = ContextVar("jobframe_after_commit_replaying", default=False)


class TransactionScope(Protocol):
    """One kind of application transaction that jobs can wait for."""

    def hold(self, jobs: list[Job], bulk: bool) -> list[Job] | None:
        """Hold those of ``jobs`` that wait for the open transaction (see `wants`) and return the
        rest, to enqueue now; None when no transaction of this kind is open here.

        ``bulk``: the jobs come from one ``perform_all_later`` call and are replayed as one.
        """
        ...


def register(scope: TransactionScope) -> None:
    """Ask ``scope`` whether enqueued jobs wait for a commit (after those registered before)."""
    with _lock:
        if scope not in _scopes:
            _scopes.append(scope)


def unregister(scope: TransactionScope) -> None:
    """Stop asking ``scope``."""
    with _lock:
        if scope in _scopes:
            _scopes.remove(scope)


def wants(job: Job, explicit: bool = False) -> bool:
    """Whether ``job`` waits for a commit: its class's ``enqueue_after_commit`` if it says, else
    ``explicit`` (an ``after_commit`` block) or the ``enqueue_after_commit`` setting."""
    flag = getattr(type(job), "enqueue_after_commit", None)
    if flag is not None:
        return bool(flag)
    return explicit or config.settings().enqueue_after_commit


def hold(jobs: list[Job], bulk: bool) -> list[Job]:
    """The jobs to enqueue now; the others are held by a scope (called by enqueuing)."""
    if _replaying.get():
        return jobs
    for scope in list(_scopes):
        rest = scope.hold(jobs, bulk)
        if rest is not None:
            return rest
    return jobs


def replay(batches: Iterable[tuple[Sequence[Job], bool]]) -> None:
    """Enqueue held jobs after their commit, in order: each ``(jobs, bulk)`` batch through
    ``perform_all_later`` when bulk, else one job at a time. Every batch is tried, then the
    first error raised."""
    from jobframe.job.enqueuing import perform_all_later

    first: Exception | None = None
    token = _replaying.set(True)
    try:
        for jobs, bulk in batches:
            try:
                if bulk:
                    perform_all_later(jobs)
                else:
                    jobs[0]._enqueue(retrying=False)
            except Exception as exc:
                _log.error("enqueue after commit failed for %d job(s): %s", len(jobs), exc)
                first = first or exc
    finally:
        _replaying.reset(token)
    if first is not None:
        raise first
