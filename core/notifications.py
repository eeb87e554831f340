"""What the secretary tells the owner: one frozen value per kind of Telegram outbox item.

The assistant (and storage, for ticks) writes these to the Telegram outbox through the
``Outbox`` port; only ``bot/`` turns them into Telegram HTML and keyboards. Each value is
stored as its ``KIND`` and a JSON payload (``to_payload``/``from_payload``), so the outbox
stays JSON and rows written before these types existed keep loading (as ``Prepared``).
Text in a notification is plain text, never HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

from core.digest_report import DigestReport, checked_fields

#: Payloads of the kinds that once carried ready-made HTML carry this version mark now.
VERSION = 2


class _Plain:
    """A payload of the dataclass's own fields (integers, text, optional integers)."""

    KIND: ClassVar[str]
    #: Older rows of this kind held HTML: its payload carries ``VERSION``.
    VERSIONED: ClassVar[bool] = False

    @property
    def merge_key(self) -> str | None:
        """Outbox items with this key are merged into one Telegram message (None: never)."""
        """Outbox items with one key are merged into one Telegram message."""
        return None

    def to_payload(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        return {"v": VERSION, **out} if self.VERSIONED else out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Any:
        """Read a payload back; ValueError/TypeError when it does not fit."""
        return cls(**checked_fields(cls, payload))


@dataclass(frozen=True)
class Forward(_Plain):
    """A WhatsApp message that matters, forwarded (``chat_id`` merges a chat's forwards)."""

    KIND: ClassVar[str] = "forward"
    message_id: int
    reason: str = ""
    score: int | None = None
    chat_id: int | None = None

    @property
    def merge_key(self) -> str | None:
        """Outbox items with this key are merged into one Telegram message (None: never)."""
        return f"chat:{self.chat_id}" if self.chat_id is not None else None


@dataclass(frozen=True)
class CallNotice(_Plain):
    """A missed call (``chat_id`` merges a chat's calls into one notice)."""

    KIND: ClassVar[str] = "call"
    message_id: int
    chat_id: int | None = None

    @property
    def merge_key(self) -> str | None:
        """Outbox items with this key are merged into one Telegram message (None: never)."""
        return f"call:{self.chat_id}" if self.chat_id is not None else None


@dataclass(frozen=True)
class Ticks(_Plain):
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
        """Outbox items with this key are merged into one Telegram message (None: never)."""
        return f"ticks:{self.item_id}" if self.item_id is not None else None


@dataclass(frozen=True)
class Notice(_Plain):
    """A line for the owner, plain text."""

    KIND: ClassVar[str] = "notice"
    VERSIONED: ClassVar[bool] = True
    text: str


@dataclass(frozen=True)
class Draft(_Plain):
    """An AI draft reply to a message, waiting for the owner's Send / Edit / Discard."""

    KIND: ClassVar[str] = "draft"
    VERSIONED: ClassVar[bool] = True
    draft_id: int
    chat_id: int
    message_id: int
    text: str


@dataclass(frozen=True)
class DigestReady(_Plain):
    """A digest (stored as ``digest_id``) to send; its period counts as sent once queued."""

    KIND: ClassVar[str] = "digest"
    VERSIONED: ClassVar[bool] = True
    digest_id: int
    report: DigestReport

    def to_payload(self) -> dict[str, Any]:
        """The outbox row's JSON: the digest's id and its report."""
        return {"v": VERSION, "digest_id": self.digest_id, "report": self.report.to_payload()}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> DigestReady:
        """Read a row back; raises when it is not a digest's."""
        return cls(
            checked_fields(cls, payload)["digest_id"],
            DigestReport.from_payload(payload["report"]),
        )


@dataclass(frozen=True)
class ConnectionNotice(_Plain):
    """The WhatsApp connection changed state (a ``ConnectionState`` value) and why."""

    KIND: ClassVar[str] = "connection"
    state: str
    reason: str = ""


@dataclass(frozen=True)
class SendResult(_Plain):
    """A queued WhatsApp message (outbox row ``item_id``) went out late or was given up
    (``status`` a ``SendStatus`` value)."""

    KIND: ClassVar[str] = "send_result"
    item_id: int
    status: str
    error: str = ""


@dataclass(frozen=True)
class AutoReplied(_Plain):
    """An AI reply was sent on its own to ``chat_name`` (or failed: ``status``)."""

    KIND: ClassVar[str] = "auto_reply"
    chat_name: str
    text: str
    status: str
    error: str = ""


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
        """The kind the old row was stored under."""
        return self.kind

    def to_payload(self) -> dict[str, Any]:
        """The row as it was stored: the ready HTML, its buttons and ids."""
        out: dict[str, Any] = {"text": self.text}
        if self.markup is not None:
            out["markup"] = dict(self.markup)
        for key in ("message_id", "digest_id"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @classmethod
    def from_payload(cls, kind: str, payload: Mapping[str, Any]) -> Prepared:
        """An old row with ready-made HTML, checked for shape."""
        markup = payload.get("markup")
        if markup is not None and not isinstance(markup, Mapping):
            raise ValueError("markup must be an object")
        f = checked_fields(cls, {k: payload.get(k) for k in ("message_id", "digest_id")})
        return cls(
            kind, checked_fields(cls, {"text": payload.get("text", "")})["text"], markup, **f
        )


Notification = (
    Forward
    | CallNotice
    | Ticks
    | Notice
    | Draft
    | DigestReady
    | ConnectionNotice
    | SendResult
    | AutoReplied
)
#: Every kind written today, by its outbox ``kind``.
KINDS: dict[str, Any] = {
    t.KIND: t
    for t in (
        Forward,
        CallNotice,
        Ticks,
        Notice,
        Draft,
        DigestReady,
        ConnectionNotice,
        SendResult,
        AutoReplied,
    )
}


def load(kind: str, payload: Mapping[str, Any]) -> Notification | Prepared:
    """Read an outbox row back into its value. Raises ValueError, TypeError or KeyError for
    a payload that does not fit its kind; an unknown kind, or an old row of a kind that held
    HTML, comes back as ``Prepared``."""
    cls = KINDS.get(kind)
    if cls is None or (cls.VERSIONED and payload.get("v") != VERSION):
        return Prepared.from_payload(kind, payload)
    return cls.from_payload(payload)  # type: ignore[no-any-return]


class Outbox(Protocol):
    """The port the assistant tells the owner through (the Telegram outbox)."""

    async def add(self, notification: Notification, owners: Iterable[int]) -> None:
        """Queue ``notification`` once for each of ``owners`` (Telegram chats)."""
        ...
