"""This process's id, read without a system call: ``process_id.PID``.

`os.getpid` is a system call on every call (glibc stopped caching it), and the INFO line per job
asked it twice (the record's ``process``, the log handler's fork check). ``PID`` is set again in
the child after `os.fork` (``os.register_at_fork``), which `multiprocessing` and the supervisor's
workers go through.
"""

from __future__ import annotations

import os

#: the id of this process (read it as ``process_id.PID``: it changes in a forked child)
PID = os.getpid()


def _forked() -> None:
    global PID
    PID = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
