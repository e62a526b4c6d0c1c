"""Recipe: call a flaky third-party API, retrying with polynomial back-off until it answers.

`FetchRatesJob` turns a 5xx answer (or no answer) into `ServiceUnavailable`, which ``retry_on``
retries: the same job (same ``job_id``) is scheduled again after a growing delay, up to `ATTEMPTS`
runs in all. A 4xx answer fails at once: asking again would not help.

In production use ``wait=jobframe.polynomially_longer``: ``executions ** 4 + 2`` seconds, so 3 s,
18 s, 83 s, 258 s... That is too slow for a demo, and it takes no scale factor, so this recipe
passes a callable with the same curve in hundredths (0.03 s, 0.18 s, 0.83 s...). ``retry_on``
adds no jitter to a callable's delay; add your own if many jobs could retry in step.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import jobframe
from cookbook.flaky_service import FlakyService
from cookbook.sandbox import Sandbox, data_folder

ATTEMPTS = 5
FAILURES = 3  # the service's 503s before its first 200: the job succeeds on attempt 4


class ServiceUnavailable(Exception):
    """The API answered 5xx: it is worth asking again later."""


def hurried_polynomially_longer(executions: int) -> float:
    """`jobframe.polynomially_longer`'s delays divided by 100, to keep the demo short."""
    return jobframe.polynomially_longer(executions) / 100


@jobframe.retry_on(
    ServiceUnavailable, TimeoutError, wait=hurried_polynomially_longer, attempts=ATTEMPTS
)
class FetchRatesJob(jobframe.Job):
    """Fetch exchange rates from `url` and store them in ``rates.json``."""

    queue_as = "integrations"

    def perform(self, url: str) -> None:
        print(f"  FetchRatesJob attempt {self.executions}: GET {url}", flush=True)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                rates = json.load(response)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500:
                raise ServiceUnavailable(f"{url} answered {exc.code}") from None
            raise  # a 4xx will not get better: fail now
        except urllib.error.URLError as exc:  # refused, unknown host: maybe down for a moment
            raise ServiceUnavailable(f"{url} is unreachable: {exc.reason}") from exc
        result = {"rates": rates, "attempts": self.executions, "job_id": self.job_id}
        (data_folder() / "rates.json").write_text(json.dumps(result, indent=2))
        print(f"  FetchRatesJob: got {rates} on attempt {self.executions}", flush=True)


def run(sandbox: Sandbox) -> None:
    with FlakyService(failures=FAILURES) as service:
        print(f"A rates service that answers 503 {FAILURES} times, then 200: {service.url}")
        print(f"FetchRatesJob.perform_later(url), retried on 503 up to {ATTEMPTS} attempts")
        FetchRatesJob.perform_later(service.url)

        print("Running `jobframe work cookbook.flaky_http`:", flush=True)
        result = sandbox.work(__name__)

    print(f"The service answered: {', '.join(map(str, service.statuses))}")
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
