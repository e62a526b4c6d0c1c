"""The dashboard's pages and actions, on any backend's `jobframe.backend.Inspector`.

Every page is a plain function run in Starlette's thread pool: inspectors block (Redis, SQL), and
on the event loop one slow call would stall every other route of the application mounting it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from jobframe.backend import STATES, HistoryKind, Inspector, JobInfo, State
from jobframe.backend.adapter import QueueAdapter
from jobframe.config import is_origin
from jobframe.dashboard import flow, recurring
from jobframe.dashboard.classes import ClassPages
from jobframe.dashboard.headers import SecurityHeaders
from jobframe.dashboard.params import page_number, wants_json
from jobframe.dashboard.rendering import HERE, path_for, templates
from jobframe.dashboard.security import Auth, csrf_ok, csrf_token, refusal, secured
from jobframe.dashboard.tracking import Tracking, TrackingPages
from jobframe.errors import ConfigurationError
from jobframe.recurrence import scheduling_adapter

PAGE_SIZE = 25
QUEUE_ACTIONS = ("pause", "resume", "clear")

Page = Callable[[Request, FormData | None], Response]


def _state(request: Request) -> State:
    state = request.path_params["state"]
    for known in STATES:
        if state == known:
            return known
    raise HTTPException(404, f"No such state: the states are {', '.join(STATES)}.")


class Dashboard:
    """Routes bound to one inspector. Every page and action goes through `secured`.

    The Recurring page reads the configured adapter (``jobframe.scheduling_adapter()``): the
    one every ``jobframe work`` schedules the tasks on, and `jobframe.recurrence.run_now`
    enqueues through.
    """

    def __init__(
        self,
        inspector: Inspector,
        auth: Auth,
        trusted_origins: Iterable[str],
        adapter: QueueAdapter | None = None,
    ) -> None:
        self.inspector = inspector
        self.tracking = TrackingPages(inspector, Tracking(adapter), self.render)
        self.auth = auth
        self.trusted_origins = tuple(trusted_origins)
        for origin in self.trusted_origins:
            if not is_origin(origin):
                raise ConfigurationError(
                    f"trusted origin {origin!r} is not an origin: write scheme://host[:port] "
                    "with no path, as browsers send it (e.g. https://ops.example.com)."
                )
        self.templates = templates()
        self.guard = secured(auth)
        page = self._endpoint
        self.routes: list[BaseRoute] = [
            Route("/", page(self.overview), name="overview"),
            Route("/queues", page(self.queues), name="queues"),
            Route("/queues/{action}", page(self.queue_action), methods=["POST"], name="queue"),
            # the queue in the path: kept for scripts written before the form field; it cannot
            # carry a name with "/" (the form's `queue` field can carry any name)
            Route(
                "/queues/{name}/{action}",
                page(self.queue_action),
                methods=["POST"],
                name="queue_action",
            ),
            Route("/jobs/{state}", page(self.jobs), name="jobs"),
            Route("/jobs/{state}/bulk", page(self.bulk), methods=["POST"], name="bulk"),
            Route("/job/{id}", page(self.tracking.job), name="job"),
            Route("/job/{id}/{action}", page(self.job_action), methods=["POST"], name="job_action"),
            Route("/workers", page(self.workers), name="workers"),
            Route("/recurring", page(self.recurring), name="recurring"),
            Route(
                "/recurring/{name}/run",
                page(self.recurring_run),
                methods=["POST"],
                name="recurring_run",
            ),
            Route("/api/summary", page(self.summary), name="summary"),
            *self.tracking.routes(page),
            *ClassPages(inspector, self.render).routes(page),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ]

    def _endpoint(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """``page`` as a secured endpoint: the form read (and CSRF-checked) on the loop, the
        inspector calls and the rendering in a worker thread."""

        async def endpoint(request: Request) -> Response:
            form = await self._form(request) if request.method == "POST" else None
            try:
                return await run_in_threadpool(page, request, form)
            except NotImplementedError as exc:
                # What a backend declares it cannot do (pause on RabbitMQ): its reason, not a 500.
                raise HTTPException(501, str(exc)) from exc

        return self.guard(endpoint)

    async def _form(self, request: Request) -> FormData:
        form = await request.form()
        if self.auth.bearer(request):
            return form  # a script holding the token; no browser sends this header by itself
        token = form.get("csrf")
        if not csrf_ok(request, token if isinstance(token, str) else None, self.trusted_origins):
            raise HTTPException(403, "CSRF check failed: reload the page and try again.")
        return form

    def render(self, request: Request, name: str, **context: Any) -> Response:
        context.update(
            csrf=csrf_token(request), states=flow.SHOWN_STATES, nav=name.removesuffix(".html")
        )
        # What the backend cannot tell is shown as not recorded, never as a 0 or an empty table.
        context.update(
            sees_workers=self.inspector.sees_workers,
            counts_outcomes=self.inspector.counts_outcomes,
            can_cancel=flow.can_cancel(self.inspector),
            cancellable=flow.CANCELLABLE,
            keeps_batches=self.tracking.tracking.batches,
        )
        return self.templates.TemplateResponse(request, name, context)

    def _done(self, request: Request, target: str, **result: Any) -> Response:
        """An action's answer: JSON for a client that asks for it, else back to a page."""
        if wants_json(request):
            return JSONResponse({"ok": True, **result})
        return RedirectResponse(target, status_code=303)

    def _counts(self) -> dict[str, int]:
        return {state: self.inspector.count(state) for state in STATES}

    def overview(self, request: Request, form: FormData | None) -> Response:
        queues = sorted(self.inspector.queues(), key=lambda q: -q.size)
        charts = []
        # Quiet minutes are not stored: fill them in, so every bar is one minute (or hour).
        now = int(time.time() // 60)
        kinds: tuple[HistoryKind, ...] = ("processed", "failed")
        for kind in kinds if self.inspector.counts_outcomes else ():
            series = self.inspector.history(kind, now - 1439)
            hour = [series.get(m, 0) for m in range(now - 59, now + 1)]
            charts += [
                (f"{kind} per minute, last hour", kind, hour),
                (f"{kind} per hour, last day", kind, flow.hourly(series, now)),
            ]
        totals, flow_charts = flow.day_charts(self.inspector, now)
        charts += flow_charts
        return self.render(
            request,
            "overview.html",
            counts=self._counts(),
            queues=queues[:10],
            stats=self.inspector.stats(),
            workers=len(self.inspector.workers()) if self.inspector.sees_workers else None,
            charts=charts,
            flow_totals=totals,
        )

    def summary(self, request: Request, form: FormData | None) -> Response:
        return JSONResponse({"counts": self._counts(), "stats": self.inspector.stats()})

    def queues(self, request: Request, form: FormData | None) -> Response:
        return self.render(request, "queues.html", queues=self.inspector.queues())

    def queue_action(self, request: Request, form: FormData | None) -> Response:
        action = request.path_params["action"]
        name = request.path_params.get("name")
        if name is None:
            field = form.get("queue") if form is not None else None
            if not isinstance(field, str) or not field:
                raise HTTPException(400, f"POST /queues/{action} needs a form field queue=NAME.")
            name = field
        if action not in QUEUE_ACTIONS:
            raise HTTPException(404, f"No such queue action: use {', '.join(QUEUE_ACTIONS)}.")
        if action == "clear":
            cleared = self.inspector.clear(name)
            return self._done(request, path_for(request, "queues"), queue=name, cleared=cleared)
        if action == "pause":
            self.inspector.pause(name)
        else:
            self.inspector.resume(name)
        return self._done(request, path_for(request, "queues"), queue=name, action=action)

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
                return self._done(request, back, action=action, count=0)
        count = 0
        if everything or ids:
            count = self._act(state, action, None if everything else ids, everything)
        return self._done(request, back, action=action, count=count)

    def job_action(self, request: Request, form: FormData | None) -> Response:
        assert form is not None  # a POST route
        id, action = request.path_params["id"], request.path_params["action"]
        state = str(form.get("state") or "dead")
        if action == "cancel":
            return self._cancel_one(request, id)
        count = self._act(state, action, [id])
        target = path_for(request, "jobs", state=state if state in STATES else "dead")
        return self._done(request, target, action=action, count=count)

    def _cancel_one(self, request: Request, id: str) -> Response:
        """A waiting job is gone: back to its list; a running one stays on its page."""
        info, result = flow.cancel_one(self.inspector, id)
        back = (path_for(request, "job", id=id) if result == "running"
                else path_for(request, "jobs", state=info.state))  # fmt: skip
        return self._done(request, back, action="cancel", result=result,
                          count=int(result != "unknown"))  # fmt: skip

    def workers(self, request: Request, form: FormData | None) -> Response:
        workers = self.inspector.workers()
        return self.render(request, "workers.html", workers=workers, now=time.time())

    def recurring(self, request: Request, form: FormData | None) -> Response:
        adapter = scheduling_adapter()
        # What "run now" redirected here with; only ever shown escaped, as any job data.
        ran = {k: request.query_params.get(k) or "" for k in ("ran", "job", "job_id")}
        return self.render(
            request, "recurring.html", page=recurring.page(adapter), gone=recurring.GONE, ran=ran
        )

    def recurring_run(self, request: Request, form: FormData | None) -> Response:
        name = request.path_params["name"]
        job = recurring.run(scheduling_adapter(), name)
        shown = {"ran": name, "job": job.provider_job_id or "", "job_id": job.job_id}
        target = f"{path_for(request, 'recurring')}?{urlencode(shown)}"
        return self._done(request, target, task=name, job_id=job.job_id,
                          provider_job_id=job.provider_job_id)  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's plain-text error page, or ``{"error": ...}`` for a client that wants JSON."""
    assert isinstance(exc, HTTPException)
    return refusal(request, exc.detail, exc.status_code, exc.headers)


class DashboardApp(Starlette):
    """Starlette with `SecurityHeaders` outside even its error middleware, so a 500 has them."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(
    inspector: Inspector | None = None,
    auth: Auth | None = None,
    trusted_origins: Iterable[str] | None = None,
    adapter: QueueAdapter | None = None,
) -> Starlette:
    """The dashboard as an ASGI app; mount it under any prefix of an existing app.

    Parameters:
        inspector: defaults to the configured adapter's (``jobframe.admin.inspector()``).
        auth: defaults to the ``dashboard_*`` settings; without any, every request gets 401.
        trusted_origins: origins (``https://ops.example.com``) a form may be posted from besides
            the request's own ``Host``: the public origin when a reverse proxy rewrites ``Host``.
            Defaults to the ``dashboard_trusted_origins`` setting.
        adapter: whose results store the job pages and the Batches pages read (status,
            progress, results, batches); with no ``inspector`` either, the configured adapter.
    """
    if inspector is None:
        from jobframe.admin import configured_adapter
        from jobframe.admin import inspector as configured

        inspector = configured()
        adapter = adapter or configured_adapter()
    if auth is None or trusted_origins is None:
        from jobframe import config

        settings = config.settings()
        if auth is None:
            auth = Auth(
                settings.dashboard_token, settings.dashboard_username, settings.dashboard_password
            )
        if trusted_origins is None:
            trusted_origins = settings.dashboard_trusted_origins
    dashboard = Dashboard(inspector, auth, trusted_origins, adapter)
    return DashboardApp(routes=dashboard.routes, exception_handlers={HTTPException: _http_error})
