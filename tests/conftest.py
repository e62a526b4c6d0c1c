"""Shared fixtures: fresh settings per test, and the real services (fail under CI, skip locally)."""

from __future__ import annotations

import os

import pytest

from jobframe.testing.services import require_service


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return os.environ.get(
        "JOBFRAME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
