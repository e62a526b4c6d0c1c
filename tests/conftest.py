"""Shared fixtures: fresh settings per test, and the real services (fail under CI, skip locally)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

import jobframe.config


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail under CI, skip locally, when a real service the test needs is not answering."""
    if _port_open(host, port):
        return
    message = f"{name} is not answering on {host}:{port}; start it with ../shared/services.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


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
