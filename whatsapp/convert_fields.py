"""The fields every converted event reads the same way: JIDs, timestamps, and the checked
id / chat / sender / time of one message or call (``Origin``).

Works on the protobuf objects by attribute (no neonize import). The converters of messages
(convert_messages.py), calls (convert_calls.py), receipts and the address book build on
these; nothing here knows one event type from another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.ids import GROUP_SERVER, ChatJid

logger = logging.getLogger(__name__)

#: A message or call id longer than this is no id WhatsApp gave us.
MAX_ID_LENGTH = 128


def jid_str(jid: Any) -> str:
    """Return ``user@server`` without device or agent; "" for Go's empty JID."""
    if jid is None or getattr(jid, "IsEmpty", False) or not getattr(jid, "User", ""):
        return ""
    user = jid.User if jid.Server == GROUP_SERVER else jid.User.partition(".")[0]
    return f"{user.partition(':')[0]}@{jid.Server}"


def from_s(seconds: float, now: datetime | None = None) -> datetime:
    """Return the aware UTC time of a second timestamp (history, receipts); an impossible
    one (missing, negative, or more than a day ahead) becomes "now" rather than a lost message."""
    now = now or datetime.now(UTC)
    if seconds <= 0:
        return now
    try:
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now
    return now if when > now + timedelta(days=1) else when


def from_ms(ms: int) -> datetime:
    """Return the aware UTC time of a millisecond timestamp (MessageEv)."""
    return from_s(ms / 1000)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one message or call comes from: its id, chat, sender and time, each checked."""

    id: str
    chat: ChatJid
    sender: ChatJid
    timestamp: datetime


def read_origin(id_: str, chat: str, sender: str, when: datetime, what: str) -> Origin | None:
    """Return the checked common fields, or None (logged as ``"<what> skipped"``) when the
    id, the chat or the sender is missing."""
    if not id_ or not chat or not sender:
        logger.warning("%s skipped", what)
        return None
    return Origin(id_, ChatJid(chat), ChatJid(sender), when)


def message_origin(info: Any, what: str) -> Origin | None:
    """Read the ``MessageInfo`` of a live message event: its id, chat, sender (the chat
    itself when Go gives none) and millisecond time; None when it has no chat or id."""
    src = info.MessageSource
    chat = jid_str(src.Chat)
    sender = jid_str(src.Sender) or chat
    return read_origin(info.ID, chat, sender, from_ms(info.Timestamp), what)
