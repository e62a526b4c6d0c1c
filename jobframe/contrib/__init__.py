"""Integrations with other tools, each behind an extra (``jobframe[otel]``, ...): the core never
imports them unless they are enabled."""
