"""The pytest plugin (auto-loaded through the ``pytest11`` entry point): the ``jobs`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobframe.testing.helpers import JobsHelper


@pytest.fixture
def jobs() -> Iterator[JobsHelper]:
    """Route every job to a fresh test adapter for this test, and assert on what it recorded."""
    helper = JobsHelper()
    with helper.installed():
        yield helper
