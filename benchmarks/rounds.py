"""Repeated rounds for redis_bench.py and sql_bench.py: every library runs once per round, in the
same order each round (so a slow minute of the shared machine hits every library alike), and each
metric is reported as the median of its rounds, with the spread printed beside it."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

# Measured values that are combined over rounds (besides the metrics): the start-up column.
EXTRA = ("first_job_s",)


def run(names: list[str], rounds: int, run_one: Callable[[str], dict[str, Any]],
        keys: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """``run_one(name)`` for every name, ``rounds`` times over; one combined result per name."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for number in range(1, rounds + 1):
        if rounds > 1:
            print(f"round {number}/{rounds}", flush=True)
        for name in names:
            print(f"  {name} ...", end=" ", flush=True)
            result = run_one(name)
            runs[name].append(result)
            print(f"{result['wall_s']:.0f}s", flush=True)
    return [combine(runs[name], keys) for name in names]


def combine(results: list[dict[str, Any]], keys: list[str]) -> dict[str, Any]:
    """The median of each numeric value over the rounds that produced one (an error text when
    none did); ``<key>_rounds`` keeps every round's value."""
    out = dict(results[-1])
    for key in [*keys, *EXTRA]:
        values = [r[key] for r in results if isinstance(r.get(key), int | float)]
        if values:
            out[key] = statistics.median(values)
            out[f"{key}_rounds"] = values
        else:
            out[key] = next((r[key] for r in results if key in r), None)
    out["rounds"] = len(results)
    return out


def spread(results: list[dict[str, Any]], metrics: list[tuple[str, str, bool]],
           fmt: Callable[[Any, str], str]) -> list[str]:  # fmt: skip
    """Lines listing every round's value of each metric, per library (only with several rounds)."""
    lines = []
    for result in results:
        cells = []
        for key, _heading, _ in metrics:
            values = result.get(f"{key}_rounds")
            if values and len(values) > 1:
                cells.append(f"{key} " + "/".join(fmt(v, key) for v in values))
        if cells:
            lines.append(f"  {result['library']:28} " + "; ".join(cells))
    return lines
