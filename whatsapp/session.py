"""Where each linked account's WhatsApp files live (its journal, its session store),
whether a store holds a paired device, and the DATA_DIR lock.

Account 1 keeps the paths of a single-account install (DATA_DIR/whatsapp/journal,
DATA_DIR/whatsapp/session.db); account N>1 lives under DATA_DIR/whatsapp/accounts/N/ —
by id, not label: a label can be renamed. On PostgreSQL every account shares the URL
(whatsmeow's container holds several devices; neonize_client.py picks each one's).

Standard library only: `wa-secretary check` uses this without loading neonize.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import AppError


class AlreadyRunning(AppError):
    """Another process holds the DATA_DIR lock."""


#: Files and directories of one account are the owner's only.
PRIVATE_DIR = 0o700


@dataclass(frozen=True)
class AccountPaths:
    """Where one linked account's WhatsApp files live."""

    #: Its write-ahead event journal (whatsapp/journal.py).
    journal_dir: Path
    #: Its neonize session store when it is a SQLite file.
    session_store_file: Path
    #: Downloaded attachments: shared by every account (DATA_DIR/media) — a file is named
    #: by its chat, sender and message id, and holds that message's bytes whoever fetched it.
    media_dir: Path

    def create(self) -> AccountPaths:
        """Make the account's directories (0700 when made here); return the paths."""
        for directory in (self.journal_dir, self.session_store_file.parent):
            _make_private(directory)
        return self


def account_paths(data_dir: Path, account_id: int = 1) -> AccountPaths:
    """Where account ``account_id`` (1, 2, ...) keeps its files; account 1 where a
    single-account install always kept them."""
    if isinstance(account_id, bool) or not isinstance(account_id, int) or account_id < 1:
        raise ValueError(f"an account id is 1, 2, ...: not {account_id!r}")
    whatsapp = data_dir / "whatsapp"
    home = whatsapp if account_id == 1 else whatsapp / "accounts" / str(account_id)
    return AccountPaths(home / "journal", home / "session.db", data_dir / "media")


def _make_private(directory: Path) -> None:
    """Make ``directory`` and its missing parents, each 0700 (existing ones are left as
    they are: their owner chose)."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for d in reversed(missing):
        d.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(d, PRIVATE_DIR)  # mkdir's mode passes through the umask


def is_postgres(store: str) -> bool:
    """Whether a session store name is a PostgreSQL URL (else a SQLite file)."""
    return store.startswith(("postgres://", "postgresql://"))


def session_store(data_dir: Path, database_url: str | None = None, account_id: int = 1) -> str:
    """Return neonize's store name of an account: the PostgreSQL URL when one is configured
    (shared by every account), else the account's own file."""
    paths = account_paths(data_dir, account_id)
    if database_url and is_postgres(database_url):
        return database_url
    return str(paths.session_store_file.resolve())


def is_paired(store: str, account_id: int = 1, device_jid: str | None = None) -> bool:
    """Return True when the session store holds the account's logged-in device (no neonize
    import). A SQLite store is the account's own: any device is its. On PostgreSQL the
    store is shared: with ``device_jid`` that device must be there; without it, account 1
    counts any device (as a single-account install always did), account N>1 none (it has
    never logged in)."""
    if is_postgres(store):
        if device_jid is None and account_id != 1:
            return False
        return _pg_paired(store, device_jid)
    path = Path(store)
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return bool(conn.execute("SELECT COUNT(*) FROM whatsmeow_device").fetchone()[0] > 0)
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _pg_paired(store: str, device_jid: str | None) -> bool:
    """Whether the shared PostgreSQL store holds a device (``device_jid``: that one)."""
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
            if device_jid is None:
                cur.execute("SELECT COUNT(*) FROM whatsmeow_device")
            else:
                cur.execute("SELECT COUNT(*) FROM whatsmeow_device WHERE jid = %s", [device_jid])
            count = cur.fetchone()
            return bool(count and count[0])
    finally:
        conn.close()


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
