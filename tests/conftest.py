"""Shared fixtures: fresh settings and an empty fixture-job buffer per test, and the real services
(fail under CI, skip locally)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from fixture_jobs import buffer

from jobframe.recurrence import forget, registry
from jobframe.testing.services import require_service


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


@pytest.fixture(autouse=True)
def _clear_buffer() -> Iterator[None]:
    """Every test starts and ends with the fixture jobs' `fixture_jobs.buffer` empty."""
    buffer.clear()
    yield
    buffer.clear()


@pytest.fixture(autouse=True)
def _forget_declared_tasks() -> Iterator[None]:
    """Forget the recurring tasks a test declared (``@jobframe.recurring``), so the next test's
    scheduler and ``jobs.tick`` see only its own. Tasks declared before the test stay."""
    before = set(registry._declared)
    yield
    for name in set(registry._declared) - before:
        forget(name)


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """`jobframe work` configures the root logger (a handler on this test's captured stderr,
    closed after it), even when it then stops on a bad setting: put back what was there, or
    later tests' log lines fail to write ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return os.environ.get(
        "JOBFRAME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture
def mariadb_url() -> str:
    require_service("MariaDB", "127.0.0.1", 3306)
    return os.environ.get("JOBFRAME_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
