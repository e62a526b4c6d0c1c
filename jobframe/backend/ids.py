"""Unique ids for enqueued jobs, cheap enough for the enqueue hot path.

A random node per process followed by a counter: unique across processes and hosts without the
cost of ``uuid4`` on every enqueue. A retry is a new enqueue and gets a new id, so its stored
payload never overwrites the one a worker is running.
"""

from __future__ import annotations

import itertools
import os

_node = os.urandom(6).hex()
_node_pid = os.getpid()
_counter = itertools.count()


def new_id() -> str:
    """A new provider id (hex, 13-28 characters)."""
    global _node, _node_pid, _counter
    if os.getpid() != _node_pid:  # forked: never share the parent's ids
        _node, _node_pid, _counter = os.urandom(6).hex(), os.getpid(), itertools.count()
    return f"{_node}{next(_counter):x}"
