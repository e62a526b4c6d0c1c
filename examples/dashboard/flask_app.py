"""The jobframe dashboard under ``/jobs`` of a Flask (or any WSGI) app, through ``a2wsgi``.

The dashboard is an ASGI app; ``a2wsgi.ASGIMiddleware`` makes it a WSGI app, and Werkzeug's
``DispatcherMiddleware`` sends ``/jobs/...`` to it (setting ``SCRIPT_NAME``, which becomes the
dashboard's ``root_path``: its links and forms keep the prefix). Run it::

    pip install 'jobframe[dashboard]' flask a2wsgi
    export JOBFRAME_ADAPTER=sql JOBFRAME_URL=postgresql+psycopg://app@db/app
    export JOBFRAME_DASHBOARD_TOKEN=...   # at least 16 characters
    flask --app flask_app run
"""

from __future__ import annotations

from a2wsgi import ASGIMiddleware
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from jobframe.dashboard import create_app

app = Flask(__name__)


@app.get("/")
def home() -> str:
    return "Your application. The jobs dashboard is at /jobs/"


app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, {"/jobs": ASGIMiddleware(create_app())}
)
