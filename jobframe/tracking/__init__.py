"""Job status, results and progress (DESIGN.md 6.4): what the core makes of a backend's
`jobframe.backend.results.ResultStore`.

- `records`: what a job's record says and its encoding (the core alone reads and writes it);
- `status`: `job_status` and `job_result`, by ``job_id``, from any process;
- `report`: `job_report`, everything kept about one job (``jobframe jobs show``, the dashboard);
- `progress`: the throttled writes of ``self.progress()`` inside ``perform``.
"""

from __future__ import annotations

from jobframe.tracking.report import JobReport, ProgressReport, job_report
from jobframe.tracking.status import job_result, job_status

__all__ = ["JobReport", "ProgressReport", "job_report", "job_result", "job_status"]
