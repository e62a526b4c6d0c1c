"""The dashboard's pages and actions, on any backend's `jobframe.inspection.Inspector`."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from jobframe.dashboard.security import Auth, csrf_ok, csrf_token, secured
from jobframe.inspection import STATES, Inspector, JobInfo, State
from jobframe.payload_summary import preview

HERE = Path(__file__).parent
PAGE_SIZE = 25


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _compact(value: Any) -> str:
    # not Jinja's `tojson`: that one is for <script> contexts and shows "<" as "\u003c"
    return json.dumps(value, ensure_ascii=False, default=str)


def _path(request: Request, route: str, /, **params: Any) -> str:
    """A route's path, with the mount's or the proxy's prefix (``root_path``) but no scheme or
    host: links and redirects then survive a proxy that rewrites ``Host`` or terminates TLS."""
    return str(request.url_for(route, **params).path)


@jinja2.pass_context
def _path_for(context: Any, route: str, /, **params: Any) -> str:
    """Templates' ``url_for``: `_path` rather than Starlette's absolute URL."""
    return _path(context["request"], route, **params)


class Dashboard:
    """Routes bound to one inspector. Every page and action goes through `secured`."""

    def __init__(self, inspector: Inspector, auth: Auth) -> None:
        self.inspector = inspector
        # autoescape everywhere: every value shown (arguments, errors, tracebacks) is job data
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
        )
        self.templates = Jinja2Templates(env=env)
        self.templates.env.filters["pretty"] = _pretty
        self.templates.env.filters["compact"] = _compact
        self.templates.env.filters["preview"] = preview  # the stored bytes of an undecodable job
        self.templates.env.globals["url_for"] = _path_for
        guard = secured(auth)
        self.routes = [
            Route("/", guard(self.overview), name="overview"),
            Route("/queues", guard(self.queues), name="queues"),
            Route(
                "/queues/{name}/{action}",
                guard(self.queue_action),
                methods=["POST"],
                name="queue_action",
            ),
            Route("/jobs/{state}", guard(self.jobs), name="jobs"),
            Route("/jobs/{state}/bulk", guard(self.bulk), methods=["POST"], name="bulk"),
            Route("/job/{id}", guard(self.job), name="job"),
            Route(
                "/job/{id}/{action}", guard(self.job_action), methods=["POST"], name="job_action"
            ),
            Route("/workers", guard(self.workers), name="workers"),
            Route("/api/summary", guard(self.summary), name="summary"),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ]

    def render(self, request: Request, name: str, **context: Any) -> Response:
        context.update(csrf=csrf_token(request), states=STATES, nav=name.removesuffix(".html"))
        return self.templates.TemplateResponse(request, name, context)

    def _counts(self) -> dict[str, int]:
        return {state: self.inspector.count(state) for state in STATES}

    async def overview(self, request: Request) -> Response:
        queues = sorted(self.inspector.queues(), key=lambda q: -q.size)
        history = getattr(self.inspector, "history", None)
        charts = []
        if history is not None:
            # Quiet minutes are not stored: fill them in, so every bar is one minute (or hour).
            now = int(time.time() // 60)
            for kind in ("processed", "failed"):
                series = history(kind, now - 1439)
                hour = [series.get(m, 0) for m in range(now - 59, now + 1)]
                day = [
                    sum(series.get(m, 0) for m in range(h, h + 60))
                    for h in range(now - 1439, now + 1, 60)
                ]
                charts += [
                    (f"{kind} per minute, last hour", kind, hour),
                    (f"{kind} per hour, last day", kind, day),
                ]
        return self.render(
            request,
            "overview.html",
            counts=self._counts(),
            queues=queues[:10],
            stats=self.inspector.stats(),
            workers=len(self.inspector.workers()),
            charts=charts,
        )

    async def summary(self, request: Request) -> Response:
        return JSONResponse({"counts": self._counts(), "stats": self.inspector.stats()})

    async def queues(self, request: Request) -> Response:
        return self.render(request, "queues.html", queues=self.inspector.queues())

    async def _form(self, request: Request) -> FormData:
        form = await request.form()
        token = form.get("csrf")
        if not csrf_ok(request, token if isinstance(token, str) else None):
            raise HTTPException(403, "CSRF check failed: reload the page and try again.")
        return form

    async def queue_action(self, request: Request) -> Response:
        await self._form(request)
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ("pause", "resume", "clear"):
            raise HTTPException(404)
        getattr(self.inspector, action)(name)
        return RedirectResponse(_path(request, "queues"), status_code=303)

    async def jobs(self, request: Request) -> Response:
        state = request.path_params["state"]
        if state not in STATES:
            raise HTTPException(404)
        queue = request.query_params.get("queue") or None
        job_class = request.query_params.get("class") or None
        search = request.query_params.get("id") or None
        can_search = bool(getattr(self.inspector, "supports_search", False))
        text = (request.query_params.get("q") or None) if can_search else None
        page = max(1, int(request.query_params.get("page", "1") or 1))
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

    def _act(self, state: str, action: object, ids: list[str] | None, all: bool = False) -> None:
        """Retry/discard dead jobs; run now/discard scheduled ones."""
        if (state, action) in (("dead", "retry"), ("scheduled", "run_now")):
            getattr(self.inspector, str(action))(ids=ids, all=all)
        elif action == "discard" and state == "dead":
            self.inspector.discard(ids=ids, all=all)
        elif action == "discard" and state == "scheduled":
            self.inspector.discard(ids=ids, all=all, state="scheduled")
        else:
            raise HTTPException(
                400, "dead jobs: retry or discard; scheduled jobs: run_now or discard"
            )

    async def bulk(self, request: Request) -> Response:
        form = await self._form(request)
        state = request.path_params["state"]
        if state not in STATES:
            raise HTTPException(404)
        ids = [str(i) for i in form.getlist("id")]
        everything = form.get("all") == "1"
        queue, job_class, text = (str(form.get(k) or "") or None for k in ("queue", "class", "q"))
        if everything and (queue or job_class or text):
            # "all" means all that match the filters the page shows, not the whole state.
            text = text if getattr(self.inspector, "supports_search", False) else None
            matching = self._every(state, queue, text)
            ids = [r.id for r in matching if not job_class or job_class in (r.job_class or "")]
            everything = False
            if not ids:
                return RedirectResponse(_path(request, "jobs", state=state), status_code=303)
        if everything or ids:
            self._act(state, form.get("action"), None if everything else ids, everything)
        return RedirectResponse(_path(request, "jobs", state=state), status_code=303)

    async def job(self, request: Request) -> Response:
        info: JobInfo | None = self.inspector.job(request.path_params["id"])
        if info is None:
            raise HTTPException(404, "No such job (finished jobs may have been pruned).")
        raw = info.raw.decode("utf-8", "replace") if info.raw else ""
        return self.render(request, "job.html", job=info, raw=raw)

    async def job_action(self, request: Request) -> Response:
        form = await self._form(request)
        id, action = request.path_params["id"], request.path_params["action"]
        state = str(form.get("state") or "dead")
        self._act(state, action, [id])
        return RedirectResponse(_path(request, "jobs", state=state), status_code=303)

    async def workers(self, request: Request) -> Response:
        workers = self.inspector.workers()
        return self.render(request, "workers.html", workers=workers, now=time.time())


def create_app(inspector: Inspector | None = None, auth: Auth | None = None) -> Starlette:
    """The dashboard as an ASGI app; mount it under any prefix of an existing app.

    Parameters:
        inspector: defaults to the configured adapter's (``jobframe.admin.inspector()``).
        auth: defaults to the ``dashboard_*`` settings; without any, every request gets 401.
    """
    if inspector is None:
        from jobframe.admin import inspector as configured

        inspector = configured()
    if auth is None:
        from jobframe import config

        settings = config.settings()
        auth = Auth(
            settings.dashboard_token, settings.dashboard_username, settings.dashboard_password
        )
    return Starlette(routes=Dashboard(inspector, auth).routes)
