"""``jobframe queues|jobs|retry|discard|pause|resume``: inspect and manage a durable backend.

Every command reads through the adapter's `jobframe.inspection.Inspector`, as the dashboard does.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from jobframe import queue_adapters
from jobframe.errors import ConfigurationError
from jobframe.inspection import STATES, Inspector, JobInfo, State


def inspector() -> Inspector:
    """The configured adapter's inspector.

    Raises:
        ConfigurationError: the adapter keeps no inspectable store (inline, test).
    """
    adapter = queue_adapters.get()
    result = adapter.inspector()
    if result is None:
        raise ConfigurationError(
            f"the {adapter.name!r} adapter has nothing to inspect; configure a durable adapter "
            "(redis, sql) with `adapter` in [tool.jobframe] or JOBFRAME_ADAPTER."
        )
    return result


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in (header, *cells)) for i in range(len(header))]
    for row in (header, *cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def _queues(args: argparse.Namespace) -> int:
    infos = inspector().queues()
    _table(
        ("QUEUE", "SIZE", "LATENCY", "PAUSED"),
        [(q.name, q.size, f"{q.latency:.1f}s", "yes" if q.paused else "") for q in infos],
    )
    return 0


def _runs(info: JobInfo) -> int:
    """How many times the job has run: a dead job's error records every attempt, the failing one
    included; a waiting copy carries the runs before it (``executions``)."""
    attempts = (info.error or {}).get("attempts")
    if isinstance(attempts, int) and not isinstance(attempts, bool):
        return max(attempts, info.executions)
    return info.executions


def _jobs(args: argparse.Namespace) -> int:
    state: State = "dead" if args.failed else args.state
    infos = inspector().jobs(state, queue=args.queue, offset=args.offset, limit=args.limit)
    if args.json:
        print(json.dumps([{**vars(i), "raw": None} for i in infos], default=str, indent=2))
        return 0
    rows = []
    for info in infos:
        error = (info.error or {}).get("message", "") if info.error else ""
        when = info.scheduled_at if state == "scheduled" else info.enqueued_at
        rows.append(
            (
                info.id,
                info.job_class or "?",
                info.queue,
                _runs(info),
                when.isoformat(timespec="seconds") if when else "",
                error[:60],
            )
        )
    _table(("ID", "CLASS", "QUEUE", "RUNS", "TIME", "ERROR"), rows)
    return 0


def _bulk(action: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        if not args.ids and not args.all:
            raise ConfigurationError(f"name the dead job ids to {action}, or pass --all")
        count = getattr(inspector(), action)(ids=args.ids or None, all=args.all)
        print(f"{action}: {count} job(s)")
        return 0

    return run


def _pause(args: argparse.Namespace) -> int:
    getattr(inspector(), args.command)(args.queue)
    print(f"{args.queue}: {args.command}d")
    return 0


def add_queues_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(func=_queues)


def add_jobs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", choices=STATES, default="ready")
    parser.add_argument("--failed", action="store_true", help="the dead set (same as --state dead)")
    parser.add_argument("--queue")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_jobs)


def _add_bulk(parser: argparse.ArgumentParser, action: str) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID")
    parser.add_argument("--all", action="store_true", help=f"{action} every dead job")
    parser.set_defaults(func=_bulk(action))


def add_retry_arguments(parser: argparse.ArgumentParser) -> None:
    _add_bulk(parser, "retry")


def add_discard_arguments(parser: argparse.ArgumentParser) -> None:
    _add_bulk(parser, "discard")


def add_pause_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue")
    parser.set_defaults(func=_pause)
