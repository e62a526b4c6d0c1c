"""The whole contract a backend implements (DESIGN.md 6.1); built up by issue #12."""

from jobframe.backend.capabilities import Capabilities

__all__ = ["Capabilities"]
