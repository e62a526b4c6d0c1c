"""PostgreSQL LISTEN/NOTIFY: idle workers sleep on a notification instead of polling."""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa

CHANNEL = "jobframe_jobs"
log = logging.getLogger("jobframe.worker")


class Listener:
    """One dedicated autocommit connection that LISTENs; ``wait(t)`` returns early on NOTIFY."""

    def __init__(self, url: sa.URL) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` s for a notification. True if one came."""
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                    return True
                return False
            except Exception as exc:
                log.warning("LISTEN connection failed (%s); polling until it is back", exc)
                self.close()
                raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection may fail too; nothing to keep
                log.debug("closing the LISTEN connection failed", exc_info=True)

    def __del__(self) -> None:
        # A backend dropped without deregister() (a script, a test) must not leak its connection.
        self.close()
