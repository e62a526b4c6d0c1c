"""Optional integrations with other tools (tracing, metrics), each behind its own extra."""
