"""What the Redis fault tests (a private redis-server stopped and started under the workers) take
from `jobframe.testing.workers`, with the Redis configuration written for them."""

from __future__ import annotations

from pathlib import Path

from jobframe.testing import workers as kit
from jobframe.testing.workers import Journal, Workers, free_port, wait_until

__all__ = ["Journal", "Workers", "free_port", "wait_until", "write_config"]


def write_config(folder: Path, url: str, prefix: str) -> None:
    kit.write_config(folder, "redis", url=url, prefix=prefix)
