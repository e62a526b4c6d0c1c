"""A task outside every installed app: refused unless the backend's OPTIONS['MODULES'] names
this module (a worker imports task modules of installed apps only)."""

from __future__ import annotations

from jobframe.contrib.django.tasks_api import task


@task()
def outside() -> str:
    return "outside"
