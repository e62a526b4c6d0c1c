"""``jobframe doctor`` and `QueueAdapter.check` in the core: the Redis and SQL checks are tested
against real servers in their adapters' test folders."""

from __future__ import annotations

import logging

import pytest

import jobframe
from jobframe import doctor, queue_adapters
from jobframe.cli import main
from jobframe.queue_adapters.inline import InlineAdapter


@pytest.mark.parametrize("name", ["inline", "async", "test"])
def test_in_process_adapters_have_nothing_to_check(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    jobframe.configure(adapter=name)
    try:
        assert queue_adapters.get().check() == []
        assert main(["doctor"]) == 0
    finally:
        queue_adapters.reset()
    assert capsys.readouterr().out == f"{name}: no problems found\n"


class _Unsafe(InlineAdapter):
    name = "unsafe"

    def check(self) -> list[doctor.Problem]:
        return [doctor.Problem("the store forgets jobs", "turn persistence on")]


class _Broken(InlineAdapter):
    name = "broken"

    def check(self) -> list[doctor.Problem]:
        raise RuntimeError("boom")


def test_problems_are_printed_with_their_fix_and_fail_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with queue_adapters.override(_Unsafe()):
        assert main(["doctor"]) == 1
    assert capsys.readouterr().out == (
        "unsafe: 1 problem(s)\n  - the store forgets jobs\n    fix: turn persistence on\n"
    )


def test_a_check_that_raises_is_a_problem_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    with queue_adapters.override(_Broken()):
        assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "the 'broken' adapter's check failed (RuntimeError: boom)" in out


def test_the_start_warning_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    class TwoProblems(InlineAdapter):
        name = "two"

        def check(self) -> list[doctor.Problem]:
            return [doctor.Problem("a", "fix a"), doctor.Problem("b", "fix b")]

    with caplog.at_level(logging.WARNING, logger="jobframe.doctor"):
        doctor.warn_at_start(TwoProblems())
        doctor.warn_at_start(InlineAdapter())
    [record] = caplog.records
    assert record.getMessage() == (
        "the two backend has 2 problem(s): a: fix a; b: fix b (run `jobframe doctor` for details)"
    )
