"""Tiny named jobs shared by the concern tests, as in Rails' ``test/jobs``.

Jobs append what they did to `buffer`; each test module clears it in an autouse fixture.
"""

from __future__ import annotations

buffer: list[str] = []
