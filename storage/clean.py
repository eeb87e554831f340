"""Every string bound for the database, made fit for both backends in one place.

Anyone who has the owner's number chooses what a message carries. PostgreSQL refuses a NUL
character in text and a value longer than its column; both backends refuse strings that are
not valid Unicode (lone surrogates). SQLite would store most of it, PostgreSQL would reject
the whole batch: so nothing reaches either backend before it passed through here.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from core.events import MediaInfo, WaMessage
from core.ids import ChatJid, WaMessageId

#: Text and captions are kept up to this many characters (the rest is cut off).
MAX_TEXT = 64_000
ID_LIMIT = 128  # wa_id, sender, quoted_id, chat JIDs
NAME_LIMIT = 256  # push names, file names, group subjects
MIME_LIMIT = 128


def text(value: str, limit: int = MAX_TEXT) -> str:
    """Drop NUL characters, replace what is not valid Unicode, cut to ``limit``."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from a hand-made JSON feed
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def ident(value: str, limit: int = ID_LIMIT) -> str:
    """Clean an id or JID; one too long keeps its start plus a hash of the whole, so two
    different long ids stay different (and the same id always maps to the same value)."""
    value = text(value, len(value))
    if len(value) <= limit:
        return value
    digest = hashlib.blake2b(value.encode(), digest_size=8).hexdigest()
    return f"{value[: limit - 17]}~{digest}"


def _fits(msg: WaMessage) -> bool:
    """The fast path: most messages need nothing."""
    short = (
        msg.id,
        msg.chat,
        msg.sender,
        msg.quoted_id or "",
        msg.sender_alt or "",
        msg.chat_alt or "",
        *msg.mentions,
    )
    return (
        all(len(s) <= ID_LIMIT and s.isascii() and "\x00" not in s for s in short)
        and len(msg.text) <= MAX_TEXT
        and len(msg.caption) <= MAX_TEXT
        and len(msg.push_name) <= NAME_LIMIT
        and len(msg.group_name or "") <= NAME_LIMIT
        and all(
            (s.isascii() and "\x00" not in s) or s == text(s, len(s))
            for s in (msg.text, msg.caption, msg.push_name, msg.group_name or "")
        )
        and (msg.media is None or _media(msg.media) == msg.media)
    )


def _media(media: MediaInfo) -> MediaInfo:
    return replace(
        media,
        mimetype=text(media.mimetype, MIME_LIMIT),
        file_name=text(media.file_name, NAME_LIMIT),
        size=max(0, min(media.size, 2**62)),
    )


def _jid(value: str | None) -> ChatJid | None:
    return ChatJid(ident(value)) if value else None


def message(msg: WaMessage) -> WaMessage:
    """Return the message with every field fit for storage (the same object when it is)."""
    if _fits(msg):
        return msg
    return replace(
        msg,
        id=WaMessageId(ident(msg.id)),
        chat=ChatJid(ident(msg.chat)),
        sender=ChatJid(ident(msg.sender)),
        text=text(msg.text),
        caption=text(msg.caption),
        push_name=text(msg.push_name, NAME_LIMIT),
        sender_alt=_jid(msg.sender_alt),
        chat_alt=_jid(msg.chat_alt),
        media=_media(msg.media) if msg.media else None,
        mentions=tuple(ident(m) for m in msg.mentions),
        quoted_id=WaMessageId(ident(msg.quoted_id)) if msg.quoted_id else None,
        group_name=text(msg.group_name, NAME_LIMIT) if msg.group_name else msg.group_name,
    )
