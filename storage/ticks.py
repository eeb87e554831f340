"""Ticks: what became of a message sent from Telegram, kept on its WhatsApp outbox row.

A sent message goes 🕓 queued → ✓ sent → ✓✓ delivered → 👁 read (or ❌ failed), never
backwards. The row keeps the best receipt WhatsApp reported and the state last shown on the
owner's Telegram confirmation; when the first moves past the second, one "ticks" item (an
edit of that confirmation) goes into the Telegram outbox in the same transaction, so a
restart neither edits again nor loses a state. Rendering the edit is the bot's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.notifications import Ticks
from storage.db import db, in_thread
from storage.domain import OutboxState
from storage.identity import resolve_id
from storage.models import ChatRecord, WhatsAppOutboxRecord
from storage.outbox import queue_telegram, rows
from storage.scope import Scoped

#: How far along each state is; a state only ever moves to a higher rank.
RANK = {"": 0, "queued": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5}
#: Receipt kinds (whatsapp.types.ReceiptKind values) as ticks: a played voice note was read.
RECEIPT_STATES = {"delivered": "delivered", "read": "read", "played": "read"}
TICKS_KIND = Ticks.KIND


def _target(rec: Any) -> str:
    """The state the row's confirmation should show now."""
    if rec.state == OutboxState.FAILED.value:
        return "failed"
    if rec.state != OutboxState.SENT.value:
        return "queued"
    return str(rec.receipt or "sent")


def _chat_name(jid: str, account: int) -> str:
    chat_id = resolve_id(jid, account=account)
    rec = ChatRecord.get_or_none(ChatRecord.id == chat_id) if chat_id is not None else None
    return str(rec.name) if rec is not None and rec.name else jid


def _sync(rec: Any) -> int:
    """Queue one edit of the row's confirmation when its state moved on (blocking, inside
    the caller's transaction); return how many were queued (0 or 1)."""
    target = _target(rec)
    shown = str(rec.ticks or "")
    if rec.confirm_message is None or RANK[target] <= RANK.get(shown, 0):
        return 0
    moved = (
        WhatsAppOutboxRecord.update(ticks=target)
        .where((WhatsAppOutboxRecord.id == rec.id) & (WhatsAppOutboxRecord.ticks == shown))
        .execute()
    )
    if not moved:  # someone else moved it meanwhile: they queued the edit
        return 0
    ticks = Ticks(
        message_id=int(rec.confirm_message),
        state=target,
        chat=_chat_name(rec.to_jid, rec.account_id),
        error=str(rec.last_error or "") if target == "failed" else "",
        item_id=int(rec.id),
    )
    queue_telegram(rows(ticks, [int(rec.confirm_chat)]))
    return 1


class PeeweeTicks(Scoped):
    """The ticks of messages sent from Telegram: confirmations by outbox item id (any
    account's), receipts by chat JID (this account's)."""

    @in_thread
    def confirm(self, item_id: int, tg_chat: int, tg_message: int, shown: str) -> int:
        """Remember the Telegram message that confirmed outbox item ``item_id`` showing
        ``shown``; if the item already moved further (a receipt came first), queue the edit.
        Returns how many edits were queued."""
        if shown not in RANK:
            raise ValueError(f"unknown ticks state {shown!r}")
        with db.atomic():
            rec = WhatsAppOutboxRecord.get_or_none(WhatsAppOutboxRecord.id == item_id)
            if rec is None or rec.confirm_message is not None:
                return 0
            rec.confirm_chat, rec.confirm_message, rec.ticks = tg_chat, tg_message, shown
            rec.save(
                only=[
                    WhatsAppOutboxRecord.confirm_chat,
                    WhatsAppOutboxRecord.confirm_message,
                    WhatsAppOutboxRecord.ticks,
                ]
            )
            return _sync(rec)

    @in_thread
    def settled(self, item_id: int) -> int:
        """A queued item was sent or given up: queue the edit of its confirmation (if it has
        one and it shows less). Returns how many edits were queued."""
        with db.atomic():
            rec = WhatsAppOutboxRecord.get_or_none(WhatsAppOutboxRecord.id == item_id)
            return _sync(rec) if rec is not None else 0

    @in_thread
    def receipt(self, chat: str, wa_ids: Sequence[str], kind: str) -> int:
        """WhatsApp reported messages of ``chat`` delivered, read or played: raise the rows
        sent there with those ids (never lower them) and queue the edits their confirmations
        need. Ids of other chats, unknown ids and repeated receipts change nothing.
        Returns how many edits were queued."""
        state = RECEIPT_STATES.get(kind)
        account = self._own()
        chat_id = resolve_id(chat, account=account)
        if state is None or chat_id is None or not wa_ids:
            return 0
        queued = 0
        with db.atomic():
            rows = WhatsAppOutboxRecord.select().where(
                WhatsAppOutboxRecord.wa_message_id.in_(list(wa_ids))
                & (WhatsAppOutboxRecord.state == OutboxState.SENT.value)
                & (WhatsAppOutboxRecord.account == account)
            )
            for rec in rows:
                if resolve_id(rec.to_jid, account=account) != chat_id:
                    continue  # the same id in another chat: not ours to mark
                if RANK[state] > RANK.get(rec.receipt or "sent", 0):
                    rec.receipt = state
                    rec.save(only=[WhatsAppOutboxRecord.receipt])
                queued += _sync(rec)
        return queued
