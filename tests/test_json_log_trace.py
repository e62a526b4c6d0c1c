"""``--log-format json`` adds ``trace_id`` (the W3C 32-hex form) to a line logged inside an
OpenTelemetry span, and nothing when no span is current. The real OpenTelemetry SDK, in process."""

from __future__ import annotations

import json
import logging

import pytest

from jobframe.worker.logs import JsonFormatter, current_trace_id

trace = pytest.importorskip("opentelemetry.trace")
sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")


def _line() -> dict[str, object]:
    fields = {"msg": "Performed X", "levelname": "INFO", "name": "jobframe", "job_id": "j-1"}
    record = logging.makeLogRecord(fields)
    entry = json.loads(JsonFormatter().format(record))
    assert isinstance(entry, dict)
    return entry


def test_a_line_inside_a_span_carries_its_trace_id() -> None:
    tracer = sdk_trace.TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("perform X") as span:
        entry = _line()
        expected = format(span.get_span_context().trace_id, "032x")
    assert entry["trace_id"] == expected and len(expected) == 32
    assert entry["job_id"] == "j-1" and entry["message"] == "Performed X"


def test_no_span_no_trace_id() -> None:
    assert current_trace_id() is None
    assert "trace_id" not in _line()


@pytest.mark.parametrize(
    ("traceparent", "expected"),
    [
        (
            "00-4E246FBB41D8EB15052CF196C2361115-13a1defb05523f15-01",
            "4e246fbb41d8eb15052cf196c2361115",
        ),
        ("00-00000000000000000000000000000000-13a1defb05523f15-01", None),  # invalid per W3C
        ("00-not-hex", None),
        ("00-zz246fbb41d8eb15052cf196c2361115-13a1defb05523f15-01", None),
        (None, None),
    ],
)
def test_the_trace_id_of_a_carried_traceparent(traceparent: object, expected: str | None) -> None:
    from jobframe.log_subscriber import _trace_id

    assert _trace_id(traceparent) == expected
