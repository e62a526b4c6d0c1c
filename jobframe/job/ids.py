"""Job ids: random version-4 UUIDs as text, made ahead in batches.

``os.urandom`` lets go of the GIL around its system call, so with one call per job every
producer thread of a threaded web server handed the GIL on once more per job (16 threads: a
third of the enqueue path's system calls were getrandom, and each hand-off costs futex calls and
a context switch). One call makes `_ID_POOL` ids; a forked child drops what its parent made.
"""

from __future__ import annotations

import os

#: Job ids made ahead, from one `os.urandom` call per `_ID_POOL` of them.
_ids: list[str] = []
_ID_POOL = 128


def _refill() -> None:
    """Fill `_ids` (called when it ran dry; two threads doing it at once both add random ids)."""
    h = os.urandom(16 * _ID_POOL).hex()
    _ids.extend(
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{'89ab'[int(h[i + 16], 16) & 3]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * _ID_POOL, 32)
    )


def _forget_ids() -> None:
    """In a forked child: never the ids its parent will hand out."""
    _ids.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_ids)


def uuid4() -> str:
    """``str(uuid.uuid4())`` without building a UUID object (a third of the cost), from the
    random bytes of one system call per `_ID_POOL` ids (list.pop is atomic: no id goes twice)."""
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _refill()


__all__ = ["uuid4"]
