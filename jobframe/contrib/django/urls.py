"""The dashboard's URLconf: ``path("jobs/", include("jobframe.contrib.django.urls"))`` serves it
under ``/jobs/`` to staff users (`jobframe.contrib.django.dashboard`)."""

from __future__ import annotations

from django.urls import re_path

from jobframe.contrib.django.dashboard import dashboard_view

app_name = "jobframe"
urlpatterns = [re_path(r"^(?P<path>.*)$", dashboard_view(), name="dashboard")]
