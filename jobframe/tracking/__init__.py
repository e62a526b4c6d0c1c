"""Job status, results, progress, batches and chains (DESIGN.md 6.4)."""
