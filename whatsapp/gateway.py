"""The gateway both backends subclass: the composition of the inbox, the dispatcher and the
connection, plus media download and address-book reads.

A backend (neonize or simulator) only feeds raw neonize protobuf events into ``receive()``
(or ``submit()``) and implements the few operations that touch the session (the hooks at
the end). The rooms it is made of:

- ``whatsapp/inbox.py`` — journal, ordered queue, acknowledgement after fsync, replay;
- ``whatsapp/dispatch.py`` — one handler per raw event type, the subscribers;
- ``whatsapp/connection.py`` — the state machine, the QR window, the watchdog;
- ``whatsapp/media.py`` — attachments on disk.

Everything that turns raw events into domain events happens in one ordered consumer, the
same for both backends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import GatewayError
from core.events import GatewayEvent, MediaDownloaded
from core.ids import ChatJid, ConnectionState, WaMessageId, is_group_jid
from core.tasks import Clock, TaskGroup
from core.transport import Handler
from whatsapp.connection import Connection, SessionHooks
from whatsapp.dispatch import DataEvents, Dispatcher, Subscribers
from whatsapp.inbox import Inbox
from whatsapp.journal import EventJournal
from whatsapp.media import MEDIA_LIMIT_BYTES, fetch_media

logger = logging.getLogger(__name__)

STOP_DRAIN_SECONDS = 10.0


def checkable_numbers(numbers: tuple[str, ...] | list[str]) -> list[str]:
    """The numbers worth asking WhatsApp about: international digits, 7 to 15 of them,
    each once (anything else is dropped)."""
    return [n for n in dict.fromkeys(numbers) if n.isascii() and n.isdigit() and 7 <= len(n) <= 15]


class GatewayBase:
    """One WhatsApp session: the inbox, the dispatcher and the connection, composed; the
    backend-specific operations are left to the subclass."""

    def __init__(
        self,
        data_dir: Path,
        clock: Clock | None = None,
        media_limit: int = MEDIA_LIMIT_BYTES,
        journal: EventJournal | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.media_dir = data_dir / "media"
        self.media_limit = media_limit
        self.clock = clock or Clock()
        self.tasks = TaskGroup(type(self).__name__)
        self.subscribers = Subscribers()
        self.connection = Connection(
            self.clock,
            self.tasks,
            SessionHooks(
                emit=self._emit,
                lookup_own_jid=self._lookup_own_jid,
                on_state=self._on_state,
                on_terminal=self._on_terminal,
                on_qr_window_ended=self._on_qr_window_ended,
                on_connected=self._address_book_soon,
                probe=self._probe,
                force_reconnect=self._force_reconnect,
            ),
        )
        data = DataEvents(self._emit, self.tasks, self.refresh_address_book, self._phone_for_lid)
        self.dispatcher = Dispatcher(
            {**data.handlers(), **self.connection.handlers()}, self.subscribers
        )
        self.inbox = Inbox(
            journal, self.clock, self.tasks, self.dispatcher.dispatch, self.connection.saw_event
        )

    # ------------------------------------------------------------------ public surface

    @property
    def state(self) -> ConnectionState:
        """The connection's state now."""
        return self.connection.state

    @property
    def reason(self) -> str:
        """Why the connection is in its state, in words for the owner."""
        return self.connection.reason

    @property
    def own_jid(self) -> ChatJid | None:
        """The linked account's own JID, once known."""
        return self.connection.own_jid

    @property
    def device_jid(self) -> str | None:
        """The linked device to resume at the next start; None unless the backend needs it."""
        return None

    @property
    def stuck(self) -> int:
        """Library calls that did not end after stop() (their threads stay until the
        process ends); 0 unless the backend can leave one behind."""
        return 0

    def rename(self, label: str) -> None:
        """The account was renamed: nothing to do unless the backend knows its label."""

    @property
    def state_since(self) -> datetime:
        """When the state last changed (aware UTC)."""
        return self.connection.state_since

    @property
    def reconnects(self) -> int:
        """Reconnects since start."""
        return self.connection.reconnects

    @property
    def started_at(self) -> float | None:
        """Monotonic reading (seconds) of the start."""
        return self.connection.started_at

    @property
    def last_event_at(self) -> float | None:
        """Monotonic reading (seconds) of the last event taken from the queue."""
        return self.connection.last_event_at

    @property
    def journal(self) -> EventJournal | None:
        """The write-ahead journal of data events (None: not journaled)."""
        return self.inbox.journal

    def subscribe(self, handler: Handler) -> None:
        """Add a consumer of every domain event, called in order."""
        self.subscribers.add(handler)

    async def receive(self, name: str, raw: Any) -> None:
        """Take one event from the session: a data event is journaled and on disk before
        this returns — the backends return to whatsmeow, which acknowledges the event to
        WhatsApp, only after this."""
        await self.inbox.receive(name, raw)

    def submit(self, name: str, raw: Any) -> tuple[int, int] | None:
        """Journal a data event and queue it, without waiting for the disk."""
        return self.inbox.submit(name, raw)

    async def drain(self) -> None:
        """Wait until every submitted event has been handled (tests, shutdown)."""
        await self.inbox.drain()

    def start_consumer(self) -> None:
        """Start the ordered consumer (after replaying the journal) and the watchdog
        (backends call this from start())."""
        self.connection.start()
        self.inbox.start()

    async def stop_consumer(self) -> None:
        """Handle what is queued (bounded), then stop the background tasks."""
        try:
            await asyncio.wait_for(self.drain(), timeout=STOP_DRAIN_SECONDS)
        except TimeoutError:
            logger.warning(
                "gateway stopped with %d event(s) unhandled (journaled: they are "
                "handled at the next start)",
                self.inbox.waiting,
            )
        await self.tasks.cancel_all()
        self.inbox.close()

    async def check_liveness(self) -> bool:
        """Probe a quiet 'connected' session; force a reconnect when it is dead."""
        return await self.connection.check_liveness()

    async def fetch_media(
        self, chat: ChatJid, sender: ChatJid, message_id: WaMessageId, ref: bytes, mimetype: str
    ) -> MediaDownloaded:
        """Download an attachment into DATA_DIR/media; failures are returned, not raised."""
        ids = (chat, sender, message_id)
        return await fetch_media(
            self._download, self.media_dir, self.media_limit, ids, ref, mimetype
        )

    # ------------------------------------------------------------------ for the backends

    async def _emit(self, event: GatewayEvent) -> None:
        await self.subscribers.emit(event)

    async def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        await self.connection.set_state(state, reason)

    def _address_book_soon(self) -> None:
        self.tasks.spawn(self.refresh_address_book(), "address-book")

    # ------------------------------------------------------------------ address book

    async def refresh_address_book(self, only: ChatJid | None = None) -> int:
        """Read the contacts saved in the session's store and the joined groups' subjects,
        and queue them, to be handled in order with every other event. ``only``: one person
        or group that changed. Return how many entries were read."""
        if only is None:
            contacts = await self._safely(self._read_contacts())
            groups = await self._safely(self._read_groups())
        elif is_group_jid(only):
            contacts, groups = [], await self._safely(self._read_group(only))
        else:
            contacts, groups = await self._safely(self._read_contact(only)), []
        if contacts or groups:
            self.submit("address_book", (contacts, groups))
        logger.info("address book read: %d contact(s), %d group(s)", len(contacts), len(groups))
        return len(contacts) + len(groups)

    @staticmethod
    async def _safely(read: Awaitable[list[Any]]) -> list[Any]:
        try:
            return await read
        except GatewayError as exc:
            logger.warning("could not read the address book: %s", str(exc)[:200])
            return []

    # ------------------------------------------------------------------ backend hooks

    async def _phone_for_lid(self, lid: ChatJid) -> ChatJid | None:
        """Look a LID up in the session's own mapping (neonize); None when unknown."""
        return None

    async def _read_contacts(self) -> list[Any]:
        """Every entry of the session's contact store (neonize ``Contact`` protobufs)."""
        return []

    async def _read_contact(self, jid: ChatJid) -> list[Any]:
        """The contact-store entry of one person ([] when there is none)."""
        return []

    async def _read_groups(self) -> list[Any]:
        """The ``GroupInfo`` of every joined group ([] when it cannot be asked now)."""
        return []

    async def _read_group(self, jid: ChatJid) -> list[Any]:
        """The ``GroupInfo`` of one group ([] when it cannot be asked now)."""
        return []

    async def _lookup_own_jid(self) -> ChatJid | None:
        """The session's own JID once logged in (None when unknown)."""
        return None

    async def _on_terminal(self, state: ConnectionState) -> None:
        """Stop reconnecting (the neonize backend stops its supervisor)."""

    async def _on_state(self, state: ConnectionState) -> None:
        """A state is about to be set (the neonize backend resets its failure count)."""

    async def _on_qr_window_ended(self) -> None:
        """React to an unused QR window (the neonize backend stops the client)."""

    async def _probe(self) -> bool:
        """Is a quiet session still alive?"""
        return True

    async def _force_reconnect(self) -> None:
        """Drop and re-open the connection."""

    async def _download(self, ref: bytes) -> bytes:
        """The bytes of the attachment a convert.py media reference points at."""
        raise GatewayError("this backend cannot download media")
