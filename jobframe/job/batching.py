"""A job's place in batches and chains: ``self.previous_result()`` for a chain link, and the
``batch_id``, ``callback_batch_id``, ``chain`` and ``chain_info`` attributes (declared on
`jobframe.job.core.Core`, which reads and writes them in the payload)."""

from __future__ import annotations

from typing import Any


class Batching:
    """``previous_result`` for chain links (`jobframe.chain`)."""

    def previous_result(self: Any) -> Any:
        """The return value of the previous link of this job's chain (every link with a
        successor stores its result, so it is there once this link runs).

        Raises:
            NoResultError: this job is not a chain link after another, or its predecessor's
                result is gone (expired).
        """
        from jobframe.errors import NoResultError
        from jobframe.tracking.status import job_result

        info = self.chain_info
        previous = None if info is None else info.get("previous")
        if previous is None:
            raise NoResultError(
                f"{type(self).__qualname__} {self.job_id} has no previous link: "
                "previous_result() is for jobs after the first of a jobframe.chain(...)"
            )
        return job_result(previous, adapter=type(self).adapter())
