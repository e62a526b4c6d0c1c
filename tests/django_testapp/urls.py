"""The test project's URLconf; the dashboard mount is added by the integration under test."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
