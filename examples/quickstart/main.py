"""Enqueue a few jobs and let the in-process adapter run them; see examples/quickstart/README."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from jobs import OUTBOX, SendWelcomeEmailJob, SyncToCRMJob

import jobframe
from jobframe import queue_adapters

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")


def main() -> None:
    jobframe.configure(adapter="async")  # the in-process thread pool: nothing to install
    now = datetime.now(UTC)
    print("Enqueueing 3 welcome emails in one call, and a CRM sync that fails twice first:")
    jobframe.perform_all_later(
        [SendWelcomeEmailJob(n, signed_up=now, locale="fr") for n in (1, 2, 3)]
    )
    SyncToCRMJob.perform_later(1)
    SendWelcomeEmailJob.set(wait=0.5).perform_later(4, signed_up=now)
    adapter = queue_adapters.get()
    adapter.wait_idle(timeout=30, include_scheduled=True)  # type: ignore[attr-defined]
    print(f"Outbox: {sorted(p.name for p in OUTBOX.glob('*.json'))}")


if __name__ == "__main__":
    main()
