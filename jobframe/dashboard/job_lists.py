"""The job lists (``/jobs/{state}``, a page of jobs in one state, filtered by queue, class, id or
text) and the actions on them: retry, discard, run now and cancel, of a job or of every job the
filters match."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jobframe.backend import STATES, Inspector, JobInfo, State
from jobframe.dashboard import flow
from jobframe.dashboard.params import done, page_number
from jobframe.dashboard.rendering import path_for

PAGE_SIZE = 25


def _state(request: Request) -> State:
    state = request.path_params["state"]
    for known in STATES:
        if state == known:
            return known
    raise HTTPException(404, f"No such state: the states are {', '.join(STATES)}.")


class JobListPages:
    """The ``/jobs`` routes and the job actions, bound to an inspector and the dashboard's
    ``render``."""

    def __init__(self, inspector: Inspector, render: Callable[..., Response]) -> None:
        self.inspector = inspector
        self.render = render

    def routes(self, page: Callable[[Any], Any]) -> list[BaseRoute]:
        return [
            Route("/jobs/{state}", page(self.jobs), name="jobs"),
            Route("/jobs/{state}/bulk", page(self.bulk), methods=["POST"], name="bulk"),
            Route("/job/{id}/{action}", page(self.job_action), methods=["POST"], name="job_action"),
        ]

    def jobs(self, request: Request, form: FormData | None) -> Response:
        state = _state(request)
        page = page_number(request)
        queue = request.query_params.get("queue") or None
        job_class = request.query_params.get("class") or None
        search = request.query_params.get("id") or None
        can_search = self.inspector.supports_search
        text = (request.query_params.get("q") or None) if can_search else None
        if search:
            found = self.inspector.job(search)
            rows = [found] if found is not None and found.state == state else []
            if job_class:
                rows = [r for r in rows if job_class in (r.job_class or "")]
            total = len(rows)
        elif job_class and not can_search:
            # This inspector cannot filter by class: scan every match so that the total and the
            # pages count the filtered jobs, not a filter of one page of all jobs.
            matches = [
                r for r in self._every(state, queue, text) if job_class in (r.job_class or "")
            ]
            total = len(matches)
            rows = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        else:
            offset = (page - 1) * PAGE_SIZE
            if text or job_class:  # filtered by the backend (supports_search)
                rows = self.inspector.jobs(
                    state, queue, offset, PAGE_SIZE, search=text, job_class=job_class
                )
                total = self.inspector.count(state, queue, search=text, job_class=job_class)
            else:
                rows = self.inspector.jobs(state, queue=queue, offset=offset, limit=PAGE_SIZE)
                total = self.inspector.count(state, queue)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        params = {k: v for k, v in (("queue", queue), ("class", job_class), ("q", text)) if v}
        return self.render(
            request,
            "jobs.html",
            state=state,
            rows=rows,
            page=page,
            pages=pages,
            total=total,
            queue=queue or "",
            job_class=job_class or "",
            text=text or "",
            can_search=can_search,
            query=urlencode(params),
            queues=[q.name for q in self.inspector.queues()],
        )

    def _every(
        self, state: State, queue: str | None, text: str | None = None, batch: int = 500
    ) -> list[JobInfo]:
        found: list[JobInfo] = []
        while True:
            if text:
                chunk = self.inspector.jobs(state, queue, len(found), batch, search=text)
            else:
                chunk = self.inspector.jobs(state, queue=queue, offset=len(found), limit=batch)
            found.extend(chunk)
            if len(chunk) < batch:
                return found

    def _act(self, state: str, action: object, ids: list[str] | None, all: bool = False) -> int:
        """Retry/discard dead jobs; run now/discard scheduled ones. Returns how many."""
        if (state, action) == ("dead", "retry"):
            return self.inspector.retry(ids=ids, all=all)
        if (state, action) == ("scheduled", "run_now"):
            return self.inspector.run_now(ids=ids, all=all)
        if action == "discard" and state == "dead":
            return self.inspector.discard(ids=ids, all=all)
        if action == "discard" and state == "scheduled":
            return self.inspector.discard(ids=ids, all=all, state="scheduled")
        if action == "cancel" and state in flow.CANCELLABLE:
            chosen = [r.id for r in self._every(state, None)] if all else ids or []
            return sum(flow.cancel(self.inspector, state, chosen).values())
        raise HTTPException(400, "dead jobs: retry or discard; scheduled jobs: run_now, discard "
                            "or cancel; ready, blocked and running jobs: cancel")  # fmt: skip

    def bulk(self, request: Request, form: FormData | None) -> Response:
        assert form is not None  # a POST route
        state = _state(request)
        back = path_for(request, "jobs", state=state)
        ids = [str(i) for i in form.getlist("id")]
        everything = form.get("all") == "1"
        queue, job_class, text = (str(form.get(k) or "") or None for k in ("queue", "class", "q"))
        action = form.get("action")
        if everything and (queue or job_class or text):
            # "all" means all that match the filters the page shows, not the whole state.
            text = text if self.inspector.supports_search else None
            matching = self._every(state, queue, text)
            ids = [r.id for r in matching if not job_class or job_class in (r.job_class or "")]
            everything = False
            if not ids:
                return done(request, back, action=action, count=0)
        count = 0
        if everything or ids:
            count = self._act(state, action, None if everything else ids, everything)
        return done(request, back, action=action, count=count)

    def job_action(self, request: Request, form: FormData | None) -> Response:
        assert form is not None  # a POST route
        id, action = request.path_params["id"], request.path_params["action"]
        state = str(form.get("state") or "dead")
        if action == "cancel":
            return self._cancel_one(request, id)
        count = self._act(state, action, [id])
        target = path_for(request, "jobs", state=state if state in STATES else "dead")
        return done(request, target, action=action, count=count)

    def _cancel_one(self, request: Request, id: str) -> Response:
        """A waiting job is gone: back to its list; a running one stays on its page."""
        info, result = flow.cancel_one(self.inspector, id)
        back = (path_for(request, "job", id=id) if result == "running"
                else path_for(request, "jobs", state=info.state))  # fmt: skip
        return done(request, back, action="cancel", result=result,
                          count=int(result != "unknown"))  # fmt: skip


__all__ = ["PAGE_SIZE", "JobListPages"]
