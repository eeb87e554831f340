"""The transport port: what the application may ask of a WhatsApp session, and how it hears
back. ``whatsapp/`` implements it twice (the neonize client and the simulator); the
assistant and the bot see only this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from core.events import GatewayEvent, MediaDownloaded, OutgoingMessage, SendReceipt
from core.ids import ChatJid, ConnectionState, WaMessageId

#: Receives every event of a session, in order.
Handler = Callable[[GatewayEvent], Awaitable[None]]


class WhatsAppGateway(Protocol):
    """What the rest of the app may ask of one WhatsApp session."""

    #: When the state last changed (aware UTC).
    state_since: datetime
    #: Reconnects since start; monotonic readings (seconds) of the start and the last event.
    reconnects: int
    started_at: float | None
    last_event_at: float | None

    @property
    def state(self) -> ConnectionState:
        """The session's connection state now."""

    @property
    def reason(self) -> str:
        """Why the session is in its state, in words for the owner ("" when there is nothing to
        say)."""

    @property
    def own_jid(self) -> ChatJid | None:
        """The linked account's own JID, or None before the first login."""

    @property
    def media_limit(self) -> int:
        """The largest attachment, in bytes, that ``fetch_media`` keeps."""

    @property
    def device_jid(self) -> str | None:
        """This linked device's JID (``user:device@server``) once logged in, which the account
        stores so that its next start resumes this device; None when the backend needs none."""

    @property
    def stuck(self) -> int:
        """Calls into the WhatsApp library that did not end after ``stop`` (their threads
        stay until the process ends, which then exits hard); 0 when none."""

    def rename(self, label: str) -> None:
        """The account was renamed (the simulator plays the feed lines of its new label)."""

    def subscribe(self, handler: Handler) -> None:
        """Add a consumer that must be called with every event, in order; call before ``start``."""

    async def start(self) -> None:
        """Start the session and its consumer; events flow to the subscribers from here on."""

    async def stop(self) -> None:
        """Stop the session within a bounded time, handling or keeping (journaled) what is
        queued."""

    async def request_login(self) -> None:
        """Start a fresh login so that a new QR code is reported."""

    async def pair_phone(self, phone: str) -> str:
        """Request a pairing code for this phone number (digits) while the QR is showing; return
        it."""

    async def logout(self) -> None:
        """Unlink this device from the WhatsApp account."""

    async def is_on_whatsapp(self, *numbers: str) -> dict[str, ChatJid | None]:
        """Map each number (international digits) to the JID to write to, or None when it has no
        WhatsApp account."""

    async def refresh_address_book(self, only: ChatJid | None = None) -> int:
        """Read the saved contacts and group subjects (or only ``only``) and report them as
        events; return how many were read."""

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        """Send one message; raise ``NotConnected`` when offline and ``SendFailed`` when
        WhatsApp refuses it."""

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> None:
        """React to message ``target`` of ``sender`` in ``chat`` with ``emoji`` ("" removes the
        reaction)."""

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> None:
        """Tell WhatsApp that these messages of ``sender`` in ``chat`` were read (blue ticks)."""

    async def edit(self, chat: ChatJid, target: WaMessageId, text: str) -> None:
        """Replace the text of one of our own sent messages; raise ``SendFailed`` when refused."""

    async def fetch_media(
        self, chat: ChatJid, sender: ChatJid, message_id: WaMessageId, ref: bytes, mimetype: str
    ) -> MediaDownloaded:
        """Download an attachment by its stored media reference; failures come back in the
        event, never raised."""
