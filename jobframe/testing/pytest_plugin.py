"""The pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``jobs`` fixture,
and ``fresh_settings`` for test suites that configure jobframe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobframe import config
from jobframe.testing.helpers import JobsHelper

#: the environment variables that would make a test's settings depend on the shell it ran in
SETTINGS_VARIABLES = ("JOBFRAME_ENV", "JOBFRAME_ADAPTER", "JOBFRAME_URL")


@pytest.fixture
def jobs() -> Iterator[JobsHelper]:
    """Route every job to a fresh test adapter for this test, and assert on what it recorded."""
    helper = JobsHelper()
    with helper.installed():
        yield helper


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the test on jobframe's default settings, whatever the shell exported, and forget
    whatever it configured afterwards (make it autouse in a conftest to cover a whole suite)."""
    for var in SETTINGS_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    config.reset()
    yield
    config.reset()
