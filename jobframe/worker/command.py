"""``jobframe work``: run worker processes for the configured durable adapter."""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from collections.abc import Mapping
from types import ModuleType

from jobframe import config, queue_adapters
from jobframe.errors import ConfigurationError, InvalidOptionError
from jobframe.job.queue_name import validate_queue_name
from jobframe.recurrence.startup import check_tasks, worker_scheduler
from jobframe.worker.logs import setup_logging
from jobframe.worker.runtime import Worker, WorkerOptions, default_middleware


def _check_name(name: str) -> None:
    try:
        validate_queue_name(name, "a queue in --queues")
    except InvalidOptionError as exc:
        raise ConfigurationError(str(exc)) from None


def parse_queues(text: str) -> tuple[list[str], dict[str, int] | None]:
    """``"a,b"`` (strict order), ``"a:3,b:1"`` (weighted) or ``"*"`` -> names and weights.

    Raises:
        ConfigurationError: an empty name, a weight that is not a positive integer, or mixed modes.
    """
    names: list[str] = []
    weights: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        name, colon, weight = part.rpartition(":")
        if not colon or not weight.isdigit():  # queue names may hold ':'; a weight is digits
            name, colon, weight = part, "", ""
        if not name:
            raise ConfigurationError(f"--queues {text!r}: empty queue name; use e.g. 'a,b' or '*'")
        if name != "*":
            _check_name(name)
        names.append(name)
        if colon:
            if int(weight) < 1:
                raise ConfigurationError(
                    f"--queues {text!r}: weight of {name!r} must be an integer >= 1"
                )
            weights[name] = int(weight)
    if weights and len(weights) != len(names):
        raise ConfigurationError(f"--queues {text!r}: give every queue a weight, or none")
    if "*" in names and len(names) > 1:
        raise ConfigurationError(f"--queues {text!r}: '*' means every queue and stands alone")
    return names, (weights or None)


def default_queues(environ: Mapping[str, str]) -> str:
    """``QUEUES``, else ``QUEUE`` (Resque's Procfile habit: ``QUEUE=mailers jobframe work``),
    else every queue.

    Raises:
        ConfigurationError: both are set and differ (which one was meant cannot be known).
    """
    plural, single = environ.get("QUEUES"), environ.get("QUEUE")
    if plural is not None and single is not None and plural != single:
        raise ConfigurationError(
            f"QUEUES={plural!r} and QUEUE={single!r} are both set and differ; unset one "
            "(they mean the same thing), or pass --queues."
        )
    return plural if plural is not None else single if single is not None else "*"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Configure ``jobframe work``."""
    parser.add_argument(
        "imports",
        nargs="*",
        metavar="IMPORT",
        help="modules defining your jobs (added to the `imports` setting)",
    )
    parser.add_argument(
        "--queues",
        "-q",
        default=None,
        help="'a,b' strict order, 'a:3,b:1' weighted, '*' all (env QUEUES or QUEUE; default *)",
    )
    parser.add_argument(
        "--concurrency", "-c", type=int, default=5, help="jobs at once per process (5)"
    )
    parser.add_argument(
        "--prefetch",
        type=int,
        default=None,
        help="jobs claimed ahead of free threads (default: about 5 ms of work by the recent run "
        "times, from --concurrency to 64; 0 for none)",
    )
    parser.add_argument("--processes", "-p", type=int, default=1, help="worker processes (1)")
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=None,
        help="seconds running jobs get to finish on SIGTERM (setting, 25)",
    )
    parser.add_argument("--heartbeat-interval", type=float, default=5.0, help="seconds (5)")
    parser.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=30.0,
        help="a process silent this long is dead; its jobs are requeued (30)",
    )
    parser.add_argument(
        "--max-crashes",
        type=int,
        default=3,
        help="a job whose worker died this often goes to the dead set (3)",
    )
    parser.add_argument(
        "--job-timeout",
        type=float,
        default=None,
        help="stop a job that runs longer than this many seconds with JobTimeout (a job "
        "class's `timeout` may be less)",
    )
    parser.add_argument(
        "--timeout-grace",
        type=float,
        default=10.0,
        help="seconds a thread job gets to stop after its JobTimeout; then the worker process "
        "exits, its job is taken back as a crash, and --processes starts a new one (10)",
    )
    parser.add_argument(
        "--no-recurring",
        dest="recurring",
        action="store_false",
        help="run no recurring-task scheduler in this worker (by default every `jobframe work` "
        "runs one; with --processes N, one of the N processes does)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (needs jobframe[prometheus]; "
        "with --processes N the supervisor serves the sum of every process)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address --metrics-port binds (127.0.0.1; 0.0.0.0 for every interface)",
    )
    add_log_arguments(parser)
    parser.set_defaults(func=run)


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format``, for every command that runs a long-lived process."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default="INFO",
        help="DEBUG, INFO, WARNING or ERROR (INFO)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text: readable lines; json: one JSON object per line for log collectors (text)",
    )


def _options(args: argparse.Namespace) -> WorkerOptions:
    names, weights = parse_queues(
        args.queues if args.queues is not None else default_queues(os.environ)
    )
    if args.concurrency < 1 or args.processes < 1:
        raise ConfigurationError("--concurrency and --processes must be at least 1")
    if args.heartbeat_timeout <= args.heartbeat_interval:
        raise ConfigurationError(
            f"--heartbeat-timeout ({args.heartbeat_timeout:g}s) must be longer than "
            f"--heartbeat-interval ({args.heartbeat_interval:g}s), or live workers are taken "
            "for dead and their jobs run twice: make it at least 3 times the interval."
        )
    timeout = (
        config.settings().shutdown_timeout
        if args.shutdown_timeout is None
        else args.shutdown_timeout
    )
    return WorkerOptions(
        queues=names,
        weights=weights,
        concurrency=args.concurrency,
        shutdown_timeout=timeout,
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_timeout=args.heartbeat_timeout,
        max_crashes=args.max_crashes,
        prefetch=args.prefetch,
        job_timeout=args.job_timeout,
        timeout_grace=args.timeout_grace,
    )


def import_jobs(modules: list[str]) -> None:
    """Import the modules that define the job classes (operator-chosen, never from payloads)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in [*config.settings().imports, *modules]:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigurationError(f"cannot import {name!r} to load its jobs: {exc}") from exc


def _prometheus() -> ModuleType:
    """`jobframe.contrib.prometheus`, imported only for ``--metrics-port``.

    Raises:
        ConfigurationError: ``prometheus-client`` is not installed.
    """
    try:
        return importlib.import_module("jobframe.contrib.prometheus")
    except ImportError as exc:
        raise ConfigurationError(
            f"--metrics-port needs prometheus-client: pip install 'jobframe[prometheus]' ({exc})"
        ) from None


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    setup_logging(args.log_level, args.log_format)
    if args.processes > 1:
        from jobframe.worker.supervisor import supervise

        if args.recurring:  # a bad task stops the command here, not each child in a loop
            import_jobs(args.imports)
            check_tasks(queue_adapters.get())
        if args.metrics_port is None:
            return supervise(args.processes, args._argv, args.recurring, launcher=args._launcher)
        from jobframe.admin import inspector

        with _prometheus().supervising(args.metrics_port, args.metrics_host, inspector) as metrics:
            return supervise(
                args.processes,
                args._argv,
                args.recurring,
                metrics.env,
                metrics.process_exited,
                launcher=args._launcher,
            )
    import_jobs(args.imports)
    adapter = queue_adapters.get()
    backend = adapter.worker_backend()
    if backend is None:
        raise ConfigurationError(
            f"the {adapter.name!r} adapter's worker_backend() returned None: it keeps no queue "
            "for `jobframe work` to run. Configure an adapter that has workers (redis, sql, or a "
            "plugin's; `jobframe plugins` lists them) with `adapter` in [tool.jobframe] or "
            "JOBFRAME_ADAPTER, or, for your own adapter, implement worker_backend()."
        )
    from jobframe.doctor import warn_at_start

    warn_at_start(adapter)
    scheduler = worker_scheduler(adapter) if args.recurring else None
    middleware = None
    if args.metrics_port is not None:
        prometheus = _prometheus()
        middleware = [prometheus.worker_middleware(), *default_middleware(backend, options)]
        if not prometheus.in_supervised_child():  # the supervisor serves its children's sum
            prometheus.serve(args.metrics_port, args.metrics_host, adapter.inspector())
    worker = Worker(backend, options, [scheduler] if scheduler else [], middleware)
    # Everything imported so far lives as long as the process: out of the cyclic collector's
    # sight, its full collections stop walking it (measured on no-op jobs: 40 ms each, 11 µs of
    # the collector per job before, 5.6 after).
    gc.freeze()
    code = worker.run()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads of jobs released at the shutdown timeout may still run: leave without joining them.
    os._exit(code)
