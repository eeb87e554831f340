"""The inbox: the durability promise of incoming WhatsApp events, in one room.

A data event is appended to the journal (``whatsapp/journal.py``) and on disk before
``receive`` returns — the backends return to whatsmeow, which acknowledges the event to
WhatsApp, only after that. Every event then waits in one ordered queue; one consumer hands
each to the gateway's handler, again and again while storage fails (nothing is skipped and
order is kept), and only then marks its journal record handled. At start the records a
previous run did not finish are queued first (replay).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.tasks import Clock, TaskGroup
from whatsapp.journal import JOURNALED, EventJournal
from whatsapp.memory import release_freed_memory

logger = logging.getLogger(__name__)

#: Handles one event; False when storage failed and the same event must be tried again.
EventHandler = Callable[[str, Any], Awaitable[bool]]
#: The longest wait between two tries of an event storage could not take.
MAX_RETRY_WAIT = 60.0


class Inbox:
    """The journal, the ordered queue, acknowledgement and replay of one session."""

    def __init__(
        self,
        journal: EventJournal | None,
        clock: Clock,
        tasks: TaskGroup,
        handle: EventHandler,
        on_take: Callable[[], None] = lambda: None,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.tasks = tasks
        self._handle = handle
        self._on_take = on_take
        self._queue: asyncio.Queue[tuple[str, Any, int | None]] = asyncio.Queue()
        self._trim_due = False  # memory freed by a history sync to hand back once idle

    async def receive(self, name: str, raw: Any) -> None:
        """Take one event from the session: a data event is journaled and on disk (fsync,
        shared with whoever else waits) before this returns."""
        position = self.submit(name, raw)
        if position is not None and self.journal is not None and self.journal.durable:
            try:
                await asyncio.to_thread(self.journal.wait_durable, *position)
            except OSError as exc:
                logger.error("could not flush the event journal to disk: %s", exc)

    def submit(self, name: str, raw: Any) -> tuple[int, int] | None:
        """Journal a data event, then queue it for the consumer; never blocks, never raises.
        Return the journal position (generation, end) to wait on, or None.

        A history chunk that has to wait behind other events waits as the journal's bytes:
        parsed, it is ~15 times larger, and a burst of chunks would hold hundreds of MB."""
        end = None
        position = None
        if self.journal is not None and name in JOURNALED:
            try:
                payload = raw.SerializeToString()
                end = self.journal.append(name, payload)
                position = (self.journal.generation, end)
            except (OSError, AttributeError) as exc:
                logger.error("could not journal a WhatsApp %s event: %s", name, exc)
            else:
                if name == "history_sync" and not self._queue.empty():
                    raw = payload
        self._queue.put_nowait((name, raw, end))
        return position

    @property
    def waiting(self) -> int:
        """How many events are queued and not yet handled."""
        return self._queue.qsize()

    def start(self) -> None:
        """Queue what the journal holds unhandled, then start the consumer."""
        self.replay()
        self.tasks.spawn(self._consume(), "consumer")

    def replay(self) -> int:
        """Queue the journaled events a previous run did not finish handling (serialized:
        each is parsed only when its turn comes). Return how many."""
        if self.journal is None:
            return 0
        count = 0
        for name, payload, end in self.journal.pending():
            self._queue.put_nowait((name, payload, end))
            count += 1
        if count:
            logger.info("replaying %d WhatsApp event(s) not handled before the last stop", count)
        return count

    async def drain(self) -> None:
        """Wait until every submitted event has been handled (tests, shutdown)."""
        await self._queue.join()

    def close(self) -> None:
        """Close the journal (after the consumer stopped)."""
        if self.journal is not None:
            self.journal.close()

    @staticmethod
    async def _parse(name: str, payload: bytes) -> Any | None:
        """Parse a queued serialized event (a history chunk off the loop: ~35 ms per 5 000
        messages); None, logged, when the bytes are not that event."""
        from whatsapp import protos  # the real protobuf classes (imports neonize)

        try:
            parse = protos.EVENT_TYPES[name].FromString
            if name == "history_sync":
                return await asyncio.to_thread(parse, payload)
            return parse(payload)
        except Exception as exc:  # protobuf's DecodeError is no ValueError
            logger.warning("queued WhatsApp %s event unreadable, skipped: %s", name, exc)
            return None

    async def _consume(self) -> None:
        while True:
            name, raw, end = await self._queue.get()
            try:
                self._on_take()
                if isinstance(raw, bytes):
                    raw = await self._parse(name, raw)
                if raw is not None:
                    await self._handle_until_stored(name, raw)
            except Exception:
                logger.exception("could not handle WhatsApp %s event; skipped", name)
            finally:
                if end is not None and self.journal is not None:
                    try:
                        self.journal.mark_handled(end)
                    except OSError as exc:
                        logger.error("could not advance the event journal: %s", exc)
                self._queue.task_done()
            del raw  # a history chunk is megabytes: not kept while waiting for the next event
            self._trim_due = self._trim_due or name == "history_sync"
            if self._trim_due and self._queue.empty():  # a history burst is over
                self._trim_due = False
                await asyncio.to_thread(release_freed_memory)

    async def _handle_until_stored(self, name: str, raw: Any) -> None:
        """Handle an event; while storage fails (disk full, database locked) wait and try the
        same event again, so nothing is skipped and order is kept. Ingest is idempotent."""
        attempt = 0
        while not await self._handle(name, raw):
            attempt += 1
            await self.clock.sleep(min(MAX_RETRY_WAIT, 2.0**attempt))
        if attempt:
            logger.info("storage works again; the held WhatsApp event is stored")
