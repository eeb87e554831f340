"""Sending to WhatsApp through the durable outbox: sent, queued (delivered later, in order,
once) or failed with a reason."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage, WaMessage
from core.ids import OWN_SENDER, ChatJid, MessageKind, WaMessageId, mentions_in
from core.tasks import Clock, backoff_delay
from core.transport import WhatsAppGateway
from storage import Storage
from storage.domain import OutboxItem, OutboxState

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_TEXT = 65_000
#: Kinds whose stored message has a text rather than a caption.
TEXT_KINDS = frozenset({MessageKind.TEXT, MessageKind.LOCATION, MessageKind.CONTACT})


#: WhatsApp lets a sent message be edited for this long.
EDIT_WINDOW = timedelta(minutes=15)


#: ``apply_edit``'s answer when the outbox holds no edit for the item.
NO_EDIT = "there is no edit waiting for that message"


class EditChance(StrEnum):
    """What an edit of the Telegram message a WhatsApp message came from can do."""

    NONE = "none"  # it sent nothing to WhatsApp (a command, a photo, a failed send)
    QUEUED = "queued"  # not sent yet: it will go with the new text
    OFFER = "offer"  # sent within WhatsApp's window: the edit can be made there too
    LATE = "late"  # sent too long ago for WhatsApp to edit it


class SendStatus(StrEnum):
    """What became of a send request: sent, still queued (WhatsApp is offline), or failed."""

    SENT = "sent"
    QUEUED = "queued"
    FAILED = "failed"


#: The ticks state a confirmation of each outcome shows.
TICKS_SHOWN = {SendStatus.SENT: "sent", SendStatus.QUEUED: "queued", SendStatus.FAILED: "failed"}


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What happened to one send request."""

    status: SendStatus
    outbox_id: int
    wa_id: WaMessageId | None = None
    error: str = ""


#: What a voice note, video, location or contact adds to the outbox payload (with its type).
KIND_FIELDS: dict[str, type] = {
    "seconds": int,
    "gif": bool,
    "latitude": float,
    "longitude": float,
    "name": str,
    "address": str,
    "vcard": str,
}

Delivered = Callable[[OutboxItem, SendOutcome], Awaitable[None]]


def _payload(msg: OutgoingMessage, media_path: str | None) -> dict[str, Any]:
    return {
        "text": msg.text,
        "kind": msg.kind.value,
        "quoted_id": msg.quoted_id,
        "quoted_sender": msg.quoted_sender,
        "quoted_text": msg.quoted_text,
        "mentions": list(msg.mentions),
        "media_path": media_path,
        "file_name": msg.file_name,
        "mimetype": msg.mimetype,
        **{name: getattr(msg, name) for name in KIND_FIELDS},
    }


class SendingService:
    """Every WhatsApp send goes through here (Telegram replies, /send, AI replies)."""

    def __init__(
        self,
        storage: Storage,
        gateway: WhatsAppGateway,
        data_dir: Path,
        clock: Clock | None = None,
        on_late: Delivered | None = None,
    ) -> None:
        """``on_late`` hears when a queued message is finally sent or given up."""
        self.storage = storage
        self.gateway = gateway
        self.outgoing_dir = data_dir / "outgoing"
        self.clock = clock or Clock()
        self._lock = asyncio.Lock()
        self._listeners: list[Delivered] = [on_late] if on_late is not None else []

    async def send(self, msg: OutgoingMessage, origin: str = "") -> SendOutcome:
        """Store the message in the outbox, then try to deliver it (and anything older) now."""
        if len(msg.text) > MAX_TEXT:
            raise ValueError(f"text too long for WhatsApp ({len(msg.text)} > {MAX_TEXT})")
        if not msg.mentions and msg.kind == MessageKind.TEXT:
            msg = replace(msg, mentions=mentions_in(msg.text))
        media_path = await asyncio.to_thread(self._save_media, msg.media) if msg.media else None
        item_id = await self.storage.whatsapp_outbox.add(msg.to, _payload(msg, media_path), origin)
        outcomes = await self.flush(announce_except=item_id)
        return outcomes.get(item_id, SendOutcome(SendStatus.QUEUED, item_id))

    async def confirmed(self, outcome: SendOutcome, tg_chat: int, tg_message: int) -> bool:
        """The Telegram message ``tg_message`` now shows ``outcome``: its ticks follow the
        message from here on. True when it already needs an edit (a receipt came first)."""
        shown = TICKS_SHOWN[outcome.status]
        return bool(
            await self.storage.ticks.confirm(outcome.outbox_id, tg_chat, tg_message, shown)
        )

    async def edit_chance(self, origin: str, text: str) -> tuple[EditChance, int | None]:
        """The Telegram message ``origin`` was edited to ``text``: a queued text is replaced
        at once; a text sent within WhatsApp's window keeps the edit for ``apply_edit``."""
        found = await self.storage.whatsapp_outbox.by_origin(origin)
        if found is None or not text.strip() or len(text) > MAX_TEXT:
            return EditChance.NONE, None
        item, sent_at = found
        if item.payload.get("kind", "text") != MessageKind.TEXT.value:
            return EditChance.NONE, None
        if item.state == OutboxState.PENDING:
            await self.storage.whatsapp_outbox.set_payload(item.id, {**item.payload, "text": text})
            return EditChance.QUEUED, item.id
        if item.state != OutboxState.SENT or not item.result_id or sent_at is None:
            return EditChance.NONE, None
        if self.clock.now() - sent_at > EDIT_WINDOW:
            return EditChance.LATE, item.id
        await self.storage.whatsapp_outbox.set_payload(item.id, {**item.payload, "edit": text})
        return EditChance.OFFER, item.id

    async def apply_edit(self, item_id: int) -> str:
        """Edit the sent message on WhatsApp to the text kept by ``edit_chance``; return why
        not ("" when done)."""
        found = await self.storage.whatsapp_outbox.get(item_id)
        text = found.payload.get("edit", "") if found is not None else ""
        if found is None or not text or not found.result_id:
            return NO_EDIT
        sent_at = await self.storage.whatsapp_outbox.sent_at(item_id)
        if sent_at is None or self.clock.now() - sent_at > EDIT_WINDOW:
            return "WhatsApp allows edits for 15 minutes after sending; that time has passed"
        try:
            await self.gateway.edit(ChatJid(found.target), WaMessageId(found.result_id), text)
        except GatewayError as exc:
            return str(exc)[:200]
        await self.storage.messages.apply_edit(found.target, found.result_id, OWN_SENDER, text)
        payload = {k: v for k, v in found.payload.items() if k != "edit"}
        await self.storage.whatsapp_outbox.set_payload(item_id, {**payload, "text": text})
        return ""

    async def react(self, chat: ChatJid, sender: ChatJid, target: WaMessageId, emoji: str) -> str:
        """React to a message on WhatsApp; return why not ("" when done)."""
        try:
            await self.gateway.react(chat, sender, target, emoji)
        except GatewayError as exc:
            return str(exc)[:200]
        return ""

    async def mark_read(self, chat: ChatJid, sender: ChatJid, ids: list[WaMessageId]) -> bool:
        """Mark messages read on WhatsApp (blue ticks for their sender); a failure is logged,
        never raised: the reply itself went out."""
        try:
            await self.gateway.mark_read(chat, sender, ids)
        except GatewayError as exc:
            logger.info("could not mark %d message(s) read: %s", len(ids), exc)
            return False
        return True

    def _save_media(self, data: bytes) -> str:
        self.outgoing_dir.mkdir(parents=True, exist_ok=True)
        path = self.outgoing_dir / hashlib.sha256(data).hexdigest()[:32]
        path.write_bytes(data)
        return str(path)

    async def flush(self, announce_except: int | None = None) -> dict[int, SendOutcome]:
        """Deliver due items in order; stop at the first one WhatsApp cannot take now."""
        outcomes: dict[int, SendOutcome] = {}
        async with self._lock:
            for item in await self.storage.whatsapp_outbox.due(self.clock.now(), limit=200):
                outcome = await self._deliver(item)
                outcomes[item.id] = outcome
                if item.id != announce_except and outcome.status != SendStatus.QUEUED:
                    for listener in self._listeners:
                        await listener(item, outcome)
                if outcome.status == SendStatus.QUEUED:
                    break  # keep order: nothing newer goes before it
        return outcomes

    async def _deliver(self, item: OutboxItem) -> SendOutcome:
        p = item.payload
        media = b""
        if p.get("media_path"):
            try:
                media = await asyncio.to_thread(Path(p["media_path"]).read_bytes)
            except OSError as exc:
                await self.storage.whatsapp_outbox.mark_failed(item.id, "attachment missing")
                return SendOutcome(SendStatus.FAILED, item.id, error=f"attachment missing: {exc}")
        msg = OutgoingMessage(
            to=ChatJid(item.target),
            text=p.get("text", ""),
            kind=MessageKind(p.get("kind", "text")),
            quoted_id=p.get("quoted_id"),
            quoted_sender=p.get("quoted_sender"),
            quoted_text=p.get("quoted_text", ""),
            mentions=tuple(p.get("mentions", ())),
            media=media,
            file_name=p.get("file_name", ""),
            mimetype=p.get("mimetype", ""),
            **{name: kind(p[name]) for name, kind in KIND_FIELDS.items() if name in p},
        )
        try:
            receipt = await self.gateway.send(msg)
        except NotConnected as exc:
            return SendOutcome(SendStatus.QUEUED, item.id, error=str(exc))
        except SendFailed as exc:
            await self.storage.whatsapp_outbox.mark_failed(item.id, str(exc))
            return SendOutcome(SendStatus.FAILED, item.id, error=str(exc))
        except GatewayError as exc:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                await self.storage.whatsapp_outbox.mark_failed(item.id, str(exc))
                return SendOutcome(SendStatus.FAILED, item.id, error=str(exc))
            delay = timedelta(seconds=backoff_delay(item.attempts + 1, base=5, cap=600))
            await self.storage.whatsapp_outbox.retry_later([item.id], delay, str(exc))
            return SendOutcome(SendStatus.QUEUED, item.id, error=str(exc))
        await self.storage.whatsapp_outbox.mark_sent(item.id, receipt.id)
        await self._store_own(msg, receipt.id, receipt.timestamp)
        return SendOutcome(SendStatus.SENT, item.id, wa_id=receipt.id)

    async def _store_own(self, msg: OutgoingMessage, wa_id: WaMessageId, when: Any) -> None:
        await self.storage.messages.store(
            [
                WaMessage(
                    id=wa_id,
                    chat=msg.to,
                    sender=OWN_SENDER,
                    timestamp=when,
                    kind=msg.kind,
                    text=msg.summary if msg.kind in TEXT_KINDS else "",
                    caption="" if msg.kind in TEXT_KINDS else msg.text,
                    from_me=True,
                    quoted_id=msg.quoted_id,
                    mentions=msg.mentions,
                )
            ]
        )
