"""Domain objects the repositories return (plain frozen dataclasses; no peewee here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from core.ids import ChatJid, MessageKind, WaMessageId

T = TypeVar("T")


class MediaState(StrEnum):
    """Where an attachment's bytes are."""

    NONE = "none"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    TOO_LARGE = "too_large"
    SKIPPED = "skipped"  # over the day's or the total media budget: fetched only on request


class OutboxState(StrEnum):
    """Lifecycle of an outbox item."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class Chat:
    """A WhatsApp chat (person or group) and the admin's settings for it."""

    id: int
    jid: ChatJid
    name: str
    is_group: bool
    trusted: bool = False
    ai_enabled: bool = False
    ai_auto: bool = False
    cloud_llm_allowed: bool = True
    include_in_digest: bool = True
    muted_until: datetime | None = None
    last_activity: datetime | None = None
    unread: int = 0
    score_bias: int = 0
    #: A saved contact or a chat the owner has written in (not a first contact).
    known: bool = False
    aliases: tuple[ChatJid, ...] = ()
    #: The WhatsApp account the chat is in (``AccountInfo.id``).
    account_id: int = 1

    def is_muted(self, now: datetime) -> bool:
        """Return True while the chat is muted."""
        return self.muted_until is not None and self.muted_until > now


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as stored, with what the bot learned about it."""

    id: int
    chat_id: int
    wa_id: WaMessageId
    sender: ChatJid
    sender_name: str
    kind: MessageKind
    text: str
    caption: str
    from_me: bool
    timestamp: datetime
    history: bool = False
    media_path: str | None = None
    media_mimetype: str = ""
    media_file_name: str = ""
    media_size: int = 0
    media_state: MediaState = MediaState.NONE
    media_error: str = ""
    quoted_id: WaMessageId | None = None
    mentions: tuple[str, ...] = ()
    edited: bool = False
    deleted: bool = False
    reactions: dict[str, str] = field(default_factory=dict)
    delivery: str = ""
    importance: int | None = None
    reason: str = ""
    deleted_by: str = ""  # "sender" or "admin"
    edits: tuple[str, ...] = ()  # the earlier texts, oldest first
    transcript: str = ""  # what a voice note says ("" until transcribed, or never)
    transcript_error: str = ""  # why a voice note has no transcript

    @property
    def body(self) -> str:
        """Return the readable text: the text, else the caption, else a voice note's
        transcript (triage, digests, search hits and forwards read this)."""
        return self.text or self.caption or self.transcript


class ChangeOutcome(StrEnum):
    """What became of an edit or a revoke."""

    APPLIED = "applied"
    UNKNOWN = "unknown"  # no such message stored
    REJECTED = "rejected"  # its sender may not change that message: kept aside, not applied


@dataclass(frozen=True, slots=True)
class Contact:
    """What is known of a person's identity and names."""

    jid: ChatJid
    lid: ChatJid | None
    phone_jid: ChatJid | None
    push_name: str
    full_name: str
    first_name: str = ""
    business_name: str = ""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list."""

    items: tuple[T, ...]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 0

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page + 1 < self.pages


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One durable delivery (to Telegram or to WhatsApp)."""

    id: int
    target: str
    kind: str
    payload: dict[str, Any]
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    merge_key: str | None = None
    last_error: str | None = None
    result_id: str | None = None
    #: The WhatsApp account that sends it (a WhatsApp outbox item); 1 for a Telegram one.
    account_id: int = 1


@dataclass(frozen=True, slots=True)
class Draft:
    """An AI reply and what became of it."""

    id: int
    chat_id: int
    message_id: int
    text: str
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest as generated and (maybe) sent."""

    id: int
    kind: str
    period_start: datetime
    period_end: datetime
    text: str
    message_count: int
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """One linked WhatsApp account: its label, its own JID once paired, whether it is the
    default, and its per-account setting overrides."""

    id: int
    label: str
    own_jid: str | None
    is_default: bool
    created_at: datetime
    settings: dict[str, object] = field(default_factory=dict)
