"""``jobframe doctor``: check the configured backend and say what is wrong and how to fix it.

Each adapter knows its own failure modes (Redis that forgets jobs on a restart, SQL tables that
were never created), so the checks live in the adapters, behind `QueueAdapter.check`; this module
only runs them and prints the answer. ``jobframe work`` runs the same checks at start and logs
what they find as one WARNING line, so a worker on an unsafe server says so where operators look.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter

log = logging.getLogger("jobframe.doctor")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a backend, as `QueueAdapter.check` reports it.

    Parameters:
        what: what is wrong, naming the setting or object (never a password or token).
        fix: what the operator does about it.
    """

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


def check(adapter: QueueAdapter) -> list[Problem]:
    """The problems ``adapter`` reports; a check that crashes is reported as a problem too,
    so a broken check never hides the others or stops a worker from starting."""
    try:
        return list(adapter.check())
    except Exception as exc:  # a check must never take `jobframe work` down
        return [
            Problem(
                f"the {adapter.name!r} adapter's check failed ({type(exc).__name__}: {exc})",
                "report this to the adapter's authors; the backend itself may still be fine",
            )
        ]


def warn_at_start(adapter: QueueAdapter) -> list[Problem]:
    """Log the problems ``adapter`` reports as one WARNING line (``jobframe work`` calls this)."""
    problems = check(adapter)
    if problems:
        log.warning(
            "the %s backend has %d problem(s): %s (run `jobframe doctor` for details)",
            adapter.name,
            len(problems),
            "; ".join(str(p) for p in problems),
        )
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe doctor``."""
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print what the configured backend's checks found; exit 1 if anything is wrong."""
    adapter = queue_adapters.get()
    problems = check(adapter)
    if not problems:
        print(f"{adapter.name}: no problems found")
        return 0
    print(f"{adapter.name}: {len(problems)} problem(s)")
    for problem in problems:
        print(f"  - {problem.what}\n    fix: {problem.fix}")
    return 1
