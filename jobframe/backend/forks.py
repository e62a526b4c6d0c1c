"""Telling a forked child from its parent without a system call on the hot path.

``os.getpid()`` is a system call every time (glibc stopped caching it): an enqueue on Redis made
three of them (the provider id, the producers' coalescer, the connection pool), each a kernel
entry and exit on a path that makes only two it cannot avoid (a send, a receive). State that a
child must not share with its parent (sockets, a round trip in flight, an id counter) saves
`generation()` when it is made and compares it on use: a counter in memory, bumped in the child
by ``os.register_at_fork``. It sees forks made through ``os.fork`` (``multiprocessing``,
gunicorn, Celery-style prefork servers), not a C library's own ``fork()``.
"""

from __future__ import annotations

import os

_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to detect
    os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """How many forks lie between this process and the one that imported jobframe: state made
    under another generation belongs to a parent process."""
    return _generation
