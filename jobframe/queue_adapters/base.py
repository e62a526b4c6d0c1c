"""Moved to jobframe.backend; kept for third-party imports."""

from jobframe.backend.adapter import QueueAdapter

__all__ = ["QueueAdapter"]
