"""The monitoring dashboard (install ``jobframe[dashboard]``).

``create_app()`` returns an ASGI app reading through the configured adapter's inspector; mount it
under a prefix in an existing Starlette/FastAPI app, wrap it for WSGI hosts, or run it alone with
``jobframe dashboard``. It refuses every request until authentication is configured.
"""

from jobframe.dashboard.app import create_app
from jobframe.dashboard.security import Auth

__all__ = ["Auth", "create_app"]
