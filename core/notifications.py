"""What the secretary tells the owner: one frozen value per kind of Telegram outbox item.

The assistant (and storage, for ticks) writes these to the Telegram outbox through the
``Outbox`` port; only ``bot/`` turns them into Telegram HTML and keyboards. Each value is
stored as its ``KIND`` and a JSON payload (``to_payload``/``from_payload``), so the outbox
stays JSON and rows written before these types existed keep loading (as ``Prepared``).
Text in a notification is plain text, never HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

#: Payloads of the kinds that once carried ready-made HTML carry this version mark now.
VERSION = 2


def _int(payload: Mapping[str, Any], key: str) -> int:
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value


def _opt_int(payload: Mapping[str, Any], key: str) -> int | None:
    return _int(payload, key) if payload.get(key) is not None else None


def _str(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return value


@dataclass(frozen=True)
class Forward:
    """A WhatsApp message that matters, forwarded (``chat_id`` merges a chat's forwards)."""

    KIND: ClassVar[str] = "forward"
    message_id: int
    reason: str = ""
    score: int | None = None
    chat_id: int | None = None

    @property
    def merge_key(self) -> str | None:
        return f"chat:{self.chat_id}" if self.chat_id is not None else None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message_id": self.message_id, "reason": self.reason}
        if self.score is not None:
            out["score"] = self.score
        if self.chat_id is not None:
            out["chat_id"] = self.chat_id
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Forward:
        return cls(
            _int(payload, "message_id"),
            _str(payload, "reason"),
            _opt_int(payload, "score"),
            _opt_int(payload, "chat_id"),
        )


@dataclass(frozen=True)
class CallNotice:
    """A missed call (``chat_id`` merges a chat's calls into one notice)."""

    KIND: ClassVar[str] = "call"
    message_id: int
    chat_id: int | None = None

    @property
    def merge_key(self) -> str | None:
        return f"call:{self.chat_id}" if self.chat_id is not None else None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message_id": self.message_id}
        if self.chat_id is not None:
            out["chat_id"] = self.chat_id
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CallNotice:
        return cls(_int(payload, "message_id"), _opt_int(payload, "chat_id"))


@dataclass(frozen=True)
class Ticks:
    """A sent message's new state, shown by editing its Telegram confirmation
    ``message_id`` (a Telegram message); ``item_id`` is its WhatsApp outbox row."""

    KIND: ClassVar[str] = "ticks"
    message_id: int
    state: str
    chat: str = ""
    error: str = ""
    item_id: int | None = None

    @property
    def merge_key(self) -> str | None:
        return f"ticks:{self.item_id}" if self.item_id is not None else None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": self.message_id,
            "state": self.state,
            "chat": self.chat,
            "error": self.error,
        }
        if self.item_id is not None:
            out["item_id"] = self.item_id
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Ticks:
        return cls(
            _int(payload, "message_id"),
            _str(payload, "state"),
            _str(payload, "chat"),
            _str(payload, "error"),
            _opt_int(payload, "item_id"),
        )


@dataclass(frozen=True)
class _Versioned:
    """A kind whose older rows held HTML: its payload carries ``VERSION``."""

    merge_key: ClassVar[str | None] = None


@dataclass(frozen=True)
class Notice(_Versioned):
    """A line for the owner, plain text."""

    KIND: ClassVar[str] = "notice"
    text: str

    def to_payload(self) -> dict[str, Any]:
        return {"v": VERSION, "text": self.text}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        return cls(_str(payload, "text"))


@dataclass(frozen=True)
class Draft(_Versioned):
    """An AI draft reply to a message, waiting for the owner's Send / Edit / Discard."""

    KIND: ClassVar[str] = "draft"
    draft_id: int
    chat_id: int
    message_id: int
    text: str

    def to_payload(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "draft_id": self.draft_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Draft:
        return cls(
            _int(payload, "draft_id"),
            _int(payload, "chat_id"),
            _int(payload, "message_id"),
            _str(payload, "text"),
        )


@dataclass(frozen=True)
class ConnectionNotice:
    """The WhatsApp connection changed state (a ``ConnectionState`` value) and why."""

    KIND: ClassVar[str] = "connection"
    merge_key: ClassVar[str | None] = None
    state: str
    reason: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ConnectionNotice:
        return cls(_str(payload, "state"), _str(payload, "reason"))


@dataclass(frozen=True)
class SendResult:
    """A queued WhatsApp message (outbox row ``item_id``) went out late or was given up
    (``status`` a ``SendStatus`` value)."""

    KIND: ClassVar[str] = "send_result"
    merge_key: ClassVar[str | None] = None
    item_id: int
    status: str
    error: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "status": self.status, "error": self.error}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SendResult:
        return cls(_int(payload, "item_id"), _str(payload, "status"), _str(payload, "error"))


@dataclass(frozen=True)
class AutoReplied:
    """An AI reply was sent on its own to ``chat_name`` (or failed: ``status``)."""

    KIND: ClassVar[str] = "auto_reply"
    merge_key: ClassVar[str | None] = None
    chat_name: str
    text: str
    status: str
    error: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "chat_name": self.chat_name,
            "text": self.text,
            "status": self.status,
            "error": self.error,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AutoReplied:
        return cls(
            _str(payload, "chat_name"),
            _str(payload, "text"),
            _str(payload, "status"),
            _str(payload, "error"),
        )


@dataclass(frozen=True)
class Prepared:
    """A row written before notifications were typed: Telegram HTML and a keyboard the bot
    had already made (a notice, draft or digest page). Read back, never written anew."""

    kind: str
    text: str
    markup: Mapping[str, Any] | None = None
    message_id: int | None = None
    digest_id: int | None = None
    merge_key: ClassVar[str | None] = None

    @property
    def KIND(self) -> str:
        return self.kind

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.markup is not None:
            out["markup"] = dict(self.markup)
        for key in ("message_id", "digest_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_payload(cls, kind: str, payload: Mapping[str, Any]) -> Prepared:
        markup = payload.get("markup")
        if markup is not None and not isinstance(markup, Mapping):
            raise ValueError("markup must be an object")
        return cls(
            kind,
            _str(payload, "text"),
            markup,
            _opt_int(payload, "message_id"),
            _opt_int(payload, "digest_id"),
        )


Notification = (
    Forward | CallNotice | Ticks | Notice | Draft | ConnectionNotice | SendResult | AutoReplied
)
#: Every kind written today, by its outbox ``kind``.
KINDS: dict[str, Any] = {
    t.KIND: t
    for t in (Forward, CallNotice, Ticks, Notice, Draft, ConnectionNotice, SendResult, AutoReplied)
}


def load(kind: str, payload: Mapping[str, Any]) -> Notification | Prepared:
    """Read an outbox row back into its value. Raises ValueError (or KeyError) for a payload
    that does not fit its kind; an unknown kind, or an old row of a kind that held HTML,
    comes back as ``Prepared``."""
    cls = KINDS.get(kind)
    if cls is None or (issubclass(cls, _Versioned) and payload.get("v") != VERSION):
        return Prepared.from_payload(kind, payload)
    return cls.from_payload(payload)  # type: ignore[no-any-return]


class Outbox(Protocol):
    """The port the assistant tells the owner through (the Telegram outbox)."""

    async def add(self, notification: Notification, owners: Iterable[int]) -> None:
        """Queue ``notification`` once for each of ``owners`` (Telegram chats)."""
        ...
