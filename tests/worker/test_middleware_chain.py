"""`Chain` calls each hook of the middleware that override it, in order (``finished`` and
``skipped`` in reverse), including a hook set on the instance; a middleware keeping the base
hook is left out of that hook only."""

from __future__ import annotations

from typing import Any

from jobframe.backend.worker import Claim, Outcome
from jobframe.worker.middleware import Chain, Middleware

CLAIM = Claim("id", "token", "q", b"{}")


class Log(Middleware):
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def before_perform(self, claim: Claim, job: Any) -> None:
        self.calls.append(f"before {self.name}")

    def started(self, claim: Claim, job: Any) -> None:
        self.calls.append(f"started {self.name}")

    def finished(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        self.calls.append(f"finished {self.name}")
        return Outcome(claim, outcome.status, {"by": self.name})

    def skipped(self, claim: Claim, job: Any, outcome: Outcome) -> Outcome:
        self.calls.append(f"skipped {self.name}")
        return outcome


class OnlyStarted(Middleware):
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def started(self, claim: Claim, job: Any) -> None:
        self.calls.append("started only")


def test_each_hook_is_called_in_order_on_the_middleware_that_override_it() -> None:
    calls: list[str] = []
    patched = Middleware()
    patched.finished = lambda claim, job, outcome: calls.append("finished patched") or outcome  # type: ignore[method-assign]
    chain = Chain([Log("a", calls), OnlyStarted(calls), patched, Log("b", calls)])
    assert chain.before_perform(CLAIM, None) is None
    chain.started(CLAIM, None)
    outcome = chain.finished(CLAIM, None, Outcome(CLAIM, "done"))
    chain.skipped(CLAIM, None, outcome)
    assert calls == [
        "before a", "before b",
        "started a", "started only", "started b",
        "finished b", "finished patched", "finished a",
        "skipped b", "skipped a",
    ]  # fmt: skip
    assert outcome.error == {"by": "a"}


def test_a_verdict_stops_before_perform() -> None:
    calls: list[str] = []

    class Refuses(Middleware):
        def before_perform(self, claim: Claim, job: Any) -> Outcome:
            calls.append("refuses")
            return Outcome(claim, "expired")

    chain = Chain([Refuses(), Log("later", calls)])
    verdict = chain.before_perform(CLAIM, None)
    assert isinstance(verdict, Outcome) and verdict.status == "expired"
    assert calls == ["refuses"]
