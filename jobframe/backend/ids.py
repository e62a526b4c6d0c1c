"""Unique ids for enqueued jobs, cheap enough for the enqueue hot path.

A random node per process followed by a counter: unique across processes and hosts without the
cost of ``uuid4`` on every enqueue. A retry is a new enqueue and gets a new id, so its stored
payload never overwrites the one a worker is running.
"""

from __future__ import annotations

import itertools
import os

_node = os.urandom(6).hex()
_counter = itertools.count()


def _reseed() -> None:
    """In a forked child: a node of its own, never the parent's ids (see `jobframe.backend.forks`:
    checking the pid on every id was a system call per enqueue)."""
    global _node, _counter
    _node, _counter = os.urandom(6).hex(), itertools.count()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """A new provider id (hex, 13-28 characters)."""
    return f"{_node}{next(_counter):x}"
