"""What the dashboard shows from the backend's `jobframe.backend.ResultStore`: a job's report
(status, progress, result, steps and cursor, batch, chain links) on its page, the JSON its page
polls for live progress, the Batches pages, and the "status" lookup by ``job_id``.

A finished job has no backend copy, so no backend id: its page is found by its ``job_id``
(``/job/{job_id}`` answers both). The store is the adapter's (``adapter.results()``); a backend
without results shows the pages saying so, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from jobframe.backend import STATES, Inspector
from jobframe.dashboard.params import page_number
from jobframe.dashboard.rendering import path_for, pretty
from jobframe.payload_summary import summarize
from jobframe.reporting import LIVE_STATES, chain_text, progress_text, steps_text, when

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.results import BatchInfo, ResultStore
    from jobframe.tracking import JobReport

#: Characters of a result's JSON the job page shows open; above this it is folded in a <details>.
RESULT_OPEN_AT = 2_000
#: Batches per page of the Batches list.
BATCH_PAGE = 25
#: The statuses after which a job's page stops polling (its record is final).
SETTLED = frozenset({"succeeded", "failed", "discarded", "dead", "cancelled", "unknown"})


@dataclass(frozen=True)
class ReportView:
    """A `JobReport` as the job page shows it (texts made once, in Python, not in the template)."""

    report: JobReport
    progress: str | None
    fraction: float | None
    steps: str | None
    chain: str | None
    started: str | None
    finished: str | None
    enqueued: str | None


def fraction_of(progress: Any) -> float | None:
    """A report's progress fraction (0 to 1), or None."""
    if progress is None:
        return None
    value = getattr(progress, "fraction", None)
    if value is None and isinstance(progress, dict):
        value = progress.get("fraction")
    elif value is None and isinstance(progress, tuple | list) and progress:
        value = progress[0]
    return None if value is None else float(value)


class Tracking:
    """The dashboard's reads of one adapter's results store (None: the backend keeps none)."""

    def __init__(self, adapter: QueueAdapter | None) -> None:
        self.adapter = adapter
        caps = adapter.capabilities if adapter is not None else None
        self.results = bool(caps and caps.results)
        self.batches = bool(caps and caps.batches)

    def report(self, job_id: str | None) -> ReportView | None:
        """The job's report, or None (no results kept, no ``job_id``, or nothing known)."""
        if not job_id or not self.results or self.adapter is None:
            return None
        from jobframe.reporting import report_of

        report = report_of(self.adapter, job_id)
        if report is None:
            return None
        return ReportView(
            report,
            progress=progress_text(report.progress),
            fraction=fraction_of(report.progress),
            steps=steps_text(report.steps),
            chain=chain_text(report.chain),
            started=when(report.started_at),
            finished=when(report.finished_at),
            enqueued=when(report.enqueued_at),
        )

    def live(self, job_id: str) -> dict[str, Any]:
        """What the job page polls: status, progress and steps, and whether to stop polling."""
        view = self.report(job_id)
        if view is None:
            return {"status": "unknown", "settled": True}
        status = view.report.status
        return {
            "status": status,
            "progress": view.progress or "",
            "fraction": view.fraction,
            "steps": view.steps or "",
            "settled": status in SETTLED,
        }

    def store(self) -> ResultStore:
        """The store, which keeps batches.

        Raises:
            HTTPException: 501, the backend keeps no batches.
        """
        store = self.adapter.results() if self.adapter is not None and self.batches else None
        if store is None:
            raise HTTPException(501, "This backend keeps no batches (capabilities.batches).")
        return store

    def batch_list(self, page: int) -> tuple[list[BatchInfo], bool]:
        """One page of batches, newest first, and whether a next page has any."""
        found = self.store().batches(offset=(page - 1) * BATCH_PAGE, limit=BATCH_PAGE + 1)
        return found[:BATCH_PAGE], len(found) > BATCH_PAGE

    def batch(self, batch_id: str) -> BatchInfo:
        """One batch.

        Raises:
            HTTPException: 404, unknown or expired; 501, the backend keeps no batches.
        """
        info = self.store().batch(batch_id)
        if info is None:
            raise HTTPException(404, "No such batch (a finished batch expires with its jobs).")
        return info


Render = Callable[..., Response]


class TrackingPages:
    """The job page (by backend id or ``job_id``), its live JSON, the Batches pages and the
    status lookup, rendered with the dashboard's ``render``."""

    def __init__(self, inspector: Inspector, tracking: Tracking, render: Render) -> None:
        self.inspector, self.tracking, self.render = inspector, tracking, render

    def routes(self, page: Callable[[Any], Any]) -> list[BaseRoute]:
        """The routes besides ``/job/{id}`` (which the dashboard lists with its own)."""
        return [
            Route("/status", page(self.status), name="status"),
            Route("/batches", page(self.batches), name="batches"),
            Route("/batch/{id}", page(self.batch), name="batch"),
            Route("/api/job/{id}", page(self.live), name="job_live"),
        ]

    def job(self, request: Request, form: FormData | None) -> Response:
        """``/job/{id}``: ``id`` is the backend id of a live job or the ``job_id`` of any job
        the backend still knows (a finished one has only its report)."""
        id = request.path_params["id"]
        info = self.inspector.job(id)
        view = self.tracking.report(info.job_id if info is not None else id)
        if info is None and view is not None:
            states = [s for s in LIVE_STATES.get(view.report.status, ()) if s in STATES]
            if view.report.status != "unknown" and states:
                from jobframe.admin import find

                info = find(self.inspector, id, states)
        if info is None and view is None:
            raise HTTPException(
                404,
                "No such job: no live job has this backend id, and no job this job_id is kept "
                "(a finished job is kept for history_ttl, 1 day by default).",
            )
        raw = info.raw.decode("utf-8", "replace") if info is not None and info.raw else ""
        task = summarize(info.raw).recurring_task if info is not None else None
        result = pretty(view.report.result) if view and view.report.has_result else None
        return self.render(
            request,
            "job.html",
            job=info,
            raw=raw,
            recurring_task=task,
            report=view,
            job_id=info.job_id if info is not None and info.job_id else id,
            result=result,
            settled=view is None or view.report.status in SETTLED,
            RESULT_OPEN_AT=RESULT_OPEN_AT,
            tracks=self.tracking.results,
        )

    def live(self, request: Request, form: FormData | None) -> Response:
        """``/api/job/{job_id}``: what the job page polls to show progress live."""
        return JSONResponse(self.tracking.live(request.path_params["id"]))

    def status(self, request: Request, form: FormData | None) -> Response:
        """``/status?job_id=...``: the job's page, found by the ``job_id`` the app holds."""
        job_id = (request.query_params.get("job_id") or "").strip()
        if not job_id:
            raise HTTPException(400, "Give the job's job_id: /status?job_id=...")
        return RedirectResponse(path_for(request, "job", id=job_id), status_code=303)

    def batches(self, request: Request, form: FormData | None) -> Response:
        """``/batches``: every batch the backend keeps, newest first."""
        if not self.tracking.batches:
            return self.render(request, "batches.html", rows=[], page=1, more=False, kept=False)
        page = page_number(request)
        rows, more = self.tracking.batch_list(page)
        return self.render(request, "batches.html", rows=rows, page=page, more=more, kept=True)

    def batch(self, request: Request, form: FormData | None) -> Response:
        """``/batch/{id}``: one batch's counts and its callbacks' jobs."""
        info = self.tracking.batch(request.path_params["id"])
        return self.render(request, "batch.html", batch=info, when=when)


__all__ = [
    "BATCH_PAGE",
    "RESULT_OPEN_AT",
    "SETTLED",
    "ReportView",
    "Tracking",
    "TrackingPages",
    "fraction_of",
]
