"""Receipts (delivered, read, played) of messages we sent to ``ReceiptReceived``. Pure (no
neonize import); a receipt names many messages, so it has no single ``Origin``."""

from __future__ import annotations

import logging
from typing import Any

from core.events import ReceiptReceived
from core.ids import ChatJid, ReceiptKind, WaMessageId, is_group_jid, jid_server
from whatsapp.convert_fields import MAX_ID_LENGTH, from_s, jid_str

logger = logging.getLogger(__name__)

RECEIPT_KINDS = {1: ReceiptKind.DELIVERED, 4: ReceiptKind.READ, 6: ReceiptKind.PLAYED}
MAX_RECEIPT_IDS = 256  # one receipt names at most this many messages (the rest is dropped)


def receipt_event(ev: Any) -> ReceiptReceived | None:
    """Convert a ``Receipt`` (delivered, read, played) of messages we sent; None for the
    types we do not track, receipts from our own devices, and hostile ones (a sender other
    than the person chatted with, no usable id). At most ``MAX_RECEIPT_IDS`` ids are kept;
    an id no sent message can have (too long, NUL, not ASCII) is dropped."""
    # A type this protobuf does not know parses as unset, and reads as the default (1,
    # delivered): only a type that is there counts.
    kind = RECEIPT_KINDS.get(int(ev.Type)) if ev.HasField("Type") else None
    if kind is None:
        logger.debug("receipt of type %d ignored", int(ev.Type))
        return None
    src = ev.MessageSource
    chat, sender = jid_str(src.Chat), jid_str(src.Sender)
    if not chat or not sender or src.IsFromMe:
        logger.debug("receipt without chat or sender, or from my own device, ignored")
        return None
    if not is_group_jid(chat) and jid_server(sender) == jid_server(chat) and sender != chat:
        logger.info("receipt skipped: its sender is not the person of that chat")
        return None
    raw = list(ev.MessageIDs)
    if len(raw) > MAX_RECEIPT_IDS:
        logger.info("receipt for %d messages: only the first %d kept", len(raw), MAX_RECEIPT_IDS)
    ids = tuple(WaMessageId(i) for i in raw[:MAX_RECEIPT_IDS] if _fit_id(i))
    dropped = min(len(raw), MAX_RECEIPT_IDS) - len(ids)
    if dropped:
        logger.info("receipt: %d unusable message id(s) dropped", dropped)
    if not ids:
        return None
    return ReceiptReceived(ChatJid(chat), ids, kind, from_s(ev.Timestamp), ChatJid(sender))


def _fit_id(value: str) -> bool:
    """Whether ``value`` can be the id of a message we sent."""
    return 0 < len(value) <= MAX_ID_LENGTH and value.isascii() and value.isprintable()
