# ruff: noqa: E501
"""What each step of a Redis worker's per-job path costs, in CPU µs per job, in one thread of this
process (no GIL hand-offs, no neighbours' noise in the figures: `time.process_time`), and what the
fetch and complete scripts cost inside Redis (``INFO commandstats``, per job)::

    .venv/bin/python benchmarks/worker_pieces.py [--url redis://127.0.0.1:6947/0] [--jobs 20000] [--runs 3]

The steps are the worker's own methods, called in the order its job threads and reporter call
them: ``fetch`` (the fetch script, ``--batch`` at a time, and the reply's claims), ``prepare``
(payloads decoded into jobs), ``run`` (`Worker._run_sync`: the middleware and ``perform_now``),
``finish`` (`Worker._finish`) and ``complete`` (the complete script's arguments and its call, a
batch of outcomes at a time). Each figure is the median of ``--runs`` runs; the jobs are
`observability_jobs.NoopJob` (one byte appended to a file). Use a Redis of your own: the script
time is every client's. The CPU figures survive a loaded machine better than rates do, and
instruction counts better still::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python benchmarks/worker_pieces.py --runs 1 --jobs 300
    # and --jobs 1300: (the second "Collected" - the first) / 1000 = instructions per job

With ``--enqueue-in-child`` the jobs are enqueued by a child process (which callgrind does not
follow), so the count is the worker's alone, without ``perform_all_later``'s share (about 150k
instructions per job of the figures above: 561k with it, 412k without, at WARNING).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS = ("fetch", "prepare", "run", "finish", "complete")


def enqueue(jobs: int) -> None:
    """Enqueue ``jobs`` no-op jobs with ``jobframe.perform_all_later``, 1,000 at a time."""
    import observability_jobs

    import jobframe

    for start in range(0, jobs, 1000):
        chunk = range(start, min(jobs, start + 1000))
        jobframe.perform_all_later([observability_jobs.NoopJob(i) for i in chunk])


def one_run(url: str, jobs: int, batch: int, in_child: bool = False) -> dict[str, float]:
    import observability_jobs  # noqa: F401  (the job class the worker loads)

    import jobframe
    from jobframe.worker.runtime import Worker, WorkerOptions
    from jobframe_redis.adapter import RedisAdapter

    prefix = f"bench-pieces-{uuid.uuid4().hex[:8]}"
    adapter = RedisAdapter(url, prefix=prefix)
    with jobframe.queue_adapters.override(adapter):
        if in_child:
            command = [sys.executable, __file__, "--url", url, "--jobs", str(jobs)]
            subprocess.run([*command, "--enqueue-only", prefix], check=True)
        else:
            enqueue(jobs)
        backend = adapter.worker_backend()
        worker = Worker(backend, WorkerOptions(queues=["*"], concurrency=5))
        backend.register(worker.process)
        client = adapter.store.client
        before = _script_usec(client)
        spent = dict.fromkeys(STEPS, 0.0)
        done = 0
        clock = time.process_time
        try:
            while done < jobs:
                t0 = clock()
                claims = backend.fetch(worker.process.id, ["*"], batch, 0)
                t1 = clock()
                work = worker._prepare(claims)
                with worker._slots:
                    for claim, _ in work:
                        worker._claimed[(claim.id, claim.token)] = claim
                t2 = clock()
                outcomes = []
                for claim, job in work:
                    outcomes.append((claim, worker._run_sync(claim, job)))
                t3 = clock()
                for claim, outcome in outcomes:
                    worker._finish(claim, outcome)
                t4 = clock()
                reported = []
                while not worker._outcomes.empty():
                    reported.append(worker._outcomes.get_nowait())
                if reported:
                    backend.complete(worker.process.id, [o for o in reported if o is not None])
                t5 = clock()
                for step, seconds in zip(
                    STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True
                ):
                    spent[step] += seconds
                done += len(claims)
                if not claims:
                    raise RuntimeError(f"only {done} of {jobs} jobs were fetched")
            script_usec = _script_usec(client) - before
        finally:
            backend.deregister(worker.process.id)
            keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
            for first in range(0, len(keys), 1000):
                client.delete(*keys[first : first + 1000])
            adapter.shutdown()
    result = {step: seconds * 1e6 / jobs for step, seconds in spent.items()}
    result["total"] = sum(result[s] for s in STEPS)
    result["redis_scripts"] = script_usec / jobs
    return result


def _script_usec(client: Any) -> float:
    """Microseconds Redis has spent in scripts so far (``INFO commandstats``, every client's)."""
    stats = client.info("commandstats")
    return float(
        sum(v["usec"] for k, v in stats.items() if k.startswith(("cmdstat_eval", "cmdstat_fcall")))
    )


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument(
        "--url", default="redis://127.0.0.1:6379/0", help="a Redis of your own, ideally"
    )
    made.add_argument("--jobs", type=int, default=20000)
    made.add_argument("--runs", type=int, default=3)
    made.add_argument(
        "--log-level", default="WARNING", help="as the worker's (its handler, to a file)"
    )
    made.add_argument(
        "--batch", type=int, default=64, help="claims per fetch (64: the no-op prefetch)"
    )
    made.add_argument(
        "--enqueue-in-child",
        action="store_true",
        help="enqueue from a child process: CPU and instructions are the worker's alone",
    )
    made.add_argument("--enqueue-only", metavar="PREFIX", help=argparse.SUPPRESS)
    args = made.parse_args(argv)
    sys.path.insert(0, str(HERE))
    if args.enqueue_only:
        import jobframe
        from jobframe_redis.adapter import RedisAdapter

        adapter = RedisAdapter(args.url, prefix=args.enqueue_only)
        with jobframe.queue_adapters.override(adapter):
            enqueue(args.jobs)
        adapter.shutdown()
        return 0
    scratch = tempfile.TemporaryDirectory()
    os.environ["BENCH_COUNT_FILE"] = str(Path(scratch.name) / "count")
    from jobframe import log_subscriber  # noqa: F401  (the worker's INFO line per job)
    from jobframe.worker.logs import setup_logging

    sys.stderr = open(Path(scratch.name) / "worker.log", "w")  # noqa: SIM115
    setup_logging(args.log_level, "text")
    runs = [
        one_run(args.url, args.jobs, args.batch, args.enqueue_in_child) for _ in range(args.runs)
    ]
    sys.stderr = sys.__stderr__
    print(
        f"{args.jobs} no-op jobs, one thread, fetches of {args.batch}, {args.log_level}; load average {os.getloadavg()[0]:.2f}"
    )
    for key in (*STEPS, "total", "redis_scripts"):
        values = [r[key] for r in runs]
        print(
            f"  {key:14} {statistics.median(values):7.2f} µs/job   ({', '.join(f'{v:.2f}' for v in values)})"
        )
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
