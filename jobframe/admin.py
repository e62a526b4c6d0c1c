"""``jobframe queues|jobs|retry|discard|pause|resume``: inspect and manage a durable backend.

Every command reads through the adapter's `jobframe.backend.Inspector`, as the dashboard does.
A job is named by the backend's id (``job.provider_job_id``, the ID column) or by the ``job_id``
the application holds (`find`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import STATES, Inspector, JobInfo, State
from jobframe.errors import ConfigurationError
from jobframe.payload_summary import preview

#: the CLASS shown for a payload that names no job class (not JSON, not a job object...)
UNDECODABLE = "(undecodable)"


def configured_adapter() -> QueueAdapter:
    """The configured adapter (for the dashboard, which imports no adapter module itself)."""
    return queue_adapters.get()


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


#: rows read per page when `find` looks a job up by its ``job_id``
_PAGE = 500


def find(inspector: Inspector, id: str, states: Sequence[State] = STATES) -> JobInfo | None:
    """The job in one of ``states`` whose backend id or ``job_id`` is ``id``, or None.

    The backend id is one lookup. A ``job_id`` (the uuid the application got from
    ``perform_later``) is not indexed by every backend, so it is looked for page by page, narrowed
    by a text search where the inspector supports one: fine for a command, not for a hot path.
    """
    info = inspector.job(id)
    if info is not None and info.state in states:
        return info
    search = id if inspector.supports_search else None
    for state in states:
        offset = 0
        while True:
            page = inspector.jobs(state, offset=offset, limit=_PAGE, search=search)
            for candidate in page:
                if candidate.job_id == id:
                    return candidate
            if len(page) < _PAGE:
                break
            offset += _PAGE
    return None


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


def _raw(info: JobInfo) -> str | None:
    return preview(info.raw) if info.job_class is None and info.raw is not None else None


def _jobs(args: argparse.Namespace) -> int:
    state: State = "dead" if args.failed else args.state
    infos = inspector().jobs(state, queue=args.queue, offset=args.offset, limit=args.limit)
    if args.json:
        # The stored bytes only where they are all there is to see (an undecodable payload).
        listed = [{**vars(i), "raw": _raw(i)} for i in infos]
        print(json.dumps(listed, default=str, indent=2))
        return 0
    rows = []
    for info in infos:
        error = str((info.error or {}).get("message", "")) if info.error else ""
        if info.job_class is None and not error:
            error = preview(info.raw, 60)
        when = {"scheduled": info.scheduled_at, "dead": info.failed_at}.get(state)
        when = when or info.enqueued_at
        rows.append(
            (
                info.id,
                info.job_class or UNDECODABLE,
                info.queue,
                _runs(info),
                when.isoformat(timespec="seconds") if when else "",
                error[:60],
            )
        )
    _table(("ID", "CLASS", "QUEUE", "RUNS", "TIME", "ERROR"), rows)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    """``jobframe jobs cancel ID``: `jobframe.cancel` the job, named by its ``job_id`` or by the
    backend's id (resolved to its ``job_id``, which is what `Inspector.cancel` takes)."""
    if not args.id:
        args._parser.error("name the job: `jobframe jobs cancel ID` (its job_id or its ID)")
    from jobframe.cancellation import cancel

    job_id = args.id
    info = inspector().job(args.id)
    if info is not None and info.job_id:
        job_id = info.job_id
    result = cancel(job_id)
    print(f"{args.id}: {result}")
    if result == "running":
        print(
            f"jobs cancel: {args.id} is running; its worker raises jobframe.Cancelled at the "
            "job's next checkpoint (self.check_cancelled()) and settles it as cancelled",
            file=sys.stderr,
        )
    if result == "unknown":
        print(
            f"jobs cancel: no waiting or running job with job_id or ID {args.id!r} (finished, "
            "dead or never enqueued); `jobframe jobs show ID` tells which",
            file=sys.stderr,
        )
        return 1
    return 0


def _bulk(action: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        if not args.ids and not args.all:
            raise ConfigurationError(f"name the dead job ids to {action}, or pass --all")
        found = inspector()
        act = found.retry if action == "retry" else found.discard
        if args.all:
            print(f"{action}: {act(all=True)} job(s)")
            return 0
        known: list[str] = []
        unknown: list[str] = []
        for id in dict.fromkeys(args.ids):
            info = find(found, id, ("dead",))
            if info is None:
                unknown.append(id)
            else:
                known.append(info.id)
        count = act(ids=known) if known else 0
        print(f"{action}: {count} job(s)")
        if unknown:
            print(
                f"{action}: no dead job with id {', '.join(unknown)} (neither an ID nor a job_id); "
                "`jobframe jobs --failed` lists the dead jobs",
                file=sys.stderr,
            )
            return 1
        return 0

    return run


def _pause(args: argparse.Namespace) -> int:
    found = inspector()
    known = [q.name for q in found.queues()]
    if args.command == "pause" and args.queue not in known:
        # Allowed on purpose: a queue may be paused before its first job is enqueued. But a typo
        # pauses nothing real, so say which queues exist.
        print(
            f"pause: warning: jobframe knows no queue named {args.queue!r} (known: "
            f"{', '.join(known) or 'none'}); paused anyway, in case it is a new queue. "
            f"`jobframe resume {args.queue}` undoes it",
            file=sys.stderr,
        )
    if args.command == "pause":
        found.pause(args.queue)
    else:
        found.resume(args.queue)
    print(f"{args.queue}: {args.command}d")
    return 0


def add_queues_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(func=_queues)


def add_jobs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("show", "cancel"),
        help="`show ID`: one job in detail; `cancel ID`: stop a waiting or running job",
    )
    parser.add_argument("id", nargs="?", metavar="ID", help="the job's ID or its job_id")
    parser.add_argument("--state", choices=STATES, default="ready")
    parser.add_argument("--failed", action="store_true", help="the dead set (same as --state dead)")
    parser.add_argument("--queue")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_jobs_or_show)


def _jobs_or_show(args: argparse.Namespace) -> int:
    if args.action == "cancel":
        return _cancel(args)
    if args.action == "show":
        from jobframe.reporting import run_show

        return run_show(args)
    return _jobs(args)


def _add_bulk(parser: argparse.ArgumentParser, action: str) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="the dead jobs' IDs or job_ids")
    parser.add_argument("--all", action="store_true", help=f"{action} every dead job")
    parser.set_defaults(func=_bulk(action))


def add_retry_arguments(parser: argparse.ArgumentParser) -> None:
    _add_bulk(parser, "retry")


def add_discard_arguments(parser: argparse.ArgumentParser) -> None:
    _add_bulk(parser, "discard")


def add_pause_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue")
    parser.set_defaults(func=_pause)
