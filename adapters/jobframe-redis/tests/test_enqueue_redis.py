"""The single-job enqueue path: its command is packed from a head built once per Store."""

from __future__ import annotations

from typing import Any

import pytest

import jobframe
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.wire import bulk, pack


class SingleJob(jobframe.Job):
    queue_as = "single"

    def perform(self, n: int) -> None:
        pass


def test_the_prepacked_command_is_the_full_command(adapter: RedisAdapter) -> None:
    store = adapter.store
    entry = ("id1", "single", -3, 0, b'{"x":"\xc3\xa9"}', "job-1", "")
    full = pack(("EVALSHA", store.enqueue.sha, len(store.enqueue_keys), *store.enqueue_keys,
                 store.stem, 1700000000000, *entry))  # fmt: skip
    assert store._enqueue_head + bulk((1700000000000, *entry)) == full


def test_single_enqueues_survive_a_script_flush(adapter: RedisAdapter) -> None:
    client: Any = adapter.store.client
    SingleJob.perform_later(1)
    client.script_flush()  # as after a Redis restart: the next EVALSHA gets NOSCRIPT
    job = SingleJob.perform_later(2)
    later = SingleJob.set(wait=60).perform_later(3)
    assert job.successfully_enqueued and later.successfully_enqueued
    inspector = adapter.inspector()
    assert inspector.count("ready") == 2 and inspector.count("scheduled") == 1


def test_the_fast_tail_is_the_general_packing(monkeypatch: Any) -> None:
    from jobframe_redis import connection

    for entry in [("id1", "single", -3, 0, b'{"x":"\xc3\xa9"}', "job-1", ""),
                  ("ab12", "qu\u00e9ue", 2047, 1700000060000, b"", "", "batch-9")]:  # fmt: skip
        assert connection._enqueue_tail(entry) == bulk(entry)


@pytest.mark.parametrize("fast", [True, False], ids=["orjson", "without orjson"])
def test_payloads_are_stored_as_dump_payload_writes_them(fast: bool, monkeypatch: Any) -> None:
    from jobframe.backend.payload import dump_payload, load_payload
    from jobframe_redis import connection

    if not fast:
        monkeypatch.setattr(connection, "_fast_dumps", None)
    else:
        assert connection._fast_dumps is not None, "orjson is in the dev group"

    payloads: list[dict[str, Any]] = [
        {"a": "caf\u00e9 \U0001f600"},  # non-ASCII: escaped, as dump_payload does
        {"a": 2**70},  # beyond 64 bits: orjson refuses it
        {"a": "\ud800"},  # a lone surrogate: orjson refuses it
        {"a": 1e16, "b": [1, None, True, -0.5], "c": 'x\n\x01"\\/', "d": {}},
    ]
    for payload in payloads:
        data = connection.dump(payload)
        assert data.isascii()
        assert data == dump_payload(payload) or load_payload(data) == load_payload(
            dump_payload(payload)
        )
