"""What the dashboard shows and does about flow control: the Cancel action, and the jobs that
expired, were cancelled or were throttled (put back by a rate limit), beside processed and failed.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException

from jobframe.backend import HistoryKind, Inspector, JobInfo, State
from jobframe.backend.inspector import CancelResult

#: The states a job can be cancelled from (`Inspector.cancel`): waiting ones are removed, a
#: running one is asked to stop at its next checkpoint.
CANCELLABLE: tuple[State, ...] = ("ready", "blocked", "scheduled", "running")
#: The order of the states in the navigation and the overview: where a job waits, then where it is.
SHOWN_STATES: tuple[State, ...] = ("ready", "blocked", "scheduled", "running", "dead")
#: History kinds beside processed/failed, with their chart captions.
FLOW_KINDS: tuple[tuple[HistoryKind, str], ...] = (
    ("expired", "expired (not started in time) per hour, last day"),
    ("cancelled", "cancelled per hour, last day"),
    ("throttled", "throttled (rate limit: put back, not failed) per hour, last day"),
)


def can_cancel(inspector: Inspector) -> bool:
    """Whether ``inspector`` implements `Inspector.cancel` (its ``cancels`` flag): the dashboard
    is given an inspector, not its adapter, and shows no button that can only answer 501. Read
    on the instance, so that a wrapper delegating to a real inspector tells the truth too."""
    return bool(inspector.cancels)


def cancel(inspector: Inspector, state: State, ids: Iterable[str]) -> dict[str, int]:
    """Cancel the jobs with these backend ids, each only if it is still in ``state``.

    Returns:
        How many were ``cancelled`` (removed) and how many are ``running`` (asked to stop).
    """
    done = {"cancelled": 0, "running": 0}
    for id in dict.fromkeys(ids):
        info = inspector.job(id)
        if info is None or info.state != state or not info.job_id:
            continue
        result = inspector.cancel(info.job_id)
        if result != "unknown":
            done[result] += 1
    return done


def cancel_one(inspector: Inspector, id: str) -> tuple[JobInfo, CancelResult]:
    """Cancel the job with backend id ``id``; return it as it was and what `Inspector.cancel`
    did.

    Raises:
        HTTPException: 404, no waiting or running job has this id.
    """
    info = inspector.job(id)
    if info is None or info.state not in CANCELLABLE or not info.job_id:
        raise HTTPException(404, "No waiting or running job with this id: nothing to cancel.")
    return info, inspector.cancel(info.job_id)


def day_charts(
    inspector: Inspector, now: int
) -> tuple[dict[str, int], list[tuple[str, HistoryKind, list[int]]]]:
    """The flow kinds' totals over the day before minute ``now`` and their hourly charts (none
    where the inspector does not `counts_outcomes`)."""
    totals: dict[str, int] = {}
    charts: list[tuple[str, HistoryKind, list[int]]] = []
    for kind, caption in FLOW_KINDS if inspector.counts_outcomes else ():
        day = hourly(inspector.history(kind, now - 1439), now)
        totals[kind] = sum(day)
        charts.append((caption, kind, day))
    return totals, charts


def hourly(series: dict[int, int], now: int) -> list[int]:
    """Per-minute counts ending at minute ``now`` summed into the 24 hours before it."""
    return [sum(series.get(m, 0) for m in range(h, h + 60)) for h in range(now - 1439, now + 1, 60)]


__all__ = [
    "CANCELLABLE",
    "FLOW_KINDS",
    "SHOWN_STATES",
    "can_cancel",
    "cancel",
    "cancel_one",
    "day_charts",
    "hourly",
]
