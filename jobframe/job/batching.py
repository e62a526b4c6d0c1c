"""A job's place in batches and chains (`jobframe.tracking.batches`, `jobframe.tracking.chains`):
its ``batch_id``, ``callback_batch_id``, ``chain`` and ``chain_info``, carried in the payload
only when set, and ``self.previous_result()`` for a chain link."""

from __future__ import annotations

from typing import Any

from jobframe.errors import NoResultError


class Batching:
    """Batch and chain attributes of a job, and ``previous_result``."""

    job_id: str
    #: the batch this job counts in (`jobframe.batch`), or None: set at enqueue from the
    #: enclosing ``with jobframe.batch()`` block, or from the batch job performing in a worker
    batch_id: str | None = None
    #: for a batch's ``on_success``/``on_complete`` callback job: the batch it fired for (the
    #: callback itself is in no batch); None for every other job
    callback_batch_id: str | None = None
    #: a chain link (`jobframe.chain`): the serialized payloads of the links after this one
    chain: list[dict[str, Any]] | None = None
    #: a chain link: ``previous`` (job_id or None), ``index``, ``length``, ``ids`` (every link's)
    chain_info: dict[str, Any] | None = None

    def previous_result(self: Any) -> Any:
        """The return value of the previous link of this job's chain (a link with a successor
        always stores its result, so it is there once this link runs).

        Raises:
            NoResultError: this job is not a chain link after another one.
            JobFailed: the predecessor's record says it did not succeed.
            ResultTimeout: the predecessor's record is gone (expired).
        """
        from jobframe.tracking.status import job_result

        info = self.chain_info
        previous = None if info is None else info.get("previous")
        if previous is None:
            raise NoResultError(
                f"{type(self).__qualname__} {self.job_id} has no previous link: "
                "previous_result() is for the jobs after the first of a jobframe.chain(...)"
            )
        return job_result(previous, adapter=type(self).adapter())

    def _stores_result(self) -> bool:
        """A chain link with a successor stores its result, whatever its class says."""
        return bool(self.chain) or super()._stores_result()  # type: ignore[misc]

    def _record_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super()._record_fields()  # type: ignore[misc]
        if self.batch_id is not None:
            fields["batch_id"] = self.batch_id
        info = self.chain_info
        if info is not None:
            fields["chain"] = position(info)
        return fields

    def _payload_extras(self, data: dict[str, Any]) -> None:
        super()._payload_extras(data)  # type: ignore[misc]
        if self.batch_id is not None:
            data["batch_id"] = self.batch_id
        if self.chain_info is not None:
            data["chain"] = self.chain or []
            data["chain_info"] = self.chain_info
        if self.callback_batch_id is not None:
            data["callback_batch_id"] = self.callback_batch_id

    def _load_extras(self, data: dict[str, Any]) -> None:
        super()._load_extras(data)  # type: ignore[misc]
        batch_id, callback_batch_id = data.get("batch_id"), data.get("callback_batch_id")
        chain, chain_info = data.get("chain"), data.get("chain_info")
        if batch_id is not None and not isinstance(batch_id, str):
            raise TypeError(f"'batch_id' must be a string or null, got {batch_id!r}")
        if callback_batch_id is not None and not isinstance(callback_batch_id, str):
            raise TypeError(f"'callback_batch_id' must be a string, got {callback_batch_id!r}")
        if chain_info is not None and (
            not isinstance(chain_info, dict) or not isinstance(chain, list | None)
        ):
            raise TypeError("'chain' must be a list and 'chain_info' an object")
        self.batch_id, self.callback_batch_id = batch_id, callback_batch_id
        self.chain, self.chain_info = chain, chain_info


def position(info: dict[str, Any]) -> dict[str, Any]:
    """A record's ``chain`` object (``previous``, ``next``, ``index``, ``length``) from a link's
    ``chain_info``."""
    ids: list[str] = info.get("ids") or []
    index: int = info.get("index", 0)
    following = ids[index + 1] if index + 1 < len(ids) else None
    return {"previous": info.get("previous"), "next": following, "index": index,
            "length": info.get("length", len(ids))}  # fmt: skip


__all__ = ["Batching", "position"]
