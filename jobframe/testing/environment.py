"""jobframe configured for a test block the way a deployment configures it: by environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jobframe import config, queue_adapters


@contextmanager
def configured(monkeypatch: pytest.MonkeyPatch, adapter: str, url: str) -> Iterator[None]:
    """Set ``JOBFRAME_ADAPTER`` and ``JOBFRAME_URL`` for the block, with the settings read afresh
    at its start; at its end the adapter the block built is dropped (its connections closed), so
    the next test cannot reuse one aimed at this test's server. ``monkeypatch`` undoes the
    variables when the test ends."""
    monkeypatch.setenv("JOBFRAME_ADAPTER", adapter)
    monkeypatch.setenv("JOBFRAME_URL", url)
    config.reset()
    try:
        yield
    finally:
        queue_adapters.reset()
