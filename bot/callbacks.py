"""Typed inline-button data, ``prefix:field:...``, built and parsed only here (≤ 64 bytes).

Ids are internal database ids, never JIDs or names, so the data is compact and carries
nothing private. Restart-safe: nothing is kept in memory between pressing and handling.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import ClassVar, Self

MAX_BYTES = 64


class InvalidCallback(ValueError):
    """Callback data that is stale, forged or malformed."""


def pack_parts(*parts: object) -> str:
    """Join parts with ':'; raise ValueError if the result exceeds Telegram's 64 bytes."""
    raw = ":".join(str(p) for p in parts)
    if len(raw.encode()) > MAX_BYTES:
        raise ValueError(f"callback data too long ({len(raw.encode())} bytes)")
    return raw


def unpack_parts(raw: str, prefix: str, arity: int) -> list[str]:
    """Split callback data of ``prefix`` into exactly ``arity`` fields."""
    head, _, rest = raw.partition(":")
    parts = rest.split(":", arity - 1) if arity else []
    if head != prefix or len(parts) != arity:
        raise InvalidCallback(raw)
    return parts


def _int(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise InvalidCallback(value)
    return int(value)


class _IdAction:
    """Data of the form ``prefix:<db id>:<action>``, the action one of ``ACTIONS``."""

    PREFIX: ClassVar[str]
    ACTIONS: ClassVar[frozenset[str]]

    def pack(self) -> str:
        ident, action = astuple(self)  # type: ignore[call-overload]
        if action not in self.ACTIONS:
            raise ValueError(action)
        return pack_parts(self.PREFIX, ident, action)

    @classmethod
    def unpack(cls, raw: str) -> Self:
        ident, action = unpack_parts(raw, cls.PREFIX, 2)
        if action not in cls.ACTIONS:
            raise InvalidCallback(raw)
        return cls(_int(ident), action)  # type: ignore[call-arg]


@dataclass(frozen=True)
class ChatList:
    """A page of /chats, with the search text (trimmed to fit) and the account it is
    narrowed to (0: every account)."""

    PREFIX: ClassVar[str] = "cp"
    page: int = 0
    search: str = ""
    account: int = 0

    def pack(self) -> str:
        """Pack as ``cp:<page>:<search>`` (``cp:<page>a<account>:<search>`` when narrowed to
        an account), the search trimmed to fit the 64 bytes."""
        where = f"{self.page}a{self.account}" if self.account else str(self.page)
        search = self.search.replace(":", " ")
        while len(pack_parts(self.PREFIX, where, "").encode()) + len(search.encode()) > 64:
            search = search[:-1]
        return pack_parts(self.PREFIX, where, search)

    @classmethod
    def unpack(cls, raw: str) -> ChatList:
        """Read ``cp:<page>[a<account>]:<search>`` back."""
        where, search = unpack_parts(raw, cls.PREFIX, 2)
        page, narrowed, account = where.partition("a")
        return cls(_int(page), search, _int(account) if narrowed else 0)


@dataclass(frozen=True)
class ChatAction(_IdAction):
    """Something done to one chat: open its card, toggle a flag, mute, show last messages."""

    PREFIX: ClassVar[str] = "ca"
    ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "open",
            "trusted",
            "ai",
            "auto",
            "digest",
            "cloud",
            "mute8h",
            "mutetm",
            "unmute",
            "last",
            "urgent",  # "one of these was urgent": list the chat's messages to pick from
        }
    )
    chat_id: int
    action: str = "open"


#: The reaction row under a forward: action "r0" reacts with the first, and so on; "rmore"
#: asks for any other emoji.
REACTIONS = ("👍", "❤️", "😂", "🙏")


@dataclass(frozen=True)
class ForwardAction(_IdAction):
    """A button under a forwarded message: reply prompt, not important, mute its chat,
    download its attachment now, show its whole text; or "this was urgent" on a message
    picked from a digest or /chat."""

    PREFIX: ClassVar[str] = "fw"
    ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"reply", "noimp", "mute", "media", "full", "urgent", "rmore"}
        | {f"r{i}" for i in range(len(REACTIONS))}
    )
    message_id: int
    action: str


@dataclass(frozen=True)
class SessionAction:
    """Login and logout buttons."""

    PREFIX: ClassVar[str] = "ss"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"logout_yes", "logout_no", "qr"})
    action: str

    def pack(self) -> str:
        """Pack as ``ss:<action>``; raise ValueError for an unknown action."""
        if self.action not in self.ACTIONS:
            raise ValueError(self.action)
        return pack_parts(self.PREFIX, self.action)

    @classmethod
    def unpack(cls, raw: str) -> SessionAction:
        """Read ``ss:<action>`` back; raise ``InvalidCallback`` for an unknown action."""
        [action] = unpack_parts(raw, cls.PREFIX, 1)
        if action not in cls.ACTIONS:
            raise InvalidCallback(raw)
        return cls(action)


@dataclass(frozen=True)
class AccountAction(_IdAction):
    """A button of /accounts: ``ac:<account id>:<action>`` (id 0 for "add")."""

    PREFIX: ClassVar[str] = "ac"
    ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {
            "add",
            "rename",
            "logout",
            "logout_yes",
            "logout_no",
            "default",
            "login",
            "remove",
            "remove_yes",
            "remove_no",
        }
    )
    account_id: int
    action: str


@dataclass(frozen=True)
class DigestAction:
    """Confirm an on-demand digest (moves the 'since last digest' mark)."""

    PREFIX: ClassVar[str] = "dg"
    digest_id: int

    def pack(self) -> str:
        """Pack as ``dg:<digest id>``."""
        return pack_parts(self.PREFIX, self.digest_id)

    @classmethod
    def unpack(cls, raw: str) -> DigestAction:
        """Read ``dg:<digest id>`` back."""
        [digest_id] = unpack_parts(raw, cls.PREFIX, 1)
        return cls(_int(digest_id))


@dataclass(frozen=True)
class SettingAction:
    """A /settings button: toggle or step a value."""

    PREFIX: ClassVar[str] = "st"
    key: str
    value: str = ""

    def pack(self) -> str:
        """Pack as ``st:<key>:<value>``."""
        return pack_parts(self.PREFIX, self.key, self.value)

    @classmethod
    def unpack(cls, raw: str) -> SettingAction:
        """Read ``st:<key>:<value>`` back."""
        key, value = unpack_parts(raw, cls.PREFIX, 2)
        return cls(key, value)


@dataclass(frozen=True)
class DraftAction(_IdAction):
    """Send, edit or discard an AI reply draft."""

    PREFIX: ClassVar[str] = "dr"
    ACTIONS: ClassVar[frozenset[str]] = frozenset({"send", "edit", "discard"})
    draft_id: int
    action: str


#: Every prefix a handler is registered for; anything else is answered "menu expired".
@dataclass(frozen=True)
class EditAction:
    """✏️ Edit on WhatsApp: make the edit of a Telegram message on the WhatsApp message it
    sent (the outbox item keeps the new text)."""

    PREFIX: ClassVar[str] = "ed"
    item_id: int

    def pack(self) -> str:
        """Pack as ``ed:<outbox item id>``."""
        return pack_parts(self.PREFIX, self.item_id)

    @classmethod
    def unpack(cls, raw: str) -> EditAction:
        """Read ``ed:<outbox item id>`` back."""
        [item_id] = unpack_parts(raw, cls.PREFIX, 1)
        return cls(_int(item_id))


KNOWN_PREFIXES = tuple(
    cls.PREFIX
    for cls in (
        EditAction,
        ChatList,
        ChatAction,
        ForwardAction,
        SessionAction,
        AccountAction,
        DigestAction,
        SettingAction,
        DraftAction,
    )
)
