"""`RabbitMQInspector`: the plugin's jobs for ``jobframe queues|jobs|retry|discard`` and the
dashboard (`jobframe.backend.Inspector`), over AMQP alone.

Where the jobs are: ready ones in the job queues (their names in the catalogue), scheduled ones on
the 32 queues of the delay ladder (their jobframe queue and due time in headers), dead ones in
``<prefix>.dead``. Counts are passive declares; lists, lookups and actions read messages without
consuming them (`jobframe_rabbitmq.browsing`), at most `browsing.LIMIT` per call. An action
publishes what replaces a message (confirmed by the broker) before it acknowledges the message, so
a failure in between leaves a duplicate, never a loss.

What RabbitMQ does not tell an AMQP client is declared, not made up:

- **running**: messages a worker holds unacknowledged are not counted by a passive declare and
  cannot be read by anyone else, so ``jobs("running")`` is empty, ``count("running")`` is 0 and
  `pending` raises `UnsupportedInspection`;
- **workers**, **stats** and **history**: nothing records worker processes or counts jobs
  (RabbitMQ watches the connections itself), so `workers` is empty, `stats` has no keys and
  `history` no minutes;
- **pause/resume**: raise `UnsupportedInspection` (the adapter does not declare pausing);
- **latency**: reported as 0 (a priority queue's head is its most urgent job, not its oldest).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from jobframe import payload_summary
from jobframe.backend.inspector import (
    HistoryKind,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.errors import InvalidOptionError, JobframeError
from jobframe_rabbitmq import browsing, catalogue, scheduling
from jobframe_rabbitmq.connection import AMQP_ERRORS, Link
from jobframe_rabbitmq.messages import (
    ERROR_HEADER,
    QUEUE_HEADER,
    Message,
    amqp_priority,
    ready_again,
)

if TYPE_CHECKING:
    from jobframe_rabbitmq.adapter import RabbitMQAdapter

#: messages published and acknowledged together by one retry, run-now or discard step
CHUNK = 500


class UnsupportedInspection(JobframeError, NotImplementedError):
    """The RabbitMQ inspector cannot do this over AMQP (see the module's docstring)."""


class BrokerUnavailable(JobframeError, ConnectionError):
    """The inspector could not reach the broker, or lost it (the next call connects again)."""


def _unavailable(url: str, exc: BaseException) -> BrokerUnavailable:
    """The error for ``exc``, naming the broker by host and port only: never the password."""
    parts = urlsplit(url)
    detail = f"{type(exc).__name__}: {exc}"
    for secret in {parts.password, unquote(parts.password or "")} - {None, ""}:
        detail = detail.replace(str(secret), "***")
    return BrokerUnavailable(
        f"the rabbitmq inspector cannot talk to RabbitMQ at {parts.hostname}:"
        f"{parts.port or 5672} ({detail}); check that the broker runs there and that the "
        "adapter's url option (or JOBFRAME_URL) points at it."
    )


def _seconds(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _error(raw: Any) -> dict[str, Any] | None:
    """A dead letter's ``jobframe-error`` header, safe to show."""
    try:
        return payload_summary.error(json.loads(raw)) if isinstance(raw, str | bytes) else None
    except ValueError:
        return None


class RabbitMQInspector(Inspector):
    """Implements `jobframe.backend.Inspector` on a connection of its own."""

    #: RabbitMQ cannot search message bodies: the dashboard filters what it lists itself.
    supports_search = False
    #: Nothing counts finished jobs, the jobs workers hold unacknowledged are not counted by a
    #: passive declare nor readable by anyone else, and worker processes are not recorded.
    counts_outcomes = False
    counts_pending = False
    sees_workers = False

    def __init__(self, adapter: RabbitMQAdapter) -> None:
        self.adapter = adapter
        self.names = adapter.names
        self._link = Link(adapter.url, adapter.connect_timeout)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """The inspector's connection, held for one call.

        Raises:
            BrokerUnavailable: the broker cannot be reached or dropped the connection.
        """
        with self._link.lock:
            try:
                yield self._link.connection()
            except AMQP_ERRORS as exc:
                self._link.drop()  # the next call reconnects
                raise _unavailable(self._link.url, exc) from exc

    def close(self) -> None:
        self._link.close()

    # -- where the jobs are ------------------------------------------------------------------------

    def _queue_names(self, connection: Any) -> list[str]:
        return sorted(catalogue.browse(connection, self.names))

    def _sources(self, connection: Any, state: State, queue: str | None) -> list[str]:
        """The RabbitMQ queues holding jobs of ``state`` (of jobframe ``queue``, if given)."""
        if state == "ready":
            names = [queue] if queue is not None else self._queue_names(connection)
            return [amqp for amqp in map(self._amqp_queue, names) if amqp is not None]
        if state == "scheduled":
            return [self.names.delay(level) for level in range(scheduling.LEVELS)]
        if state == "dead":
            return [self.names.dead]
        return []  # running: held by workers, invisible to everyone else

    def _amqp_queue(self, queue: str) -> str | None:
        """The RabbitMQ queue of jobframe queue ``queue``; None for a name RabbitMQ cannot hold
        (too long), which therefore has no jobs."""
        try:
            return self.names.queue(queue)
        except InvalidOptionError:
            return None

    def _queue_of(self, held: browsing.Held) -> str | None:
        """The jobframe queue a message is for: its header, else what its payload names."""
        named = held.header(QUEUE_HEADER)
        if isinstance(named, bytes):
            named = named.decode(errors="replace")
        if isinstance(named, str) and named:
            return named
        return payload_summary.summarize(held.body).queue_name

    def _info(self, held: browsing.Held, state: State) -> JobInfo:
        data = payload_summary.summarize(held.body)
        due = held.header(scheduling.DUE_HEADER)
        scheduled_at = data.scheduled_at
        if state == "scheduled" and isinstance(due, int):
            scheduled_at = datetime.fromtimestamp(due / 1000, UTC)
        dead = state == "dead"
        return JobInfo(
            id=held.id,
            state=state,
            queue=payload_summary.text(self._queue_of(held) or ""),
            job_class=data.job_class,
            job_id=data.job_id,
            arguments=data.arguments,
            priority=data.priority,
            enqueued_at=data.enqueued_at,
            scheduled_at=scheduled_at,
            executions=data.executions,
            error=_error(held.header(ERROR_HEADER)) if dead else None,
            raw=held.body,
            failed_at=_seconds(held.properties.timestamp) if dead else None,
        )

    def _scan(self, state: State, queue: str | None, stop: int) -> list[JobInfo]:
        """The first ``stop`` jobs of ``state`` (in ``queue``), reading at most `browsing.LIMIT`
        messages; scheduled jobs soonest due first, the others in queue order."""
        found: list[JobInfo] = []
        enough = state != "scheduled"  # in queue order, the first `stop` found are the page
        with self._connection() as connection:
            present = browsing.sizes(connection, self._sources(connection, state, queue))
            with browsing.window(connection) as channel:
                for held in browsing.read_each(channel, present, browsing.LIMIT):
                    info = self._info(held, state)
                    if queue is None or info.queue == queue:
                        found.append(info)
                        if enough and len(found) >= stop:
                            break
        if state == "scheduled":
            found.sort(key=lambda i: i.scheduled_at or datetime.max.replace(tzinfo=UTC))
        return found[:stop]

    # -- reading -----------------------------------------------------------------------------------

    def queues(self) -> list[QueueInfo]:
        with self._connection() as connection:
            amqp = {name: self._amqp_queue(name) for name in self._queue_names(connection)}
            present = browsing.sizes(connection, [a for a in amqp.values() if a is not None])
        return [
            QueueInfo(name, present[queue], 0.0, False)
            for name, queue in amqp.items()
            if queue is not None and queue in present
        ]

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]:
        if search or job_class:
            raise ValueError("the rabbitmq inspector cannot search (supports_search is False)")
        return self._scan(state, queue, offset + limit)[offset:]

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int:
        if search or job_class:
            raise ValueError("the rabbitmq inspector cannot search (supports_search is False)")
        if state in ("scheduled", "dead") and queue is not None:
            return len(self._scan(state, queue, browsing.LIMIT))  # only the headers say
        with self._connection() as connection:
            present = browsing.sizes(connection, self._sources(connection, state, queue))
        return sum(present.values())

    def pending(self) -> int:
        raise UnsupportedInspection(
            "the rabbitmq inspector cannot count pending jobs: RabbitMQ does not tell an AMQP "
            "client how many jobs workers hold unacknowledged. Add count('ready') and "
            "count('scheduled') instead (running jobs left out), or read the queues' "
            "'unacked' column in the RabbitMQ management UI."
        )

    def job(self, id: str) -> JobInfo | None:
        """One job by its id, looked for among the dead, ready and scheduled ones (the first
        `browsing.LIMIT` of each); reading stops where it is found."""
        states: tuple[State, ...] = ("dead", "ready", "scheduled")
        with self._connection() as connection:
            for state in states:
                present = browsing.sizes(connection, self._sources(connection, state, None))
                with browsing.window(connection) as channel:
                    for held in browsing.read_each(channel, present, browsing.LIMIT):
                        if held.id == id:
                            return self._info(held, state)
        return None

    def workers(self) -> list[WorkerInfo]:
        """Always empty: workers are not recorded (RabbitMQ watches their connections)."""
        return []

    def stats(self, day: str | None = None) -> Stats:
        """Always empty: nothing counts processed or failed jobs on RabbitMQ."""
        return {}

    def history(self, kind: HistoryKind, since_minute: int | None = None) -> dict[int, int]:
        """Always empty (no minute has a count): nothing counts finished jobs on RabbitMQ."""
        return {}

    # -- acting ------------------------------------------------------------------------------------

    def _take(
        self,
        state: State,
        ids: list[str] | None,
        all: bool,
        replace: Callable[[browsing.Held], Message | None] | None,
    ) -> int:
        """Remove the jobs of ``state`` named by ``ids`` (or all of them), publishing first what
        ``replace`` makes of each (a message it cannot replace is left where it is)."""
        wanted = None if all else set(ids or [])
        if wanted is not None and not wanted:
            return 0
        done = 0
        with self._connection() as connection:
            present = browsing.sizes(connection, self._sources(connection, state, None))
            # With `all`, no more than were there at the start: a retried job that fails at once
            # is dead again, and must not be retried again by the same call.
            budget = sum(present.values()) if all else browsing.LIMIT
            with browsing.window(connection) as channel:
                batch: list[tuple[browsing.Held, Message | None]] = []
                met: set[str] = set()  # the ids named and found: reading stops once all are
                for held in browsing.read_each(channel, present, budget):
                    if wanted is not None and held.id not in wanted:
                        continue  # held until the window closes, then back in place
                    met.add(held.id)
                    message = replace(held) if replace is not None else None
                    if replace is None or message is not None:
                        batch.append((held, message))
                    if len(batch) >= CHUNK:
                        done += self._settle(channel, batch)
                        batch = []
                    if wanted is not None and met >= wanted:
                        break
                done += self._settle(channel, batch)
        return done

    def _settle(self, channel: Any, batch: list[tuple[browsing.Held, Message | None]]) -> int:
        """Publish the replacements (confirmed), then acknowledge what they replace."""
        self.adapter.publisher.publish([m for _, m in batch if m is not None])
        for held, _ in batch:
            channel.basic_ack(held.tag)
        return len(batch)

    def _ready(self, held: browsing.Held, priority: int | None) -> Message | None:
        queue = self._queue_of(held)
        if not queue:
            return None  # names no queue: it stays where it is
        if priority is None:
            try:
                stored = payload_summary.summarize(held.body).priority
                priority = amqp_priority(stored, self.adapter.topology.max_priority)
            except InvalidOptionError:
                priority = 0
        try:
            return ready_again(held.properties, held.body, self.names, queue, priority)
        except InvalidOptionError:
            return None  # a queue name RabbitMQ cannot take

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Put dead jobs back on their queues, as they were stored, with their id."""
        return self._take("dead", ids, all, lambda held: self._ready(held, None))

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int:
        """Delete dead (or scheduled) jobs for good."""
        if state not in ("dead", "scheduled"):
            raise ValueError(f"discard takes dead or scheduled jobs, not {state!r} ones")
        return self._take(state, ids, all, None)

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int:
        """Take scheduled jobs off the delay ladder and make them ready now."""
        return self._take(
            "scheduled", ids, all, lambda held: self._ready(held, held.properties.priority or 0)
        )

    def clear(self, queue: str) -> int:
        """Delete every ready job of ``queue`` (``queue.purge``); how many were deleted."""
        amqp = self._amqp_queue(queue)
        if amqp is None:
            return 0
        with self._connection() as connection:
            if amqp not in browsing.sizes(connection, [amqp]):
                return 0
            channel = connection.channel()
            try:
                return int(channel.queue_purge(amqp).method.message_count)
            finally:
                channel.close()

    def pause(self, queue: str) -> None:
        raise UnsupportedInspection(
            "the rabbitmq adapter cannot pause a queue: its workers consume what RabbitMQ pushes "
            "them. Stop the workers of that queue (or run them without it in --queues) instead."
        )

    def resume(self, queue: str) -> None:
        raise UnsupportedInspection(
            "the rabbitmq adapter cannot pause a queue, so there is nothing to resume."
        )
