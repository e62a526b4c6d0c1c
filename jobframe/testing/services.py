"""Real services for tests: fail under CI, skip locally, when one is not answering."""

from __future__ import annotations

import os
import socket


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail the test when ``CI`` is set, skip it otherwise, if ``name`` is down."""
    if port_open(host, port):
        return
    import pytest

    message = f"{name} is not answering on {host}:{port}; start it with ../shared/services.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
