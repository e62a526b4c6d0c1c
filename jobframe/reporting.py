"""``jobframe jobs show ID`` and ``jobframe batches [show ID]``: what the backend knows about one
job (its live copy, through the `jobframe.backend.Inspector`, and its status, progress, result,
steps and chain, through `jobframe.job_report`) or one batch (`jobframe.batch_status`).

A finished job has no backend copy any more (no backend id, no arguments): only its record, kept
for ``history_ttl`` (or its ``result_ttl``), answers by ``job_id``. A waiting or running job has
both; the command shows both.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobframe import queue_adapters
from jobframe.backend.inspector import STATES, Inspector, JobInfo, State

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.results import BatchInfo, ResultStore
    from jobframe.tracking import JobReport

#: Characters of a result (as JSON) the text output shows before folding it: ``--json`` shows all.
FOLD_AT = 2_000

#: Where a job of each status may still have a live copy in the backend (`find` looks only
#: there); a finished job has none.
LIVE_STATES: dict[str, tuple[State, ...]] = {
    "scheduled": ("scheduled",),
    "ready": ("ready", "blocked"),
    "running": ("running",),
    "retrying": ("scheduled", "ready", "blocked"),
    "failed": ("dead",),
    "dead": ("dead",),
    "unknown": STATES,
}


def fold(text: str, limit: int = FOLD_AT) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was and how to see all of it."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (folded: {len(text)} characters; --json shows all)"


def when(value: Any) -> str | None:
    """A time (epoch seconds or a datetime) as ISO 8601 UTC to the second; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return str(value)


def progress_text(progress: Any) -> str | None:
    """A report's progress as ``40% rendered 40 pages`` (None when the job reported none)."""
    if progress is None:
        return None
    fraction = getattr(progress, "fraction", None)
    message = getattr(progress, "message", None)
    if fraction is None and isinstance(progress, dict):
        fraction, message = progress.get("fraction"), progress.get("message")
    elif fraction is None and isinstance(progress, tuple | list) and progress:
        fraction, message = progress[0], progress[1] if len(progress) > 1 else None
    if fraction is None:
        return None
    shown = f"{float(fraction):.0%}"
    return f"{shown} {message}" if message else shown


def steps_text(steps: Any) -> str | None:
    """``download done, rows at cursor 420`` from a report's steps (None when it has none)."""
    if not isinstance(steps, dict):
        return None
    parts = [f"{name} done" for name in steps.get("completed") or ()]
    current = steps.get("current")
    if current is not None:
        parts.append(f"{current} at cursor {json.dumps(steps.get('cursor'), default=str)}")
    return ", ".join(parts) or None


def chain_text(chain: Any) -> str | None:
    """``link 2 of 3; previous ID; next ID`` from a report's chain (None outside a chain)."""
    if not isinstance(chain, dict):
        return None
    parts = []
    if chain.get("index") is not None and chain.get("length"):
        parts.append(f"link {int(chain['index']) + 1} of {chain['length']}")
    parts += [f"{key} {chain[key]}" for key in ("previous", "next") if chain.get(key)]
    return "; ".join(parts) or None


def dumps(value: Any) -> str:
    """``value`` as one line of JSON, anything JSON has no type for as its ``str``."""
    return json.dumps(value, default=str, ensure_ascii=False)


def report_of(adapter: QueueAdapter, job_id: str) -> JobReport | None:
    """`jobframe.job_report` on ``adapter``, or None when it keeps no results or knows nothing
    of ``job_id`` (never seen, or its record expired)."""
    if not adapter.capabilities.results:
        return None
    from jobframe import job_report

    report = job_report(job_id, adapter=adapter)
    return None if report.status == "unknown" else report


def lookup(
    adapter: QueueAdapter, inspector: Inspector | None, id: str
) -> tuple[JobInfo | None, JobReport | None]:
    """The live copy and the report of the job whose backend id or ``job_id`` is ``id``.

    The backend id is one lookup; a ``job_id`` is first asked of the results store (one
    lookup), whose status says where a live copy can be: a finished job is not looked for.
    """
    from jobframe.admin import find

    info = inspector.job(id) if inspector is not None else None
    job_id = info.job_id if info is not None and info.job_id else id
    report = report_of(adapter, job_id)
    if info is None and inspector is not None:
        status = report.status if report is not None else "unknown"
        states = LIVE_STATES.get(status, ())
        info = find(inspector, id, states) if states else None
    return info, report


def show_fields(info: JobInfo | None, report: JobReport | None) -> list[tuple[str, Any]]:
    """The ``NAME: value`` lines of ``jobs show`` (None values are left out)."""
    error = (report.error if report is not None else None) or (info.error if info else None)
    fields: list[tuple[str, Any]] = [
        ("JOB_ID", report.job_id if report else info.job_id if info else None),
        ("ID", info.id if info else None),
        ("STATUS", report.status if report else None),
        ("STATE", info.state if info else None),
        ("CLASS", (report.job_class if report else None) or (info.job_class if info else None)),
        ("QUEUE", (report.queue if report else None) or (info.queue if info else None)),
        ("PRIORITY", info.priority if info else None),
        ("ATTEMPTS", report.attempts if report else None),
        ("RUNS", _runs(info) if info and not report else None),
        ("ENQUEUED", when((report.enqueued_at if report else None) or (info and info.enqueued_at))),
        ("SCHEDULED", when(info.scheduled_at) if info else None),
        ("STARTED", when(report.started_at) if report else None),
        ("FINISHED", when(report.finished_at) if report else None),
        ("FAILED", when(info.failed_at) if info else None),
        ("WORKER", info.worker if info else None),
        ("PROGRESS", progress_text(report.progress) if report else None),
        ("STEPS", steps_text(report.steps) if report else None),
        ("BATCH", report.batch_id if report else None),
        ("CHAIN", chain_text(report.chain) if report else None),
        ("ARGUMENTS", dumps(info.arguments) if info else None),
        ("RESULT", fold(dumps(report.result)) if report and report.has_result else None),
        ("ERROR", f"{error.get('class', '')}: {error.get('message', '')}" if error else None),
    ]
    return [(name, value) for name, value in fields if value is not None and value != ""]


def show_json(info: JobInfo | None, report: JobReport | None) -> dict[str, Any]:
    """``jobs show --json``: the report's fields (``status``, ``progress``, ``result``...), and
    the live copy's (``id``, ``state``, ``arguments``...) when there is one."""
    shown: dict[str, Any] = {}
    if info is not None:
        shown.update(vars(info), raw=None)
    if report is not None:
        reported = dataclasses.asdict(report)
        if info is not None and not reported.get("error"):
            reported.pop("error", None)
        shown.update({k: v for k, v in reported.items() if v is not None or k not in shown})
    return shown


def _runs(info: JobInfo) -> int:
    from jobframe.admin import _runs as runs

    return runs(info)


def run_show(args: argparse.Namespace) -> int:
    """``jobframe jobs show ID [--json]``."""
    if not args.id:
        args._parser.error("name the job: `jobframe jobs show ID` (its ID or its job_id)")
    adapter = queue_adapters.get()
    inspector = adapter.inspector()
    if inspector is None and not adapter.capabilities.results:
        from jobframe.admin import inspector as required

        required()  # raises the error that names the fix
    info, report = lookup(adapter, inspector, args.id)
    if info is None and report is None:
        print(f"jobs show: no job with ID or job_id {args.id!r}", file=sys.stderr)
        if adapter.capabilities.results:
            print(
                "jobs show: a finished job is kept for history_ttl (1 day by default), or its "
                "result_ttl when it stores its result",
                file=sys.stderr,
            )
        return 1
    if args.json:
        print(json.dumps(show_json(info, report), default=str, indent=2, ensure_ascii=False))
        return 0
    for name, value in show_fields(info, report):
        print(f"{name + ':':<11}{value}")
    error = (report.error if report is not None else None) or (info.error if info else None)
    if error and error.get("traceback"):
        print(f"TRACEBACK:\n{error['traceback']}")
    return 0


# -- batches -----------------------------------------------------------------------------------


def results_with_batches(adapter: QueueAdapter | None = None) -> ResultStore:
    """The adapter's `ResultStore`, which must keep batches.

    Raises:
        UnsupportedError: the adapter has no batches (the message names those that do).
    """
    from jobframe.backend.capabilities import unsupported

    adapter = adapter or queue_adapters.get()
    store = adapter.results() if adapter.capabilities.batches else None
    if store is None:
        raise unsupported(adapter, "batches")
    return store


def batch_row(info: BatchInfo) -> tuple[str, ...]:
    """A batch as a row of ``jobframe batches``."""
    return (
        info.id,
        info.description or "",
        str(info.total),
        str(info.pending),
        str(info.succeeded),
        str(info.failed),
        str(info.dead),
        when(info.finished_at) or ("" if info.sealed else "(open)"),
    )


BATCH_HEADER = ("ID", "DESCRIPTION", "TOTAL", "PENDING", "SUCCEEDED", "FAILED", "DEAD", "FINISHED")


def batch_json(info: BatchInfo) -> dict[str, Any]:
    """A batch as ``--json`` prints it: every `BatchInfo` field, times as ISO 8601."""
    shown = dataclasses.asdict(info)
    shown.update(created_at=when(info.created_at), finished_at=when(info.finished_at))
    shown["fired"] = list(info.fired)
    return shown


def _run_batches(args: argparse.Namespace) -> int:
    store = results_with_batches()
    if args.action == "show":
        if not args.id:
            args._parser.error("name the batch: `jobframe batches show ID`")
        info = store.batch(args.id)
        if info is None:
            print(f"batches show: no batch {args.id!r} (unknown, or expired)", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(batch_json(info), indent=2, ensure_ascii=False))
            return 0
        _print_batch(info)
        return 0
    infos = store.batches(offset=args.offset, limit=args.limit)
    if args.json:
        print(json.dumps([batch_json(i) for i in infos], indent=2, ensure_ascii=False))
        return 0
    from jobframe.admin import _table

    _table(BATCH_HEADER, [batch_row(i) for i in infos])
    return 0


def _print_batch(info: BatchInfo) -> None:
    fields: Sequence[tuple[str, Any]] = [
        ("ID", info.id),
        ("DESCRIPTION", info.description),
        ("CREATED", when(info.created_at)),
        ("TOTAL", info.total),
        ("PENDING", info.pending),
        ("SUCCEEDED", info.succeeded),
        ("FAILED", info.failed),
        ("DEAD", info.dead),
        ("DISCARDED", info.discarded),
        ("CANCELLED", info.cancelled),
        ("SEALED", "yes" if info.sealed else "no (its with block is still open)"),
        ("FINISHED", when(info.finished_at)),
        ("FIRED", ", ".join(info.fired) or "none yet"),
    ]
    fields = [*fields, *((kind.upper(), job_id) for kind, job_id in info.callbacks.items())]
    for name, value in fields:
        if value is not None:
            print(f"{name + ':':<13}{value}")


def add_batches_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe batches [show ID]``."""
    parser.add_argument(
        "action", nargs="?", choices=("show",), help="`show ID`: one batch in detail"
    )
    parser.add_argument("id", nargs="?", metavar="ID", help="the batch's id (batch.id)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many batches")
    parser.add_argument("--limit", type=int, default=50, help="list at most this many")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run_batches)


__all__ = [
    "FOLD_AT",
    "add_batches_arguments",
    "batch_json",
    "batch_row",
    "chain_text",
    "fold",
    "lookup",
    "progress_text",
    "report_of",
    "results_with_batches",
    "run_show",
    "show_fields",
    "show_json",
    "steps_text",
    "when",
]
