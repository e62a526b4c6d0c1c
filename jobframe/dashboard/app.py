"""The dashboard's pages and actions, on any backend's `jobframe.backend.Inspector`.

Every page is a plain function run in Starlette's thread pool: inspectors block (Redis, SQL), and
on the event loop one slow call would stall every other route of the application mounting it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from jobframe.backend import STATES, HistoryKind, Inspector
from jobframe.backend.adapter import QueueAdapter
from jobframe.config import is_origin
from jobframe.dashboard import flow, recurring
from jobframe.dashboard.classes import ClassPages
from jobframe.dashboard.headers import SecurityHeaders
from jobframe.dashboard.job_lists import JobListPages
from jobframe.dashboard.params import done
from jobframe.dashboard.rendering import HERE, path_for, templates
from jobframe.dashboard.security import Auth, csrf_ok, csrf_token, refusal, secured
from jobframe.dashboard.tracking import Tracking, TrackingPages
from jobframe.errors import ConfigurationError
from jobframe.recurrence import scheduling_adapter

QUEUE_ACTIONS = ("pause", "resume", "clear")

Page = Callable[[Request, FormData | None], Response]


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
            *JobListPages(inspector, self.render).routes(page),
            Route("/job/{id}", page(self.tracking.job), name="job"),
            Route("/workers", page(self.workers), name="workers"),
            Route("/recurring", page(self.recurring), name="recurring"),
            Route(
                "/recurring/{name}/run",
                page(self.recurring_run),
                methods=["POST"],
                name="recurring_run",
            ),
            Route("/api/summary", page(self.summary), name="summary"),
            Route("/metrics", page(self.metrics), name="metrics"),
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

    def metrics(self, request: Request, form: FormData | None) -> Response:
        """Prometheus's ``/metrics`` (`jobframe.contrib.prometheus.dashboard`), authenticated as
        every page is; 404 without ``jobframe[prometheus]`` installed."""
        try:
            from jobframe.contrib.prometheus.dashboard import metrics_response
        except ImportError:
            raise HTTPException(404, "/metrics needs: pip install 'jobframe[prometheus]'") from None
        return metrics_response(self.inspector, request)

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
            return done(request, path_for(request, "queues"), queue=name, cleared=cleared)
        if action == "pause":
            self.inspector.pause(name)
        else:
            self.inspector.resume(name)
        return done(request, path_for(request, "queues"), queue=name, action=action)

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
        return done(request, target, task=name, job_id=job.job_id,
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
