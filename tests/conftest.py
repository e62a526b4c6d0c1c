"""Shared fixtures: fresh settings per test, and the real services (fail under CI, skip locally)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import jobframe.config
from jobframe.testing.services import require_service


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("JOBFRAME_ENV", "JOBFRAME_ADAPTER", "JOBFRAME_URL"):
        monkeypatch.delenv(var, raising=False)
    jobframe.config.reset()
    yield
    jobframe.config.reset()


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
