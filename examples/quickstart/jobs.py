"""The quickstart's jobs: a welcome email written to an outbox folder, and a flaky API call."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import jobframe

# main.py points the worker at a temporary folder; alone, the outbox sits next to this file.
OUTBOX = Path(os.environ.get("QUICKSTART_OUTBOX", Path(__file__).parent / "outbox"))


class ApplicationJob(jobframe.Job):
    abstract = True


class GatewayTimeout(Exception):
    pass


class SendWelcomeEmailJob(ApplicationJob):
    queue_as = "mailers"

    @jobframe.after_perform
    def mark_sent(self) -> None:
        print(f"  sent welcome email #{self.args[0]} (job {self.job_id[:8]})", flush=True)

    def perform(self, user_id: int, *, locale: str = "en", signed_up: datetime) -> None:
        OUTBOX.mkdir(parents=True, exist_ok=True)
        message = {
            "to": f"user{user_id}@example.com",
            "locale": locale,
            "signed_up": signed_up.isoformat(),
        }
        (OUTBOX / f"welcome-{user_id}.json").write_text(json.dumps(message))


@jobframe.retry_on(GatewayTimeout, wait=0.2, attempts=4)
class SyncToCRMJob(ApplicationJob):
    def perform(self, user_id: int) -> None:
        if self.executions < 3:
            raise GatewayTimeout(f"CRM timed out (attempt {self.executions})")
        print(f"  synced user {user_id} to the CRM after {self.executions} attempts", flush=True)
