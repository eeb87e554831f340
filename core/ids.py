"""Identifiers and plain values every layer shares: JIDs (WhatsApp addresses), message ids,
message kinds, connection and receipt states.

Only the standard library is imported here; every package may import it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NewType

ChatJid = NewType("ChatJid", str)
WaMessageId = NewType("WaMessageId", str)

PERSON_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
GROUP_SERVER = "g.us"
BROADCAST_SERVER = "broadcast"
STATUS_BROADCAST = ChatJid("status@broadcast")
#: The one sender every message of the owner is stored under. The own JID is not known
#: before ``connected`` (a replayed journal, a history sync) and may be a phone JID or a LID:
#: storing it would give one message several dedupe keys.
OWN_SENDER = ChatJid("me")


class MessageKind(StrEnum):
    """What a WhatsApp message carries."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    POLL = "poll"
    CALL = "call"  # a voice or video call, stored in its chat
    WAITING = "waiting"  # could not be decrypted yet ("Waiting for this message")
    OTHER = "other"


MEDIA_KINDS = frozenset(
    {
        MessageKind.IMAGE,
        MessageKind.VIDEO,
        MessageKind.AUDIO,
        MessageKind.VOICE,
        MessageKind.DOCUMENT,
        MessageKind.STICKER,
    }
)


class ConnectionState(StrEnum):
    """The states of the WhatsApp session (DESIGN §5)."""

    STARTING = "starting"
    WAITING_FOR_QR = "waiting_for_qr"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    OUTDATED = "outdated"
    BANNED = "banned"


#: States the session never leaves by itself: no reconnect loop, the admin must act.
TERMINAL_STATES = frozenset(
    {
        ConnectionState.LOGGED_OUT,
        ConnectionState.REPLACED,
        ConnectionState.OUTDATED,
        ConnectionState.BANNED,
    }
)


class CallState(StrEnum):
    """What became of a call."""

    RINGING = "ringing"
    MISSED = "missed"
    ANSWERED = "answered"  # answered on another device (the phone)


class ReceiptKind(StrEnum):
    """Delivery state of a message we sent."""

    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"


def jid_server(jid: str) -> str:
    """Return the server part of a JID ("" when there is none)."""
    return jid.rpartition("@")[2] if "@" in jid else ""


def jid_user(jid: str) -> str:
    """Return the user part of a JID without agent or device suffix."""
    user = jid.partition("@")[0]
    return user.partition(":")[0].partition(".")[0]


def is_group_jid(jid: str) -> bool:
    """Return True for a group chat JID."""
    return jid_server(jid) == GROUP_SERVER


def is_lid_jid(jid: str) -> bool:
    """Return True for a hidden-id (LID) JID."""
    return jid_server(jid) == LID_SERVER


def is_broadcast_jid(jid: str) -> bool:
    """Return True for status updates and broadcast lists."""
    return jid_server(jid) == BROADCAST_SERVER


def mentions_in(text: str) -> tuple[ChatJid, ...]:
    """Return the JIDs of ``@<digits>`` mentions in a text, as WhatsApp clients write them."""
    found = re.findall(r"(?<![\w@])@(\d{5,16})\b", text)
    return tuple(ChatJid(f"{digits}@{PERSON_SERVER}") for digits in dict.fromkeys(found))
