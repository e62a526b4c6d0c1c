"""The ``jobframe`` command (also ``python -m jobframe``).

Built-in sub-commands are listed in `COMMANDS` by the ``"module:function"`` that configures their
parser, and only the one being run is imported, so ``jobframe --version`` never imports a worker
or the dashboard's web stack. Plugins add sub-commands through the ``register_commands(cli)`` hook:

    @jobframe.hookimpl
    def register_commands(cli):
        parser = cli.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)

A command's ``func(args)`` returns the exit code. A `jobframe.JobframeError` it raises becomes
``jobframe: error: ...`` on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from jobframe import config
from jobframe.errors import JobframeError
from jobframe.redact import mask_secrets

# name -> ("module:function" that adds the sub-command's arguments and `set_defaults(func=...)`,
#          one-line help). Later commands (work, queues, jobs, retry, discard, dashboard, db) are
#          added here, each from its own module.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("jobframe.generators:add_arguments", "create code: `generate job NAME`"),
    "plugins": ("jobframe.cli:add_plugins_arguments", "list plugins, adapters and failures"),
    "work": ("jobframe.worker.command:add_arguments", "run worker processes"),
    "dashboard": ("jobframe.dashboard.command:add_arguments", "serve the monitoring dashboard"),
    "queues": ("jobframe.admin:add_queues_arguments", "list queues: size, latency, paused"),
    "jobs": ("jobframe.admin:add_jobs_arguments", "list jobs by state; `jobs show|cancel ID`"),
    "batches": ("jobframe.reporting:add_batches_arguments", "list batches; `batches show ID`"),
    "retry": ("jobframe.admin:add_retry_arguments", "put dead jobs back on their queues"),
    "discard": ("jobframe.admin:add_discard_arguments", "delete dead jobs"),
    "pause": ("jobframe.admin:add_pause_arguments", "stop workers taking a queue's jobs"),
    "resume": ("jobframe.admin:add_pause_arguments", "let workers take a paused queue's jobs"),
    "doctor": ("jobframe.doctor:add_arguments", "check the configured backend for problems"),
    "scheduler": (
        "jobframe.recurrence.command:add_scheduler_arguments",
        "run only the recurring-task scheduler (no worker)",
    ),
    "recurring": (
        "jobframe.recurrence.command:add_recurring_arguments",
        "recurring tasks: `recurring list`, `recurring run NAME`",
    ),
}


def version() -> str:
    """The installed jobframe distribution's version."""
    try:
        return importlib.metadata.version("jobframe")
    except importlib.metadata.PackageNotFoundError:  # running from a bare source tree
        return "unknown"


class CommandRegistry:
    """What the ``register_commands(cli)`` hook receives: a way to add ``jobframe`` sub-commands."""

    def __init__(self, subcommands: Any, taken: set[str]) -> None:
        self._subcommands, self._taken = subcommands, taken

    def add_parser(self, name: str, *, help: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A new sub-command ``jobframe NAME``; call ``set_defaults(func=...)`` on the parser.

        Raises:
            ValueError: the name is already a command (the plugin is then reported as failed).
        """
        if name in self._taken:
            raise ValueError(f"the jobframe command {name!r} already exists")
        self._taken.add(name)
        kwargs.setdefault("description", help)
        parser: argparse.ArgumentParser = self._subcommands.add_parser(name, help=help, **kwargs)
        parser.set_defaults(_parser=parser)
        return parser


def build_parser(argv: Sequence[str] = (), prog: str = "jobframe") -> argparse.ArgumentParser:
    """The ``jobframe`` parser, with the sub-command named in ``argv`` configured.

    Built-in sub-commands other than the one ``argv`` names are only listed, not imported.
    ``prog`` is how usage lines name the command (``manage.py jobframe`` under Django).
    """
    parser = argparse.ArgumentParser(
        prog=prog, description="Active Job for Python: background jobs on any backend."
    )
    parser.add_argument("--version", action="version", version=f"jobframe {version()}")
    parser.set_defaults(_parser=parser)
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (target, help_text) in COMMANDS.items():
        sub = subcommands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_parser=sub)
        if name == chosen:
            _resolve(target)(sub)
    from jobframe import plugins

    plugins.call_isolated("register_commands", cli=CommandRegistry(subcommands, set(COMMANDS)))
    return parser


def _resolve(target: str) -> Callable[[argparse.ArgumentParser], None]:
    module, _, attr = target.partition(":")
    configure: Callable[[argparse.ArgumentParser], None] = getattr(
        importlib.import_module(module), attr
    )
    return configure


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "jobframe",
    launcher: Sequence[str] | None = None,
) -> int:
    """Run the ``jobframe`` command; return its exit code.

    Parameters:
        argv: the arguments after the program name; ``sys.argv[1:]`` when None.
        prog: how usage lines and help name the command.
        launcher: the command line that runs this command in a new process, for the children of
            ``work --processes N`` (``python -m jobframe`` when None).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        if args_list[:1] == ["plugins"]:
            # `jobframe plugins` prints the failures in its table: no warnings on top.
            from jobframe.plugins import JobframePluginWarning

            warnings.simplefilter("ignore", JobframePluginWarning)
        try:
            parser = build_parser(args_list, prog)
            args, extra = parser.parse_known_args(args_list)
            args._argv = args_list  # what a child process of this command is given
            args._launcher = tuple(launcher) if launcher else (sys.executable, "-m", "jobframe")
            if extra and isinstance(getattr(args, "imports", None), list):
                # `jobframe work app.jobs --queues '*' app.mailers`: modules after the options
                # too (argparse's nargs="*" positional would take only the first run of them).
                if any(word.startswith("-") for word in extra):
                    args._parser.error(f"unrecognized arguments: {' '.join(extra)}")
                args.imports.extend(extra)
            elif extra:
                args._parser.error(f"unrecognized arguments: {' '.join(extra)}")
            func: Callable[[argparse.Namespace], int | None] | None = getattr(args, "func", None)
            if func is None:
                args._parser.print_help(sys.stderr)
                return 2
            return int(func(args) or 0)
        except SystemExit as exc:  # argparse: --help, --version, usage errors
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except JobframeError as exc:
            print(f"jobframe: error: {_masked(exc)}", file=sys.stderr)
            return 1
        except Exception as exc:  # a backend that cannot be reached, a driver error...
            if os.environ.get("JOBFRAME_DEBUG"):
                raise
            print(
                f"jobframe: error: {type(exc).__module__}.{type(exc).__qualname__}: "
                f"{_masked(exc)}\n"
                "(set JOBFRAME_DEBUG=1 to see the traceback)",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            return 130


def _masked(exc: BaseException) -> str:
    """The error's text with every URL's credentials masked, and the configured URL's password
    wherever a driver may have quoted it."""
    try:
        url = config.settings().adapter_options.get("url")
    except Exception:  # the settings themselves are what failed
        url = os.environ.get("JOBFRAME_URL")
    return mask_secrets(str(exc), url if isinstance(url, str) else None)


def add_plugins_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe plugins``."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(func=_run_plugins)


def _run_plugins(args: argparse.Namespace) -> int:
    from jobframe import plugins

    adapters, loaded, failures = plugins.adapters(), plugins.loaded(), plugins.failures()
    if args.json:
        report = {
            "plugins": [dataclasses.asdict(p) for p in loaded],
            "adapters": [
                {"name": a.name, "factory": a.target, "plugin": a.plugin} for a in adapters
            ],
            "failures": [{**dataclasses.asdict(f), "error": f.reason} for f in failures],
        }
        print(json.dumps(report, indent=2))
        return 0
    _table(
        "Plugins",
        ("NAME", "DISTRIBUTION", "VERSION", "HOOKS"),
        [(p.name, p.distribution or "(code)", p.version or "", ", ".join(p.hooks)) for p in loaded],
    )
    _table(
        "Adapters",
        ("NAME", "FACTORY", "PLUGIN"),
        [(a.name, a.target, a.plugin) for a in adapters],
    )
    _table(
        "Failed plugins",
        ("ENTRY POINT", "DISTRIBUTION", "VERSION", "ERROR"),
        [
            (
                f.entry_point,
                f.distribution or "(code)",
                f.version or "",
                f"{f.hook} raised {f.reason}" if f.hook else f.reason,
            )
            for f in failures
        ],
    )
    return 0


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print(f"{title}:")
    if not rows:
        print("  (none)\n")
        return
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print()
