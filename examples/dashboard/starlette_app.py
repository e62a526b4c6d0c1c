"""The jobframe dashboard under ``/jobs`` of a Starlette app (FastAPI: ``app.mount("/jobs", ...)``).

Run it (any durable adapter; the token is what the browser or ``Authorization: Bearer`` sends)::

    export JOBFRAME_ADAPTER=redis JOBFRAME_URL=redis://127.0.0.1:6379/0
    export JOBFRAME_DASHBOARD_TOKEN=$(python -c "import secrets; print(secrets.token_urlsafe(32))")
    uvicorn starlette_app:app

then open http://127.0.0.1:8000/jobs/ with ``curl -H "Authorization: Bearer $TOKEN"``, or set the
``jobframe_token`` cookie (see docs/dashboard.md).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from jobframe.dashboard import create_app


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Your application. The jobs dashboard is at /jobs/")


# create_app() reads the configured adapter's inspector and the dashboard_* settings; pass
# create_app(auth=Auth(check=...)) to reuse your own login instead.
app = Starlette(routes=[Route("/", home), Mount("/jobs", app=create_app())])
