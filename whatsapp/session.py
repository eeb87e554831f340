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
from collections.abc import Collection, Sequence
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


@dataclass(frozen=True)
class DeviceChoice:
    """Which device of its session store an account uses: the stored device ``jid``, else a
    blank one (a new login) when ``blank``, else the store's first (whatsmeow's own pick)."""

    jid: str | None = None
    blank: bool = False


def choose_device(
    account_id: int,
    recorded: str | None,
    taken: Collection[str],
    stored: Sequence[str] | None,
) -> DeviceChoice:
    """The device an account resumes in a store shared by every account (PostgreSQL).

    ``recorded``: its device JID, recorded at its last connection; ``taken``: the devices
    the other accounts recorded; ``stored``: the devices in the store (None: it did not
    answer). The rule: a recorded device is resumed while the store still holds it (resuming
    a JID the store lacks aborts the process: whatsmeow gets a nil device), else a blank
    device. An account with none recorded gets a blank device too — except account 1, which
    resumes the store's first device *that no other account recorded* (a single-account
    install, upgraded from before devices were recorded, keeps its device; another
    account's device is never taken). When the store does not answer, the record is
    trusted, and account 1 keeps whatsmeow's first-device pick only while no other account
    recorded a device."""
    if stored is None:
        if recorded:
            return DeviceChoice(jid=recorded)
        return DeviceChoice(blank=account_id != 1 or bool(taken))
    if recorded:
        return DeviceChoice(jid=recorded) if recorded in stored else DeviceChoice(blank=True)
    free = [jid for jid in stored if jid not in taken] if account_id == 1 else []
    return DeviceChoice(jid=free[0]) if free else DeviceChoice(blank=True)


def is_paired(
    store: str,
    account_id: int = 1,
    device_jid: str | None = None,
    taken: Collection[str] = (),
) -> bool:
    """Return True when the session store holds the account's logged-in device (no neonize
    import). A SQLite store is the account's own: any device is its. On PostgreSQL the
    store is shared: the account's device is the one ``choose_device`` resumes (``taken``:
    the devices the other accounts recorded)."""
    if is_postgres(store):
        return choose_device(account_id, device_jid, taken, stored_devices(store)).jid is not None
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


def stored_devices(store: str) -> list[str] | None:
    """The device JIDs in a shared PostgreSQL store, in whatsmeow's own order (its
    GetFirstDevice takes the first); None when the store does not answer."""
    try:
        import psycopg2
    except ImportError:
        return None
    try:
        conn = psycopg2.connect(store, connect_timeout=5)
    except psycopg2.Error:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('whatsmeow_device') IS NOT NULL")
            row = cur.fetchone()
            if not row or not row[0]:
                return []  # no device was ever stored
            cur.execute("SELECT jid FROM whatsmeow_device")  # as whatsmeow lists them
            return [str(jid) for (jid,) in cur.fetchall()]
    except psycopg2.Error:
        return None
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
