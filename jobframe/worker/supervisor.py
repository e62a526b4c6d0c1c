"""``jobframe work --processes N``: start N single-process workers and keep them running.

Signals are forwarded to every child; a child that dies on its own is restarted (with a pause
that grows if it keeps dying). The supervisor exits when all children have exited after a signal.

A signal sent to the whole process group (Ctrl-C in a terminal, systemd's default
``KillMode=control-group``, a container runtime) reaches each child twice: directly and forwarded.
Children run with ``JOBFRAME_SUPERVISED=1`` and take a repeat within
`jobframe.worker.signals.DUPLICATE_WINDOW` seconds as that same signal, not as the "second signal"
that releases running jobs at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

log = logging.getLogger("jobframe.worker")


#: how a child runs the ``jobframe`` command, unless the caller names another (``manage.py``'s)
DEFAULT_LAUNCHER = (sys.executable, "-m", "jobframe")


def _child_argv(
    argv: list[str], recurring: bool = False, launcher: Sequence[str] = DEFAULT_LAUNCHER
) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--processes", "-p"):
            skip = True
            continue
        if arg.startswith("--processes="):
            continue
        out.append(arg)
    scheduler = [] if recurring else ["--no-recurring"]
    return [*launcher, *out, "--processes", "1", *scheduler]


def supervise(
    count: int,
    argv: list[str],
    recurring: bool = False,
    env: Mapping[str, str] | None = None,
    on_exit: Callable[[int], None] | None = None,
    launcher: Sequence[str] = DEFAULT_LAUNCHER,
) -> int:
    """Run ``count`` children of ``jobframe work ARGV`` until they stop after a signal.

    With ``recurring``, the first child (and whichever replaces it) runs the recurring
    scheduler and the others get ``--no-recurring``: one scheduler per command is enough,
    since the backend enqueues each tick once anyway, and the supervisor stays free of
    backend connections and application code at run time.

    ``env`` is added to the children's environment; ``on_exit(pid)`` is called for each child
    that exited (the metrics forget its gauges: `jobframe.contrib.prometheus`). ``launcher`` is
    the command line that runs ``jobframe`` in a child (``python -m django jobframe`` under
    Django: `jobframe.contrib.django`), ``argv`` the arguments after it.
    """
    commands = [_child_argv(argv, recurring and index == 0, launcher) for index in range(count)]
    child_env = {**os.environ, **(env or {}), "JOBFRAME_SUPERVISED": "1"}
    children: list[subprocess.Popen[bytes]] = [
        subprocess.Popen(command, env=child_env) for command in commands
    ]
    stopping = {"signals": 0}
    restarts = [0] * count
    exited: set[int] = set()

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping["signals"] += 1
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    log.info("supervising %d worker processes: %s", count, [c.pid for c in children])
    while True:
        alive = False
        for index, child in enumerate(children):
            code = child.poll()
            if code is None:
                alive = True
                continue
            if on_exit is not None and child.pid not in exited:
                exited.add(child.pid)
                on_exit(child.pid)
            if not stopping["signals"]:
                restarts[index] += 1
                pause = min(0.5 * restarts[index], 10.0)
                log.warning("worker %d exited with %s; restarting in %.1fs", child.pid, code, pause)
                time.sleep(pause)
                children[index] = subprocess.Popen(commands[index], env=child_env)
                alive = True
        if not alive:
            return 0
        with contextlib.suppress(subprocess.TimeoutExpired):
            children[0].wait(timeout=0.5)
