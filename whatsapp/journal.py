"""A durable journal of raw WhatsApp data events, written before the handler returns.

whatsmeow acknowledges an event to WhatsApp once our callback returns, and WhatsApp never
sends an acknowledged event again. So the gateway appends the serialized protobuf here first
(a length-prefixed record), waits until it is on disk (``wait_durable``: fsync, shared by
every caller waiting at the time — group commit), and only then lets the callback return.
It then handles the event and advances a checkpoint. At start-up, records after the
checkpoint are handled again; ingest is idempotent, so a replay stores nothing twice.
Only data events are journaled; connection events describe the past session, not this one.
The file is emptied once everything in it is handled (the database, with synchronous
commits, holds it from then on).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

HEADER = struct.Struct(">IH")  # payload length, name length
JOURNALED = frozenset(
    {
        "message",
        "receipt",
        "history_sync",
        "group_info",
        "joined_group",
        "call_offer",
        "call_offer_notice",
        "call_accept",
        "call_terminate",
        "undecryptable",
    }
)
MAX_RECORD = 256 * 1024 * 1024


class EventJournal:
    """Append-only file plus a checkpoint file holding the offset already handled."""

    def __init__(
        self,
        directory: Path,
        durable: bool = True,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        self.durable = durable
        self._fsync = fsync
        self._sync_lock = threading.Lock()  # one fsync at a time; the others find theirs done
        self._synced = 0  # bytes of the current file known to be on disk
        self.generation = 0  # counts compactions: offsets of an older file are all handled
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "events.journal"
        self.checkpoint_path = directory / "events.checkpoint"
        # Unbuffered: a write that fails (disk full) must not leave bytes behind in a buffer
        # to turn up later in the middle of the file.
        self._file: BinaryIO = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept open
        self.end = self._file.tell()
        self.handled = min(self._read_checkpoint(), self.end)
        good = max((end for _, _, end in self.pending()), default=self.handled)
        if good < self.end:  # a torn tail from a kill mid-write: drop it before appending
            logger.warning("journal: dropping %d byte(s) of a torn record", self.end - good)
            self._file.truncate(good)
            self._file.seek(good)
            self.end = good

    def _read_checkpoint(self) -> int:
        try:
            return int(self.checkpoint_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def append(self, name: str, payload: bytes) -> int:
        """Write one record to the OS; return the offset just past it. On an error (disk
        full) the partial record is cut off again, so the records after it still parse."""
        encoded = name.encode()
        record = memoryview(HEADER.pack(len(payload), len(encoded)) + encoded + payload)
        try:
            while record:
                record = record[self._file.write(record) :]
        except OSError:
            self._file.truncate(self.end)
            raise
        self.end = self._file.tell()
        return self.end

    def wait_durable(self, generation: int, end: int) -> None:
        """Return once the record ending at ``end`` is on disk (blocking: call it off the
        event loop). Group commit: while one fsync runs, later callers queue on the lock and
        usually find their record covered by the next one."""
        if not self.durable:
            return
        with self._sync_lock:
            if generation != self.generation or self._synced >= end:
                return  # synced by another caller, or handled and compacted meanwhile
            target = self.end
            self._fsync(self._file.fileno())
            self._synced = target

    def mark_handled(self, offset: int) -> None:
        """Advance the checkpoint; compact the file once everything is handled (unless an
        fsync is running right now: then next time). The checkpoint is written first: if
        that fails, the file is left whole (a replay of handled records is harmless, a
        checkpoint past the file's end is not)."""
        self.handled = max(self.handled, offset)
        compact = (
            self.handled >= self.end and self.end > 0 and self._sync_lock.acquire(blocking=False)
        )
        try:
            tmp = self.checkpoint_path.with_suffix(".tmp")
            tmp.write_text("0" if compact else str(self.handled))
            os.replace(tmp, self.checkpoint_path)
            if compact:
                self._file.truncate(0)
                self.end = self.handled = self._synced = 0
                self.generation += 1
        finally:
            if compact:
                self._sync_lock.release()

    def pending(self) -> Iterator[tuple[str, bytes, int]]:
        """Yield (name, payload, end offset) of records written but not handled."""
        with open(self.path, "rb") as handle:
            handle.seek(self.handled)
            offset = self.handled
            while True:
                header = handle.read(HEADER.size)
                if len(header) < HEADER.size:
                    break
                size, name_len = HEADER.unpack(header)
                if size > MAX_RECORD:
                    logger.error("journal record at %d is corrupt; the rest is skipped", offset)
                    break
                name = handle.read(name_len).decode("utf-8", "replace")
                payload = handle.read(size)
                if len(payload) < size:
                    logger.warning("journal ends in a torn record (killed mid-write); ignored")
                    break
                offset = handle.tell()
                yield name, payload, offset

    def close(self) -> None:
        """Close the journal file (records written stay on disk)."""
        self._file.close()
