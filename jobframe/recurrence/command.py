"""``jobframe scheduler`` (the recurring scheduler alone) and ``jobframe recurring list|run``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import datetime
from types import FrameType

from jobframe import queue_adapters
from jobframe.admin import _table
from jobframe.errors import ConfigurationError
from jobframe.recurrence.overview import TaskStatus, overview
from jobframe.recurrence.scheduler import Scheduler, run_now
from jobframe.recurrence.startup import check_tasks, unsupported_message
from jobframe.worker.command import add_log_arguments, import_jobs
from jobframe.worker.logs import setup_logging

#: the exit code of ``jobframe scheduler`` on an adapter that cannot run recurring tasks, and of
#: ``jobframe recurring run`` given a name no task has (a usage error, as argparse's)
USAGE = 2


def _add_imports(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "imports",
        nargs="*",
        metavar="IMPORT",
        help="modules defining your jobs and @jobframe.recurring tasks (added to `imports`)",
    )


def add_scheduler_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe scheduler``."""
    _add_imports(parser)
    add_log_arguments(parser)
    parser.set_defaults(func=run_scheduler)


def run_scheduler(args: argparse.Namespace) -> int:
    """Enqueue the recurring tasks' ticks until SIGTERM or SIGINT; no jobs are worked here."""
    setup_logging(args.log_level, args.log_format)
    import_jobs(args.imports)
    adapter = queue_adapters.get()
    found = check_tasks(adapter)
    if not found:
        raise ConfigurationError(
            "no recurring tasks to schedule: declare some with @jobframe.recurring in a module "
            "given as IMPORT (or in the `imports` setting), or in [tool.jobframe.recurring.NAME]"
        )
    if not type(adapter).capabilities.recurring:
        print(f"jobframe: error: {unsupported_message(adapter, found)}", file=sys.stderr)
        return USAGE
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    Scheduler(adapter, found).run(stop)
    logging.getLogger("jobframe.recurring").info("Scheduler stopped")
    return 0


def add_recurring_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe recurring list|run``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    about = "the tasks: schedule, next run, last run and its job's state"
    listing = actions.add_parser("list", help=about, description=about)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_imports(listing)
    listing.set_defaults(func=_list, _parser=listing)
    about = "enqueue a task's job now, out of schedule; print its job_id"
    running = actions.add_parser("run", help=about, description=about)
    running.add_argument("name", metavar="NAME", help="the task's name")
    _add_imports(running)
    running.set_defaults(func=_run, _parser=running)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def _list(args: argparse.Namespace) -> int:
    import_jobs(args.imports)
    adapter = queue_adapters.get()
    tasks = check_tasks(adapter)
    if not type(adapter).capabilities.recurring:  # as `jobframe scheduler` says it
        print(f"jobframe: error: {unsupported_message(adapter, tasks)}", file=sys.stderr)
        return USAGE
    statuses = overview(adapter, tasks)
    if args.json:
        print(json.dumps([_row(status) for status in statuses], indent=2))
        return 0
    rows = []
    for status in statuses:
        task, last = status.task, status.last_run
        rows.append(
            (
                task.name,
                f"{task.schedule.describe()} ({task.schedule.text})",
                task.timezone,
                _when(status.next_run),
                _when(last.tick if last else None),
                status.last_state or "",
            )
        )
    _table(("NAME", "SCHEDULE", "TIMEZONE", "NEXT RUN", "LAST RUN", "STATE"), rows)
    return 0


def _row(status: TaskStatus) -> dict[str, object]:
    task, last = status.task, status.last_run
    return {
        "name": task.name,
        "job_class": task.job_class.job_class_name(),
        "schedule": task.schedule.text,
        "description": task.schedule.describe(),
        "timezone": task.timezone,
        "queue": task.queue,
        "priority": task.priority,
        "next_run": _when(status.next_run),
        "last_run": _when(last.tick) if last else None,
        "last_job_id": last.job_id if last else None,
        "last_state": status.last_state,
    }


def _run(args: argparse.Namespace) -> int:
    import_jobs(args.imports)
    found = {task.name: task for task in check_tasks(queue_adapters.get())}
    task = found.get(args.name)
    if task is None:
        known = ", ".join(found) or "none (declare some with @jobframe.recurring or in config)"
        print(
            f"recurring run: no recurring task named {args.name!r}; known: {known}",
            file=sys.stderr,
        )
        return USAGE
    print(run_now(task).job_id)
    return 0
