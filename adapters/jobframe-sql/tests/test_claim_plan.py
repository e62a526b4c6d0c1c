"""The claim query stays on an index, and reads a bounded number of rows, whatever finished history
``jobframe_jobs`` holds: the plan the database runs (``EXPLAIN ANALYZE``, as JSON) is asserted for
a claim from one queue (``jobframe_jobs_claim``, or on PostgreSQL ``jobframe_jobs_ready`` where the
planner finds that as cheap) and from every queue (``jobframe_jobs_ready``, schema version 6),
beside a ready backlog of two queues.

The history is the issue's 10^7 finished rows on PostgreSQL, in the adapter's own (logged) table:
`add_finished_bulk` drops the table's indexes, inserts from four connections and builds the
indexes again, four at a time: 66-113 s on this 2-core machine at load average 5-18 (insert
17-27 s, indexes 48-86 s, the claim index's build all of it); one INSERT through all nine
indexes (`add_finished`) took 165-395 s. MariaDB keeps 10^5 rows: a million took 48 s there at
load 10-12 (25 s at load 4), over the 40 s the suite allows it under load.
``JOBFRAME_SCALE_ROWS`` sets the count for both (docs/sql.md)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jobframe import queue_adapters
from jobframe.testing.reliability_jobs import RecordJob
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import SCHEMA_VERSION, jobs, versions
from jobframe_sql.testing import add_finished, add_finished_bulk, sql_adapter
from jobframe_sql.worker_backend import claim_values, claiming, pick_ready

ROWS = {"postgresql": 10_000_000, "mariadb": 100_000}
READY = 200  # per queue
WANT = 10


def _nodes(plan: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON plan, depth first."""
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _nodes(value)


def _history(adapter: SQLAdapter, database: str) -> int:
    rows = int(os.environ.get("JOBFRAME_SCALE_ROWS", ROWS[database]))
    began, phases = time.monotonic(), ""
    if database == "postgresql":
        took = add_finished_bulk(adapter.engine, rows, finished_at=1_000)
        phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in took.items())
    else:
        add_finished(adapter.engine, rows, finished_at=1_000)
    with queue_adapters.override(adapter):
        for queue in ("default", "other"):
            jobs = [RecordJob("/dev/null", str(i)) for i in range(READY)]
            assert RecordJob.set(queue=queue).perform_all_later(jobs) == READY
    with adapter.engine.connect() as conn:  # what autovacuum's analyze does after a bulk load
        if database == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE TABLE jobframe_jobs")
    print(f"{database}: {rows} finished rows in {time.monotonic() - began:.1f}s (load "
          f"{os.getloadavg()[0]:.1f}) {phases}")  # fmt: skip
    return rows


@pytest.mark.slow
def test_postgresql_claims_read_an_index_not_the_history() -> None:
    with sql_adapter("postgresql") as adapter:
        rows = _history(adapter, "postgresql")
        for queue, index in (("default", "jobframe_jobs_claim"), (None, "jobframe_jobs_ready")):
            statement = claiming(pick_ready(queue, WANT, True), claim_values("p", "t", 0))
            sql = str(statement.compile(adapter.engine, compile_kwargs={"literal_binds": True}))
            with adapter.engine.connect() as conn, conn.begin() as transaction:
                explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql
                [[found]] = conn.exec_driver_sql(explain).all()
                transaction.rollback()  # EXPLAIN ANALYZE ran the claim
            plan = found if isinstance(found, list) else json.loads(found)
            top = plan[0]["Plan"]
            assert top["Actual Rows"] == WANT, top
            scans = [n for n in _nodes(plan) if n.get("Relation Name") == "jobframe_jobs"]
            assert not [n for n in scans if n["Node Type"] == "Seq Scan"], plan
            # The pick: the Limit over the locked rows (the rest updates the claimed rows).
            [pick] = [n for n in _nodes(plan) if n.get("Node Type") == "Limit"]
            picked = [n for n in _nodes(pick) if n.get("Relation Name") == "jobframe_jobs"]
            used = [n.get("Index Name") for n in picked]
            assert used in (["jobframe_jobs_claim"], ["jobframe_jobs_ready"]), (
                f"the claim from {queue or 'every queue'} read no claim index: {plan}"
            )
            assert queue is not None or used == [index], plan
            examined = sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in picked)
            assert examined <= 2 * READY, f"read {examined} rows of {rows + 2 * READY}: {plan}"
            blocks = pick["Shared Hit Blocks"] + pick["Shared Read Blocks"]
            assert blocks < 100, f"{blocks} blocks read to pick {WANT} rows: {plan}"
            print(f"claim from {queue or 'every queue'}: {picked[0]['Index Name']}, {examined} "
                  f"index rows, {blocks} blocks, {plan[0]['Execution Time']:.2f} ms")  # fmt: skip


@pytest.mark.slow
def test_mariadb_claims_read_an_index_not_the_history() -> None:
    with sql_adapter("mariadb") as adapter:
        rows = _history(adapter, "mariadb")
        for queue, index in (("default", "jobframe_jobs_claim"), (None, "jobframe_jobs_ready")):
            pick = pick_ready(queue, WANT, True)
            sql = str(pick.compile(adapter.engine, compile_kwargs={"literal_binds": True}))
            with adapter.engine.connect() as conn, conn.begin() as transaction:
                [[found]] = conn.exec_driver_sql("ANALYZE FORMAT=JSON " + sql).all()
                transaction.rollback()
            plan = json.loads(found)
            scans = [n for n in _nodes(plan) if n.get("table_name") == "jobframe_jobs"]
            assert scans and all(n["access_type"] != "ALL" for n in scans), plan
            assert [n["key"] for n in scans] == [index], plan
            assert "filesort" not in json.dumps(plan), f"the claim sorted its rows: {plan}"
            examined = sum(n["r_rows"] * n.get("r_loops", 1) for n in scans)
            assert examined <= 2 * WANT, f"read {examined} rows of {rows + 2 * READY}: {plan}"
            print(f"claim from {queue or 'every queue'}: {index}, {examined} rows read")


def test_a_version_5_database_upgrades_to_the_ready_index(adapter: SQLAdapter) -> None:
    waiting = RecordJob.perform_later("/dev/null", "before")
    with adapter.engine.begin() as conn:
        dialect = conn.dialect.name
        on = "" if dialect in ("postgresql", "sqlite") else f" ON {jobs.name}"
        conn.exec_driver_sql(f"DROP INDEX jobframe_jobs_ready{on}")
        conn.execute(sa.delete(versions))
        conn.execute(sa.insert(versions).values(version=5))
    assert db.upgrade(adapter.engine) == (5, SCHEMA_VERSION) == (5, 6)
    assert db.upgrade(adapter.engine) == (6, 6)
    with adapter.engine.connect() as conn:
        indexes = sa.inspect(conn).get_indexes(jobs.name)
    [ready] = [index for index in indexes if index["name"] == "jobframe_jobs_ready"]
    partial = dialect in ("postgresql", "sqlite")  # the others lead with state
    expected = ["priority", "seq"] if partial else ["state", "priority", "seq"]
    assert ready["column_names"] == expected
    [claim] = adapter.worker_backend().fetch("p1", ["*"], 5, 0)
    assert claim.id == waiting.provider_job_id
