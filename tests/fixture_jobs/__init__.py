"""Tiny named jobs shared by the concern tests, as in Rails' ``test/jobs``.

Jobs append what they did to `buffer`; ``tests/conftest.py`` empties it around every test.
"""

from __future__ import annotations

buffer: list[str] = []
