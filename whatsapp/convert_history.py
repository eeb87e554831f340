"""Pure conversion of history-sync chunks (``waHistorySync.HistorySync``) to domain values.

A chunk holds thousands of ``WebMessageInfo``s grouped by conversation. Their shape differs
from a live ``MessageEv`` (seconds, not milliseconds; messages not unwrapped; the sender in
``key.participant``), so they get their own reader, built on convert_content.py and
convert_fields.py. It is the hot path of a history sync: what every message of a
conversation shares is worked out once, and plain text, most of any history, takes the
short way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.events import ContactSeen, GroupSeen, IdentityLinked, WaMessage
from core.ids import (
    OWN_SENDER,
    ChatJid,
    MessageKind,
    WaMessageId,
    is_group_jid,
    is_lid_jid,
    jid_user,
)
from whatsapp.convert_content import Body, read_body, unwrap
from whatsapp.convert_fields import from_s


@dataclass(frozen=True, slots=True)
class _Conversation:
    """What every message of one history conversation shares, worked out once."""

    jid: str
    is_group: bool
    group_name: str | None
    now: datetime
    dm_sender: str = ""  # a person's chat: every message not from me is from them


def _normal_sender(jid: str) -> str:
    return jid_user(jid) + "@" + jid.rpartition("@")[2] if "@" in jid else jid


def _history_message(web: Any, conv: _Conversation) -> WaMessage | None:
    key = web.key
    if not web.HasField("message") or not key.ID:
        return None  # stub notices ("X joined") carry no message
    inner = web.message
    if inner.HasField("conversation"):  # plain text, most of any history: the short way
        body = Body(MessageKind.TEXT, text=inner.conversation)
        view_once = ephemeral = False
    else:
        inner, view_once, ephemeral = unwrap(inner)
        if inner.HasField("reactionMessage") or inner.HasField("protocolMessage"):
            return None
        found = read_body(inner)
        if found is None:
            return None
        body = found
    from_me = key.fromMe
    if from_me:
        sender = OWN_SENDER
    elif conv.is_group:
        sender = ChatJid(_normal_sender(key.participant or web.participant or conv.jid))
    else:
        sender = ChatJid(conv.dm_sender)
    return WaMessage(
        id=WaMessageId(key.ID),
        chat=ChatJid(conv.jid),
        sender=ChatJid(sender),
        timestamp=from_s(int(web.messageTimestamp), conv.now),
        kind=body.kind,
        text=body.text,
        caption=body.caption,
        push_name="" if from_me else web.pushName,
        from_me=from_me,
        media=body.media,
        mentions=body.mentions,
        quoted_id=body.quoted_id,
        view_once=view_once,
        ephemeral=ephemeral,
        group_name=conv.group_name,
    )


@dataclass(frozen=True, slots=True)
class HistoryParts:
    """A converted history-sync chunk."""

    messages: tuple[WaMessage, ...]
    chats: int
    progress: int
    links: tuple[IdentityLinked, ...]
    contacts: tuple[ContactSeen, ...]
    groups: tuple[GroupSeen, ...]
    skipped: int


def _links(data: Any) -> Iterator[IdentityLinked]:
    for m in data.phoneNumberToLidMappings:
        if m.pnJID and m.lidJID:
            yield IdentityLinked(ChatJid(m.pnJID), ChatJid(m.lidJID))
    for conv in data.conversations:
        if conv.pnJID and conv.lidJID:
            yield IdentityLinked(ChatJid(conv.pnJID), ChatJid(conv.lidJID))


def history_parts(data: Any) -> HistoryParts:
    """Convert ``HistorySync.Data`` (a ``waHistorySync.HistorySync``); run off the event loop."""
    messages: list[WaMessage] = []
    groups: list[GroupSeen] = []
    contacts = [
        ContactSeen(ChatJid(p.ID), push_name=p.pushname)
        for p in data.pushnames
        if p.ID and p.pushname
    ]
    skipped = 0
    now = datetime.now(UTC)
    for conv in data.conversations:
        conv_id = conv.ID
        if not conv_id or "@" not in conv_id:
            skipped += len(conv.messages)
            continue
        name = conv.name or conv.displayName
        group_name = name if is_group_jid(conv_id) and name else None
        if group_name:
            groups.append(GroupSeen(ChatJid(conv_id), group_name))
        elif name and not is_lid_jid(conv_id):
            contacts.append(ContactSeen(ChatJid(conv_id), name=name))
        is_group = is_group_jid(conv_id)
        dm_sender = "" if is_group else _normal_sender(conv_id)
        shared = _Conversation(conv_id, is_group, group_name, now, dm_sender)
        for item in conv.messages:
            try:
                converted = _history_message(item.message, shared)
            except (ValueError, AttributeError, OverflowError):
                converted = None
            if converted is None:
                skipped += 1
            else:
                messages.append(converted)
    return HistoryParts(
        messages=tuple(messages),
        chats=len(data.conversations),
        progress=int(data.progress),
        links=tuple(dict.fromkeys(_links(data))),
        contacts=tuple(contacts),
        groups=tuple(groups),
        skipped=skipped,
    )
