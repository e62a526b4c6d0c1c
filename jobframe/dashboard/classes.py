"""The Classes pages: run times per job class, from the backend's `Inspector.timings`
(`jobframe.backend.timings`, ``capabilities.timings``).

``/classes`` is one row per job class that ran in the window (``?window=hour``, the default, or
``day``): runs, failure rate and the p50, p95 and p99 run times, sorted slowest first (by p95;
``?sort=`` any column). ``/classes/{name}`` charts one class: runs and p95 per minute over the
last hour, per hour over the last day. Percentiles come from the backend's fixed buckets, so
each is exact to its bucket (a run of 30 ms lands in 25-50 ms) as a Prometheus histogram's is.
A backend that keeps no run times gets a page that says so, not a 501.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from jobframe.backend import Inspector
from jobframe.backend.timings import ClassTiming, empty
from jobframe.dashboard.params import wants_json

#: The windows of the table, in minutes.
WINDOWS = {"hour": 60, "day": 1440}
#: Shown when a window has no run to take a percentile of.
NONE = "\u2013"


@dataclass(frozen=True)
class ClassRow:
    """One job class over a window: runs, failures and run-time percentiles (milliseconds)."""

    job_class: str
    count: int
    failed: int
    failure_rate: float
    mean_ms: float
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, timing: ClassTiming) -> ClassRow:
        """The row of a (summed) timing."""
        return cls(
            timing.job_class,
            timing.count,
            timing.failed,
            timing.failure_rate,
            timing.mean_ms,
            timing.percentile(0.5),
            timing.percentile(0.95),
            timing.percentile(0.99),
        )


#: The columns the table sorts by (highest first, but for the class name), ``?sort=``;
#: ``slowest`` (the default) is by p95, then p99.
SORTS: dict[str, Callable[[ClassRow], Any]] = {
    "slowest": lambda r: (r.p95 or 0.0, r.p99 or 0.0),
    "p50": lambda r: r.p50 or 0.0,
    "p99": lambda r: r.p99 or 0.0,
    "count": lambda r: r.count,
    "failures": lambda r: r.failure_rate,
    "name": lambda r: r.job_class,
}


def duration(ms: float | None) -> str:
    """A run time for people: ``0.8 ms``, ``120 ms``, ``2.5 s``, ``5.0 min``."""
    if ms is None:
        return NONE
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def summed(timings: list[ClassTiming]) -> dict[str, ClassTiming]:
    """Per-minute timings summed per class."""
    found: dict[str, ClassTiming] = {}
    for timing in timings:
        previous = found.get(timing.job_class)
        found[timing.job_class] = timing if previous is None else previous + timing
    return found


def table(inspector: Inspector, window: str, sort: str, now: int) -> list[ClassRow]:
    """The rows of the Classes table for ``window`` ending at minute ``now``, sorted."""
    since = now - WINDOWS[window] + 1
    rows = [ClassRow.of(t) for t in summed(inspector.timings(since, now)).values()]
    return sorted(rows, key=SORTS[sort], reverse=sort != "name")


def charts(
    minutes: dict[int, ClassTiming], job_class: str, now: int
) -> list[tuple[str, str, list[int]]]:
    """The charts of one class from its timings per minute (as the overview draws them: title,
    bar kind, values): runs and p95 (milliseconds, rounded up) per minute over the last hour,
    per hour over the last day."""
    hour = [minutes.get(m) or empty(job_class, m) for m in range(now - 59, now + 1)]
    day = []
    for start in range(now - 1439, now + 1, 60):
        total = empty(job_class, start)
        for m in range(start, start + 60):
            if m in minutes:
                total += minutes[m]
        day.append(total)

    def p95(series: list[ClassTiming]) -> list[int]:
        return [math.ceil(t.percentile(0.95) or 0.0) for t in series]

    return [
        ("runs per minute, last hour", "processed", [t.count for t in hour]),
        ("p95 run time (ms) per minute, last hour", "timing", p95(hour)),
        ("runs per hour, last day", "processed", [t.count for t in day]),
        ("p95 run time (ms) per hour, last day", "timing", p95(day)),
    ]


class ClassPages:
    """The ``/classes`` routes, bound to an inspector and the dashboard's ``render``."""

    def __init__(self, inspector: Inspector, render: Callable[..., Response]) -> None:
        self.inspector = inspector
        self.render = render

    def routes(self, page: Callable[[Any], Any]) -> list[BaseRoute]:
        """``/classes`` and ``/classes/{name}`` (a class name may hold ``/``)."""
        return [
            Route("/classes", page(self.classes), name="classes"),
            Route("/classes/{name:path}", page(self.job_class), name="job_class"),
        ]

    def _keeps(self) -> bool:
        try:
            self.inspector.timings(int(time.time() // 60) + 1)
        except NotImplementedError:
            return False
        return True

    def classes(self, request: Request, form: FormData | None) -> Response:
        """The table; JSON (``Accept: application/json``) gives its rows."""
        window = request.query_params.get("window") or "hour"
        sort = request.query_params.get("sort") or "slowest"
        if window not in WINDOWS or sort not in SORTS:
            raise HTTPException(
                400, f"window is one of {', '.join(WINDOWS)}; sort is one of {', '.join(SORTS)}."
            )
        keeps = self._keeps()
        rows = table(self.inspector, window, sort, int(time.time() // 60)) if keeps else []
        if wants_json(request):
            return JSONResponse(
                {"window": window, "sort": sort, "classes": [r.__dict__ for r in rows]}
            )
        return self.render(
            request, "classes.html", rows=rows, window=window, sort=sort, sorts=list(SORTS),
            windows=list(WINDOWS), keeps=keeps, duration=duration,
        )  # fmt: skip

    def job_class(self, request: Request, form: FormData | None) -> Response:
        """One class's charts and its row for the last hour and the last day."""
        name = request.path_params["name"]
        keeps = self._keeps()
        now = int(time.time() // 60)
        rows: dict[str, ClassRow] = {}
        drawn: list[tuple[str, str, list[int]]] = []
        if keeps:
            minutes = {t.minute: t for t in self.inspector.timings(now - 1439, now, name)}
            for window, span in WINDOWS.items():
                total = empty(name, now)
                for timing in minutes.values():
                    if timing.minute > now - span:
                        total += timing
                rows[window] = ClassRow.of(total)
            drawn = charts(minutes, name, now)
        return self.render(
            request, "class.html", job_class=name, rows=rows, charts=drawn, keeps=keeps,
            duration=duration,
        )  # fmt: skip


__all__ = ["SORTS", "WINDOWS", "ClassPages", "ClassRow", "charts", "duration", "summed", "table"]
