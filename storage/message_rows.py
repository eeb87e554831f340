"""The one mapping of the ``messages`` table: a WhatsApp message to its new row, and a row to
the ``StoredMessage`` handed upward. Every repository that writes or reads messages uses it.

Pure functions (no queries): the bulk insert (ingest.py) names ``COLUMNS`` in raw SQL, so the
values come as a tuple in that order.
"""

from __future__ import annotations

import json
from typing import Any

from core.events import WaMessage
from core.ids import MEDIA_KINDS, OWN_SENDER, ChatJid, MessageKind, WaMessageId
from storage.domain import MediaState, StoredMessage
from storage.models import MessageRecord

#: The columns a new message row sets, in the order ``message_row`` gives their values (the
#: others take their SQL defaults).
COLUMNS = (
    "chat_id",
    "wa_id",
    "sender",
    "sender_name",
    "kind",
    "text",
    "caption",
    "from_me",
    "timestamp",
    "history",
    "view_once",
    "media_mimetype",
    "media_file_name",
    "media_size",
    "media_state",
    "media_ref",
    "quoted_id",
    "mentions",
    "edited",
    "deleted",
    "reactions",
    "delivery",
    "importance",
    "reason",
    "feedback",
    "media_attempts",
)
#: Columns that are not the message's content: where and whose it is, and what happened to it
#: since. A placeholder keeps these when the content it waited for comes.
KEPT = (
    "chat_id",
    "wa_id",
    "sender",
    "from_me",
    "history",
    "edited",
    "deleted",
    "reactions",
    "delivery",
    "feedback",
    "media_attempts",
)
#: Columns a placeholder takes from the message that replaces it.
FILLED = tuple(c for c in COLUMNS if c not in KEPT)
_FILLED_AT = tuple(COLUMNS.index(c) for c in FILLED)

#: A score as stored: (importance, reason).
Score = tuple[int, str]


def stored_sender(msg: WaMessage) -> str:
    """The sender a message is stored and deduplicated under (one for all of the owner's)."""
    return OWN_SENDER if msg.from_me else msg.sender


def message_row(  # every string already fits its column: ingest cleans each message first
    msg: WaMessage, chat_id: int, history: bool, score: Score | None
) -> tuple[object, ...]:
    """The values of a new row for ``msg``, in the order of ``COLUMNS``."""
    media = msg.media
    state = MediaState.PENDING if media and msg.kind in MEDIA_KINDS else MediaState.NONE
    return (
        chat_id,
        msg.id,
        stored_sender(msg),
        msg.push_name,
        msg.kind.value,
        msg.text,
        msg.caption,
        msg.from_me,
        int(msg.timestamp.timestamp() * 1000),
        history,
        msg.view_once,
        media.mimetype if media else "",
        media.file_name if media else "",
        media.size if media else 0,
        state.value,
        media.ref if media and media.ref else None,
        msg.quoted_id,
        json.dumps(list(msg.mentions)) if msg.mentions else "[]",
        False,
        False,
        "{}",
        "",
        score[0] if score else None,
        score[1][:256] if score else "",
        0,
        0,
    )


def filled_values(row: tuple[object, ...]) -> tuple[object, ...]:
    """The values of ``FILLED`` out of a ``message_row``."""
    return tuple(row[i] for i in _FILLED_AT)


def to_stored(rec: Any) -> StoredMessage:
    """Convert a message record (or anything with its columns as attributes) to the domain
    object."""
    return StoredMessage(
        id=rec.id,
        chat_id=rec.chat_id,
        wa_id=WaMessageId(rec.wa_id),
        sender=ChatJid(rec.sender),
        sender_name=rec.sender_name,
        kind=MessageKind(rec.kind),
        text=rec.text,
        caption=rec.caption,
        from_me=rec.from_me,
        timestamp=rec.timestamp,
        history=rec.history,
        media_path=rec.media_path,
        media_mimetype=rec.media_mimetype,
        media_file_name=rec.media_file_name,
        media_size=rec.media_size,
        media_state=MediaState(rec.media_state),
        media_error=rec.media_error or "",
        quoted_id=WaMessageId(rec.quoted_id) if rec.quoted_id else None,
        mentions=tuple(json.loads(rec.mentions or "[]")),
        edited=rec.edited,
        deleted=rec.deleted,
        reactions=json.loads(rec.reactions or "{}"),
        delivery=rec.delivery,
        importance=rec.importance,
        reason=rec.reason,
        deleted_by=rec.deleted_by,
        edits=tuple(json.loads(rec.edits or "[]")),
        transcript=rec.transcript,
        transcript_error=rec.transcript_error,
    )


def inserted(row_id: int, msg: WaMessage, row: tuple[object, ...]) -> StoredMessage:
    """The domain object of a row just inserted from ``msg`` (no read-back needed)."""
    rec = MessageRecord(id=row_id, **dict(zip(COLUMNS, row, strict=True)))
    rec.timestamp = msg.timestamp  # as given, not cut to the stored milliseconds
    return to_stored(rec)
