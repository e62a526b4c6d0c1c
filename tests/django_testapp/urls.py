"""The test project's URLconf: the dashboard mounted under ``/jobs/``."""

from __future__ import annotations

from typing import Any

from django.urls import include, path

urlpatterns: list[Any] = [path("jobs/", include("jobframe.contrib.django.urls"))]
