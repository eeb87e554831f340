"""Where the WhatsApp session store lives, whether it holds a paired device, and the DATA_DIR lock.

Standard library only: `wa-secretary check` uses this without loading neonize.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import IO

from core.errors import AppError


class AlreadyRunning(AppError):
    """Another process holds the DATA_DIR lock."""


def session_store(data_dir: Path, database_url: str | None = None) -> str:
    """Return neonize's store name: the PostgreSQL URL when one is configured, else a file."""
    if database_url and database_url.startswith(("postgres://", "postgresql://")):
        return database_url
    return str((data_dir / "whatsapp" / "session.db").resolve())


def is_paired(store: str) -> bool:
    """Return True when the session store holds a logged-in device (no neonize import)."""
    if store.startswith("postgres"):
        try:
            import psycopg2
        except ImportError:
            return False
        try:
            conn = psycopg2.connect(store, connect_timeout=5)
        except psycopg2.Error:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('whatsmeow_device') IS NOT NULL")
                row = cur.fetchone()
                if not row or not row[0]:
                    return False
                cur.execute("SELECT COUNT(*) FROM whatsmeow_device")
                count = cur.fetchone()
                return bool(count and count[0])
        finally:
            conn.close()
    path = Path(store)
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM whatsmeow_device").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False


class DataDirLock:
    """An exclusive ``flock`` on DATA_DIR/.lock, held for the life of the process."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunning(
                f"another wa-secretary (pid {holder}) is already using {self.path.parent}; "
                "two processes on one WhatsApp session knock each other off. Stop it first."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
