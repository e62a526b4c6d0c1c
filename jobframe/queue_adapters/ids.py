"""Moved to jobframe.backend; kept for third-party imports."""

from jobframe.backend.ids import new_id

__all__ = ["new_id"]
