"""``jobframe dashboard [--host H] [--port P] [--root-path /PREFIX]``: serve the dashboard on its
own."""

from __future__ import annotations

import argparse

from jobframe.errors import ConfigurationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("imports", nargs="*", metavar="IMPORT", help="modules defining your jobs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument(
        "--root-path",
        default="",
        metavar="PREFIX",
        help="the path prefix a reverse proxy serves the dashboard under and strips (e.g. /jobs): "
        "its links and forms then carry it",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        raise ConfigurationError(
            "the dashboard needs its extra: pip install 'jobframe[dashboard]'"
        ) from exc
    from jobframe import config
    from jobframe.dashboard import create_app
    from jobframe.dashboard.security import Auth
    from jobframe.worker.command import import_jobs

    import_jobs(args.imports)
    settings = config.settings()
    auth = Auth(settings.dashboard_token, settings.dashboard_username, settings.dashboard_password)
    if not auth.configured:
        raise ConfigurationError(
            "the dashboard is closed until authentication is configured: set dashboard_token "
            "(or JOBFRAME_DASHBOARD_TOKEN), or dashboard_username and dashboard_password."
        )
    root_path = args.root_path.rstrip("/")
    if root_path and not root_path.startswith("/"):
        raise ConfigurationError(f"--root-path must start with '/', got {args.root_path!r}")
    app = create_app(auth=auth)
    print(f"jobframe dashboard: {_banner(args.host, args.port, root_path)}", flush=True)
    # uvicorn's access log: method, path, query and status per request; never a header, so
    # neither the token nor a cookie
    uvicorn.run(
        app, host=args.host, port=args.port, root_path=root_path, log_level="info", access_log=True
    )
    return 0


def _banner(host: str, port: int, root_path: str) -> str:
    """Where the dashboard answers (and, behind a proxy, the prefix its links carry)."""
    shown = f"[{host}]" if ":" in host else host
    served = f"serving http://{shown}:{port}/"
    if root_path:
        served += f" with links under {root_path}/ for the reverse proxy that strips it"
    return served + " (Ctrl-C to stop)"
