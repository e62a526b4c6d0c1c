"""``manage.py jobframe work|dashboard|recurring|jobs|...``: the ``jobframe`` command, with Django
set up (``settings.JOBFRAME`` read, every app's ``jobs`` module imported).

Every argument after ``jobframe`` goes to the ``jobframe`` command unchanged (``--help`` too),
but Django's own ``--settings`` and ``--pythonpath``, which ``manage.py`` has applied already.
The children of ``work --processes N`` run ``python -m django jobframe ...`` with the same
settings module and path, so each sets Django up as this process did.
"""

from __future__ import annotations

import os
import sys
from argparse import REMAINDER, ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobframe import cli

#: Django's options that ``manage.py`` reads itself, with the number of values each takes.
_DJANGO_OPTIONS = {"--settings": 1, "--pythonpath": 1}


def jobframe_argv(argv: list[str]) -> list[str]:
    """``argv`` (what follows ``manage.py jobframe``) without Django's own options."""
    out: list[str] = []
    skip = 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        name = arg.split("=", 1)[0]
        if name in _DJANGO_OPTIONS:
            skip = 0 if "=" in arg else _DJANGO_OPTIONS[name]
            continue
        out.append(arg)
    return out


def launcher() -> list[str]:
    """How a child process runs ``manage.py jobframe``: ``python -m django jobframe`` with this
    process's settings module and the folder ``manage.py`` (or the current one) is in.

    Raises:
        CommandError: Django was configured in code (no ``DJANGO_SETTINGS_MODULE``), which a
            new process cannot repeat.
    """
    module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        raise CommandError(
            "jobframe work --processes N starts new processes, which set Django up from "
            "DJANGO_SETTINGS_MODULE, but it is not set (settings.configure() in code). Set "
            "DJANGO_SETTINGS_MODULE, or run one process per `manage.py jobframe work`."
        )
    folder = sys.path[0] or os.getcwd()
    return [
        sys.executable,
        "-m",
        "django",
        "jobframe",
        f"--settings={module}",
        f"--pythonpath={os.path.abspath(folder)}",
    ]


def _wants_children(argv: list[str]) -> bool:
    """Whether ``argv`` asks for more than one process (``--processes N``, ``-p N``)."""
    for index, arg in enumerate(argv):
        value = None
        if arg in ("--processes", "-p") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--processes="):
            value = arg.partition("=")[2]
        if value is not None and value.isdigit() and int(value) > 1:
            return True
    return False


class Command(BaseCommand):
    help = (
        "Run the jobframe command with Django set up: `manage.py jobframe work`, `dashboard`, "
        "`recurring list`, `jobs`, `queues`... (`manage.py jobframe --help` lists them)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "arguments", nargs=REMAINDER, help="the jobframe command and its options"
        )

    def run_from_argv(self, argv: list[str]) -> None:
        # Not Django's parser: `--queues`, `--help`... belong to the jobframe command.
        prog = os.path.basename(argv[0])
        if prog == "__main__.py":  # as Django names itself
            prog = "python -m django"
        raise SystemExit(self._run(jobframe_argv(argv[2:]), prog=prog))

    def handle(self, *args: Any, **options: Any) -> None:
        """``call_command("jobframe", "queues")``: a failure raises `CommandError`."""
        code = self._run(jobframe_argv([*args, *options.get("arguments", [])]), prog="manage.py")
        if code:
            raise CommandError(f"jobframe exited with status {code}", returncode=code)

    def _run(self, argv: list[str], prog: str) -> int:
        children = launcher() if _wants_children(argv) else None
        return cli.main(argv, prog=f"{prog} jobframe", launcher=children)
