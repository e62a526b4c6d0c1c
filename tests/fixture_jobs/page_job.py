"""The job the dashboard tests list, page through and fail: it does nothing when run."""

from __future__ import annotations

import jobframe


class PageJob(jobframe.Job):
    queue_as = "pages"

    def perform(self, text: str) -> None:
        pass
