"""What WhatsApp tells the application, and what the application asks it to send, as plain
values: a message, an edit, a receipt, a contact, a QR code, a change of connection state.

A transport (``whatsapp/``) produces these events; the assistant consumes them. Only the
standard library and ``core.ids`` are imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.ids import (
    CallState,
    ChatJid,
    ConnectionState,
    MessageKind,
    ReceiptKind,
    WaMessageId,
    is_group_jid,
)


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Metadata of an attachment; ``ref`` is what the gateway needs to download it later."""

    mimetype: str = ""
    file_name: str = ""
    size: int = 0
    ref: bytes = b""


@dataclass(frozen=True, slots=True)
class WaMessage:
    """One WhatsApp message, as received (live or from history)."""

    id: WaMessageId
    chat: ChatJid
    sender: ChatJid
    timestamp: datetime
    kind: MessageKind = MessageKind.TEXT
    text: str = ""
    caption: str = ""
    push_name: str = ""
    from_me: bool = False
    sender_alt: ChatJid | None = None
    chat_alt: ChatJid | None = None
    media: MediaInfo | None = None
    mentions: tuple[str, ...] = ()
    quoted_id: WaMessageId | None = None
    view_once: bool = False
    ephemeral: bool = False
    group_name: str | None = None

    @property
    def is_group(self) -> bool:
        """Return True when the message was sent in a group."""
        return is_group_jid(self.chat)

    @property
    def body(self) -> str:
        """Return the readable text: the text, else the caption."""
        return self.text or self.caption


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """Something to send to WhatsApp."""

    to: ChatJid
    text: str = ""
    kind: MessageKind = MessageKind.TEXT
    quoted_id: WaMessageId | None = None
    quoted_sender: ChatJid | None = None
    quoted_text: str = ""  # shown in the quote bubble
    mentions: tuple[str, ...] = ()
    media: bytes = b""
    file_name: str = ""
    mimetype: str = ""


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What WhatsApp answered to a send."""

    id: WaMessageId
    timestamp: datetime


# ---------------------------------------------------------------- events (past tense)


@dataclass(frozen=True, slots=True)
class QrIssued:
    """A login QR is ready (every refresh); ``valid_for`` is seconds until this code expires."""

    code: str
    index: int
    valid_for: float
    window_ends_at: datetime


@dataclass(frozen=True, slots=True)
class QrWindowEnded:
    """The QR login window ran out without a scan."""


@dataclass(frozen=True, slots=True)
class PairingCodeIssued:
    """A pairing code to type on the phone."""

    code: str
    phone: str


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The session moved to another state; ``reason`` is plain words for a human."""

    state: ConnectionState
    reason: str = ""
    own_jid: ChatJid | None = None


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A new message arrived (``history`` when it came from a history sync)."""

    message: WaMessage
    history: bool = False


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """A sender changed the text of an earlier message."""

    chat: ChatJid
    sender: ChatJid
    target_id: WaMessageId
    text: str
    timestamp: datetime
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class MessageRevoked:
    """A message was deleted for everyone (by its sender or by a group admin)."""

    chat: ChatJid
    sender: ChatJid
    target_id: WaMessageId
    by_admin: bool
    timestamp: datetime
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class ReactionReceived:
    """Someone reacted to a message; an empty emoji removes the reaction."""

    chat: ChatJid
    sender: ChatJid
    target_id: WaMessageId
    emoji: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class ReceiptReceived:
    """Messages we sent were delivered or read."""

    chat: ChatJid
    message_ids: tuple[WaMessageId, ...]
    kind: ReceiptKind
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class IdentityLinked:
    """A phone-number JID and a LID belong to the same person."""

    phone_jid: ChatJid
    lid: ChatJid


@dataclass(frozen=True, slots=True)
class ContactSeen:
    """A contact's names: ``name`` (full) and ``first_name`` as saved in the owner's address
    book, the ``push_name`` they chose, their verified ``business_name``."""

    jid: ChatJid
    name: str = ""
    push_name: str = ""
    lid: ChatJid | None = None
    first_name: str = ""
    business_name: str = ""


@dataclass(frozen=True, slots=True)
class AddressBookRead:
    """Entries read from the session's contact store (all of them, or the ones that changed)."""

    contacts: tuple[ContactSeen, ...]


@dataclass(frozen=True, slots=True)
class CallSeen:
    """An incoming call, or news of one already seen (answered elsewhere, ended)."""

    id: str
    chat: ChatJid
    caller: ChatJid
    timestamp: datetime
    state: CallState
    video: bool = False
    group: bool = False
    caller_alt: ChatJid | None = None


@dataclass(frozen=True, slots=True)
class GroupSeen:
    """A group's name and members."""

    jid: ChatJid
    name: str
    participants: tuple[ChatJid, ...] = ()
    admins: tuple[ChatJid, ...] | None = None  # the whole admin list, when the event has it
    promoted: tuple[ChatJid, ...] = ()
    demoted: tuple[ChatJid, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryBatchReceived:
    """One history-sync chunk, already converted off the event loop."""

    messages: tuple[WaMessage, ...]
    chats: int
    progress: int
    links: tuple[IdentityLinked, ...] = ()
    contacts: tuple[ContactSeen, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class MediaDownloaded:
    """An attachment was fetched (``path`` set) or failed (``error`` set)."""

    chat: ChatJid
    sender: ChatJid
    message_id: WaMessageId
    path: str | None
    size: int
    error: str | None = None


GatewayEvent = (
    QrIssued
    | QrWindowEnded
    | PairingCodeIssued
    | ConnectionChanged
    | MessageReceived
    | MessageEdited
    | MessageRevoked
    | ReactionReceived
    | ReceiptReceived
    | IdentityLinked
    | ContactSeen
    | AddressBookRead
    | CallSeen
    | GroupSeen
    | HistoryBatchReceived
    | MediaDownloaded
)
