"""SQLite WAL checkpoints on their own connection and thread, beside the database thread.

SQLite's automatic checkpoint runs inside the commit that takes the write-ahead log past
1 000 pages, and fsyncs the database file there. Every query waits behind that commit on
the one database thread: measured during a 50 000-message history sync, single 250-row
commits took 16–243 ms instead of ~1 ms. So the database thread's connection has automatic
checkpoints off, and this thread runs PASSIVE checkpoints, which never block the writer
or readers, about once a second. The last connection to close checkpoints what is left.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1.0  # seconds; the log holds about this much writing at most


class WalCheckpointer:
    """A daemon thread checkpointing one SQLite file in PASSIVE mode."""

    def __init__(self, path: str, every: float | None = None) -> None:
        self.path = path
        self.every = CHECKPOINT_EVERY if every is None else every
        self.last: tuple[int, int, int] = (0, 0, 0)  # busy, frames in the log, checkpointed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        """Start checkpointing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (its current pass finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.Error as exc:
            logger.error("WAL checkpointer cannot open the database: %s", exc)
            return
        failing = False
        try:
            while not self._stop.wait(self.every):
                try:
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # disk full, I/O error: the next pass tries again
                    if not failing:  # once, not every second while the disk stays full
                        logger.warning("WAL checkpoint failed (retrying quietly): %s", exc)
                    failing = True
                    continue
                if failing:
                    logger.info("WAL checkpoints work again")
                    failing = False
                self.last = (int(row[0]), int(row[1]), int(row[2]))
        finally:
            conn.close()
