"""Moved to jobframe.registry; kept for third-party imports."""

from jobframe.registry import lookup, name_of, register, registered, unregister

__all__ = ["lookup", "name_of", "register", "registered", "unregister"]
