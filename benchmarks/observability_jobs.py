"""The job of `observability.py`, imported by its workers: a no-op that appends one byte to a file
(the count the driver polls), and, when ``BENCH_TRACING=1``, the OpenTelemetry SDK installed with
a batch span processor whose exporter drops the spans (what a real exporter costs beyond that,
the network, is not jobframe's)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jobframe

_fd: int | None = None


class NoopJob(jobframe.Job):
    """Counts itself and does nothing else."""

    queue_as = "bench"

    def perform(self, i: int) -> None:
        global _fd
        if _fd is None:
            _fd = os.open(os.environ["BENCH_COUNT_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(_fd, b"x")


def _install_tracing() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        """Receives every finished span and keeps none."""

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)


if os.environ.get("BENCH_TRACING") == "1":
    _install_tracing()
