"""``jobframe work --queues``: the names follow the queue-name rule; weights are digits."""

from __future__ import annotations

import pytest

from jobframe.cli import main
from jobframe.errors import ConfigurationError
from jobframe.worker.command import parse_queues


def test_names_may_hold_colons_and_a_trailing_number_is_a_weight() -> None:
    assert parse_queues("ns:mailers,ns:low") == (["ns:mailers", "ns:low"], None)
    assert parse_queues("ns:mailers:3,low:1") == (
        ["ns:mailers", "low"],
        {"ns:mailers": 3, "low": 1},
    )
    assert parse_queues("*") == (["*"], None)


@pytest.mark.parametrize("text", ["reports/daily", "a,b c", "ok,é", "q" * 129])
def test_a_bad_queue_name_is_a_configuration_error_naming_it(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"--queues.*1-128 characters"):
        parse_queues(text)


def test_the_command_says_what_is_wrong_and_how_to_fix_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["work", "--queues", "reports/daily"]) == 1
    err = capsys.readouterr().err
    assert "'reports/daily'" in err and "'reports.daily'" in err


def test_a_zero_weight_is_still_refused() -> None:
    with pytest.raises(ConfigurationError, match="weight of 'a' must be an integer >= 1"):
        parse_queues("a:0,b:1")
