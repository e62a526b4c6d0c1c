"""Chain links the Redis backend ends itself (`jobframe.tracking.chains.broken_records`).

A script that ends a waiting link (drop.lua: cancel, discard; the CLEAR script) or sends a
running one dead (maintain.lua: a poison pill) writes the ``cancelled`` records of the links
after it in the same call, so no crash leaves them ``unknown``. Those records are built here, in
Python, from the link's payload (one builder for every backend); the scripts cannot know in
advance which links they will end, so they ask: a script that would end a link whose payload
names later links, without their records, changes nothing and returns ``[-1, ids...]``; `run`
then builds the records of those ids and calls it again. Jobs in no chain never pay a second
call (the script's test is a substring search of the payload it reads anyway).
"""

from __future__ import annotations

from typing import Any

from redis.commands.core import Script

from jobframe.tracking.chains import broken_records
from jobframe_redis.connection import Store
from jobframe_redis.results import record_args

#: calls before giving up: each asks only for links that appeared since the previous one (a
#: queue being cleared while chains are enqueued into it), so two are the most seen in tests
TRIES = 5


def run(store: Store, script: Script, keys: list[str], args: list[Any], ended: str) -> Any:
    """``script`` called with ``args``, then the records it asks for (see the module doc).

    Raises:
        RuntimeError: the script still asked for records after `TRIES` calls.
    """
    extra: list[Any] = []
    for _ in range(TRIES):
        found = store.run(script, keys, [*args, *extra])
        if not (isinstance(found, list) and found and found[0] == -1):
            return found
        ids = [id.decode() if isinstance(id, bytes) else str(id) for id in found[1:]]
        payloads = store.client.hmget(store.keys.jobs, ids)
        for id, payload in zip(ids, payloads, strict=True):
            records = broken_records(payload if isinstance(payload, bytes) else None, ended)
            extra += [id, len(records)]  # 0 records: not a link after all, asked no more
            for record in records:
                extra += record_args(record)
    raise RuntimeError(
        f"{TRIES} script calls each found new chain links to end; retry the operation"
    )


__all__ = ["TRIES", "run"]
