"""Live message events (``MessageEv``, ``UndecryptableMessage``) to domain events: a
message, a reaction, an edit, a revocation, or the placeholder of one still waiting.

Pure (no neonize import). The content of a message is read by convert_content.py, the
common fields (id, chat, sender, time) by convert_fields.py.
"""

from __future__ import annotations

import logging
from typing import Any

from core.events import (
    GatewayEvent,
    MessageEdited,
    MessageReceived,
    MessageRevoked,
    ReactionReceived,
    WaMessage,
)
from core.ids import ChatJid, MessageKind, WaMessageId, is_group_jid, jid_user
from whatsapp.convert_content import read_body, unwrap
from whatsapp.convert_fields import Origin, jid_str, message_origin

logger = logging.getLogger(__name__)

DECRYPT_FAIL_HIDE = 2  # UndecryptableMessage.DecryptFailMode: not shown on phones either
PROTOCOL_REVOKE = 0
PROTOCOL_EDIT = 14


def _alts(src: Any, chat: str, from_me: bool) -> tuple[ChatJid | None, ChatJid | None]:
    sender_alt = jid_str(src.SenderAlt) or None
    if is_group_jid(chat):
        return (ChatJid(sender_alt) if sender_alt else None), None
    chat_alt = jid_str(src.RecipientAlt) if from_me else sender_alt
    return (
        ChatJid(sender_alt) if sender_alt else None,
        ChatJid(chat_alt) if chat_alt and chat_alt != chat else None,
    )


def _message(info: Any, origin: Origin, kind: MessageKind, **fields: Any) -> MessageReceived:
    """A received message of ``origin`` with what every message has from its ``info``."""
    src = info.MessageSource
    sender_alt, chat_alt = _alts(src, origin.chat, src.IsFromMe)
    return MessageReceived(
        WaMessage(
            id=WaMessageId(origin.id),
            chat=origin.chat,
            sender=origin.sender,
            timestamp=origin.timestamp,
            kind=kind,
            push_name="" if src.IsFromMe else info.Pushname,
            from_me=src.IsFromMe,
            sender_alt=sender_alt,
            chat_alt=chat_alt,
            **fields,
        )
    )


def _protocol(info: Any, origin: Origin, proto: Any) -> GatewayEvent | None:
    """A revocation or an edit of an earlier message; None for other protocol messages."""
    if not proto.key.ID or proto.type not in (PROTOCOL_REVOKE, PROTOCOL_EDIT):
        return None
    target = WaMessageId(proto.key.ID)
    from_me = info.MessageSource.IsFromMe
    if proto.type == PROTOCOL_REVOKE:
        by_admin = info.Edit == "8" or bool(
            proto.key.participant and jid_user(proto.key.participant) != jid_user(origin.sender)
        )
        return MessageRevoked(
            origin.chat, origin.sender, target, by_admin, origin.timestamp, from_me=from_me
        )
    inner, _, _ = unwrap(proto.editedMessage)
    body = read_body(inner)
    text = (body.text or body.caption) if body else ""
    return MessageEdited(
        origin.chat, origin.sender, target, text, origin.timestamp, from_me=from_me
    )


def message_event(ev: Any) -> GatewayEvent | None:
    """Convert a live ``MessageEv``; None for protocol noise and messages without a chat."""
    info = ev.Info
    origin = message_origin(info, "message event without chat or id")
    if origin is None:
        return None
    msg = ev.Message
    if msg.HasField("reactionMessage"):
        r = msg.reactionMessage
        return ReactionReceived(
            origin.chat, origin.sender, WaMessageId(r.key.ID), r.text, origin.timestamp
        )
    if msg.HasField("protocolMessage"):
        return _protocol(info, origin, msg.protocolMessage)
    inner, view_once, ephemeral = unwrap(msg)
    body = read_body(inner)
    if body is None:
        return None
    return _message(
        info,
        origin,
        body.kind,
        text=body.text,
        caption=body.caption,
        media=body.media,
        mentions=body.mentions,
        quoted_id=body.quoted_id,
        view_once=view_once or ev.IsViewOnce or ev.IsViewOnceV2,
        ephemeral=ephemeral or ev.IsEphemeral,
    )


def undecryptable_event(ev: Any) -> MessageReceived | None:
    """Convert ``UndecryptableMessage`` (the phone shows "Waiting for this message") into a
    placeholder message that the retry, with the same id, replaces; None for one WhatsApp
    says to hide (a reaction, a poll vote) or without chat or id."""
    if int(ev.DecryptFailMode) == DECRYPT_FAIL_HIDE:
        return None
    origin = message_origin(ev.Info, "undecryptable message without chat or id")
    if origin is None:
        return None
    return _message(ev.Info, origin, MessageKind.WAITING)
