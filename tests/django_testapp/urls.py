"""The test project's URLconf: the dashboard mounted under ``/jobs/`` (quoted by docs/django.md)."""

from django.urls import include, path

urlpatterns = [
    path("jobs/", include("jobframe.contrib.django.urls")),
]
