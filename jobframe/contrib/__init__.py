"""Integrations with other tools (tracing, metrics), each behind an extra (``jobframe[otel]``,
``jobframe[prometheus]``): the core never imports them unless they are enabled."""
