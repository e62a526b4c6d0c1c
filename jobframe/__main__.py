"""``python -m jobframe``: the same command as ``jobframe``."""

from __future__ import annotations

from jobframe.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
