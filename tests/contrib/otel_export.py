"""Imported by the worker processes of tests/contrib/test_opentelemetry_workers.py: installs the
OpenTelemetry SDK with an exporter that appends every finished span, as one JSON line, to
``spans.jsonl`` in the worker's folder (its working directory), where the test reads it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

SPANS = "spans.jsonl"


class FileExporter(SpanExporter):
    """Appends spans to a file as JSON lines (one write per span: lines never interleave)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.path.open("a") as out:
            for span in spans:
                out.write(span.to_json(indent=None) + "\n")
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(FileExporter(Path.cwd() / SPANS)))
trace.set_tracer_provider(provider)
