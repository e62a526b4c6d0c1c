"""Django's database connections in a worker, kept as Django keeps them for requests.

Django closes a thread's connections that are obsolete (older than ``CONN_MAX_AGE``) or broken
at the start and end of every request; a worker thread has no requests, so without this a
connection would live as long as the thread, past ``CONN_MAX_AGE``, and a database restart
would leave it failing every job until the worker restarts. A worker middleware does the same
around each job the worker performs (only in workers: ``perform_now`` inside a request or an
``atomic()`` block is left alone).
"""

from __future__ import annotations

import asyncio
from typing import Any

from jobframe.backend.worker import Claim, Outcome
from jobframe.worker import middleware

__all__ = ["ConnectionsMiddleware", "install", "uninstall"]


def _close_old() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from django.db import close_old_connections

        close_old_connections()
    # else: an async job's event loop, where Django refuses sync database calls; its ORM
    # calls run in threads of their own (sync_to_async)


class ConnectionsMiddleware(middleware.Middleware):
    """``close_old_connections()`` before and after each job, in the thread that performs it."""

    def started(self, claim: Claim, job: Any) -> None:
        _close_old()

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        _close_old()
        return outcome


def install() -> None:
    """Give every worker of this process the middleware (called by the app config)."""
    middleware.install(ConnectionsMiddleware)


def uninstall() -> None:
    """Stop adding the middleware to new workers."""
    middleware.uninstall(ConnectionsMiddleware)
