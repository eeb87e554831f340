"""Messages: the repository — batch insert (see ingest.py), edits/revokes/reactions, scores,
reads and full-text search."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import peewee

from core.events import CallSeen, WaMessage
from core.ids import STATUS_BROADCAST, ChatJid, MessageKind, WaMessageId
from core.notifications import Forward
from storage import clean
from storage.calls import CallRecorded, missed_calls, record_call
from storage.chats import is_group_admin, resolve_id, same_person
from storage.db import db, in_thread, is_postgres
from storage.domain import ChangeOutcome, MediaState, StoredMessage
from storage.ingest import CHUNK, Scorer, StoreCall, store
from storage.migrations import POSTGRES_FTS_V8
from storage.models import (
    MessageLinkRecord,
    MessageRecord,
    RejectedEventRecord,
    SettingRecord,
)
from storage.outbox import queue_telegram, rows


def to_stored(rec: MessageRecord) -> StoredMessage:
    """Convert a record to the domain object."""
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


MAX_EDITS = 20  # earlier texts kept per message
MEDIA_USAGE_KEY = "media_usage"
#: Delivery states of a message, in the only order they may change.
DELIVERY_ORDER = ("", "delivered", "read", "played")


def _media_usage() -> dict[str, Any]:
    """The media counters, the day's reset at UTC midnight; started from the files already
    downloaded when there are none yet."""
    today = datetime.now(UTC).date().isoformat()
    rec = SettingRecord.get_or_none(SettingRecord.key == MEDIA_USAGE_KEY)
    if rec is None:
        total = (
            MessageRecord.select(peewee.fn.COALESCE(peewee.fn.SUM(MessageRecord.media_size), 0))
            .where(MessageRecord.media_state == MediaState.DONE.value)
            .scalar()
        )
        return {"day": today, "day_bytes": 0, "total_bytes": int(total or 0)}
    usage: dict[str, Any] = json.loads(rec.value)
    if usage.get("day") != today:
        usage.update(day=today, day_bytes=0)
    return usage


def _add_media_usage(size: int) -> None:
    usage = _media_usage()
    usage["day_bytes"] += size
    usage["total_bytes"] += size
    value = json.dumps(usage)
    SettingRecord.insert(key=MEDIA_USAGE_KEY, value=value).on_conflict(
        conflict_target=[SettingRecord.key], update={SettingRecord.value: value}
    ).execute()


def _reject(chat: str, sender: str, target_id: str, kind: str, text: str) -> ChangeOutcome:
    RejectedEventRecord.create(
        chat_jid=clean.ident(chat),
        sender=clean.ident(sender),
        target_id=clean.ident(target_id),
        kind=kind,
        text=clean.text(text),
    )
    return ChangeOutcome.REJECTED


class PeeweeMessageRepository:
    """Messages on the bound peewee database."""

    @in_thread
    def store(
        self, messages: Sequence[WaMessage], history: bool = False, score: Scorer | None = None
    ) -> list[StoredMessage]:
        """Insert what is new and return it; a replayed message changes nothing. With
        ``score``, each new message is scored as it is inserted (no second write)."""
        return store(messages, StoreCall(history, score)).stored

    @in_thread
    def record_call(self, call: CallSeen) -> CallRecorded | None:
        """Store a call, or what became of one (answered elsewhere, missed); see calls.py."""
        with db.atomic():
            return record_call(call)

    @in_thread
    def missed_calls(self, chat_id: int, until: datetime) -> tuple[datetime, ...]:
        """A chat's missed calls within the last CALL_WINDOW up to ``until``, oldest first."""
        return missed_calls(chat_id, until)

    @in_thread
    def store_history(self, messages: Sequence[WaMessage], score: Scorer) -> int:
        """Insert a history-sync batch, scoring each new message as it goes; return how many
        were new. History is not acted on message by message, so nothing else comes back."""
        return store(messages, StoreCall(True, score, keep=False)).new

    @in_thread
    def get(self, message_id: int) -> StoredMessage | None:
        """Return the stored message with this id, or None."""
        rec = MessageRecord.get_or_none(MessageRecord.id == message_id)
        return to_stored(rec) if rec else None

    @in_thread
    def get_many(self, message_ids: Sequence[int]) -> list[StoredMessage]:
        """Return the messages with these ids that still exist, oldest first."""
        found: list[StoredMessage] = []
        for start in range(0, len(message_ids), CHUNK):
            part = list(message_ids[start : start + CHUNK])
            found += [
                to_stored(r) for r in MessageRecord.select().where(MessageRecord.id.in_(part))
            ]
        return sorted(found, key=lambda m: m.id)

    def _target(self, chat: str, target_id: str) -> MessageRecord | None:
        chat_id = resolve_id(chat)
        if chat_id is None:
            return None
        return MessageRecord.get_or_none(
            (MessageRecord.chat == chat_id) & (MessageRecord.wa_id == target_id)
        )

    @in_thread
    def apply_edit(self, chat: str, target_id: str, editor: str, text: str) -> ChangeOutcome:
        """Apply an edit from the message's own sender, keeping the earlier text; an edit
        from anyone else is kept aside as a rejected event."""
        rec = self._target(chat, clean.ident(target_id))
        if rec is None:
            return ChangeOutcome.UNKNOWN
        if not same_person(rec.sender, editor):
            return _reject(chat, editor, target_id, "edit", text)
        field = "text" if rec.kind == MessageKind.TEXT.value or not rec.caption else "caption"
        edits = json.loads(rec.edits or "[]")
        edits.append(getattr(rec, field))
        setattr(rec, field, clean.text(text))
        rec.edits = json.dumps(edits[-MAX_EDITS:], ensure_ascii=False)
        rec.edited = True
        rec.save()
        return ChangeOutcome.APPLIED

    @in_thread
    def apply_revoke(
        self, chat: str, target_id: str, revoker: str, by_admin: bool
    ) -> ChangeOutcome:
        """Delete for everyone: by the message's sender, or in a group by a known admin."""
        rec = self._target(chat, clean.ident(target_id))
        if rec is None:
            return ChangeOutcome.UNKNOWN
        if same_person(rec.sender, revoker):
            rec.deleted_by = "sender"
        elif by_admin and is_group_admin(rec.chat_id, revoker):
            rec.deleted_by = "admin"
        else:
            return _reject(chat, revoker, target_id, "revoke", "")
        rec.deleted = True
        rec.save(only=[MessageRecord.deleted, MessageRecord.deleted_by])
        return ChangeOutcome.APPLIED

    @in_thread
    def rejected_count(self) -> int:
        """How many edits and revokes were refused (shown in /status)."""
        return int(RejectedEventRecord.select().count())

    @in_thread
    def apply_reaction(self, chat: str, target_id: str, sender: str, emoji: str) -> bool:
        """Record ``sender``'s reaction on a message ("" removes it); False when the message is
        not stored."""
        with db.atomic():
            rec = self._target(chat, target_id)
            if rec is None:
                return False
            reactions = json.loads(rec.reactions or "{}")
            if emoji:
                reactions[sender] = emoji
            else:
                reactions.pop(sender, None)
            rec.reactions = json.dumps(reactions, ensure_ascii=False)
            rec.save(only=[MessageRecord.reactions])
        return True

    @in_thread
    def set_delivery(self, chat: str, wa_ids: Sequence[str], state: str) -> int:
        """Raise the delivery state of messages of ``chat`` (delivered → read → played),
        never lower it: a late "delivered" after "read" changes nothing."""
        chat_id = resolve_id(chat)
        if chat_id is None or state not in DELIVERY_ORDER:
            return 0
        lower = DELIVERY_ORDER[: DELIVERY_ORDER.index(state)]
        return (
            MessageRecord.update(delivery=state)
            .where(
                (MessageRecord.chat == chat_id)
                & MessageRecord.wa_id.in_(list(wa_ids))
                & MessageRecord.delivery.in_(lower)
            )
            .execute()
        )

    @in_thread
    def set_importance(
        self,
        scores: Sequence[tuple[int, int, str]],
        forwards: Sequence[Forward] = (),
        owners: Iterable[int] = (),
    ) -> None:
        """Store ``(message id, score, reason)`` triples in short transactions; the Telegram
        forwards they call for (to each of ``owners``) go into the outbox in the same
        transaction as the first."""
        p = db.param
        sql = f"UPDATE messages SET importance = {p}, reason = {p} WHERE id = {p}"
        if forwards and not scores:
            raise ValueError("forwards need the scores that call for them")
        for start in range(0, len(scores), CHUNK):
            with db.atomic():
                if start == 0 and forwards:
                    queue_telegram([r for f in forwards for r in rows(f, owners)])
                db.cursor().executemany(
                    sql,
                    [
                        (score, reason[:256], i)
                        for i, score, reason in scores[start : start + CHUNK]
                    ],
                )

    @in_thread
    def set_feedback(self, message_id: int, value: int) -> None:
        """Record the owner's feedback on a message's importance."""
        MessageRecord.update(feedback=value).where(MessageRecord.id == message_id).execute()

    @in_thread
    def status_posters(self, since: datetime) -> list[tuple[str, str, int, datetime]]:
        """Who posted status updates since ``since``: (sender, name, posts, latest), newest
        first."""
        chat_id = resolve_id(STATUS_BROADCAST)
        if chat_id is None:
            return []
        rows = (
            MessageRecord.select(
                MessageRecord.sender,
                peewee.fn.MAX(MessageRecord.sender_name),
                peewee.fn.COUNT(MessageRecord.id),
                peewee.fn.MAX(MessageRecord.timestamp),
            )
            .where((MessageRecord.chat == chat_id) & (MessageRecord.timestamp >= since))
            .group_by(MessageRecord.sender)
            .order_by(peewee.fn.MAX(MessageRecord.timestamp).desc())
            .tuples()
        )
        return [
            (sender, name or "", int(n), latest)  # MAX() keeps the field's conversion
            for sender, name, n, latest in rows
        ]

    @in_thread
    def set_transcript(self, message_id: int, transcript: str, error: str) -> None:
        """Store a voice note's transcript, or why it has none (both cleaned: the endpoint's
        answer is as untrusted as the message)."""
        MessageRecord.update(
            transcript=clean.text(transcript), transcript_error=clean.text(error, 256)
        ).where(MessageRecord.id == message_id).execute()

    @in_thread
    def begin_media(self, message_id: int) -> None:
        """Count a download attempt before it starts: a download that kills the process
        (and so is retried at every start) stops after the attempts allowed."""
        MessageRecord.update(media_attempts=MessageRecord.media_attempts + 1).where(
            MessageRecord.id == message_id
        ).execute()

    @in_thread
    def set_media(
        self, message_id: int, state: MediaState, path: str | None, size: int, error: str | None
    ) -> None:
        """Record a download's outcome; a finished one counts towards the media budget."""
        update: dict[Any, object] = {
            MessageRecord.media_state: state.value,
            MessageRecord.media_path: path,
            MessageRecord.media_error: clean.text(error, 256) if error else None,
        }
        if size > 0:  # else keep the size the message declared
            update[MessageRecord.media_size] = size
        with db.atomic():
            if state == MediaState.DONE:  # first: a first count sums the files done before
                _add_media_usage(size)
            MessageRecord.update(update).where(MessageRecord.id == message_id).execute()

    @in_thread
    def media_usage(self) -> tuple[int, int]:
        """Bytes of media downloaded today (UTC) and in all."""
        usage = _media_usage()
        return int(usage["day_bytes"]), int(usage["total_bytes"])

    @in_thread
    def media_to_retry(self, max_attempts: int = 5, limit: int = 20) -> list[tuple[int, bytes]]:
        """The (message id, media reference) of attachments still to download, fewer than
        ``max_attempts`` tried, oldest first."""
        rows = (
            MessageRecord.select(MessageRecord.id, MessageRecord.media_ref)
            .where(
                MessageRecord.media_state.in_([MediaState.PENDING.value, MediaState.FAILED.value])
                & (MessageRecord.media_attempts < max_attempts)
                & MessageRecord.media_ref.is_null(False)
            )
            .order_by(MessageRecord.id)
            .limit(limit)
        )
        return [(r.id, bytes(r.media_ref)) for r in rows]

    @in_thread
    def unscored(self, limit: int = 500) -> list[StoredMessage]:
        """Live messages stored but never scored (the process stopped in between)."""
        rows = (
            MessageRecord.select()
            .where(MessageRecord.importance.is_null() & (MessageRecord.history == False))  # noqa: E712
            .order_by(MessageRecord.id)
            .limit(limit)
        )
        return [to_stored(r) for r in rows]

    @in_thread
    def media_ref(self, message_id: int) -> bytes | None:
        """The media reference needed to download a message's attachment, or None."""
        rec = MessageRecord.get_or_none(MessageRecord.id == message_id)
        return bytes(rec.media_ref) if rec is not None and rec.media_ref else None

    @in_thread
    def last(self, chat_id: int, n: int = 20) -> list[StoredMessage]:
        """The last ``n`` messages of a chat, oldest first."""
        rows = (
            MessageRecord.select()
            .where(MessageRecord.chat == chat_id)
            .order_by(MessageRecord.timestamp.desc(), MessageRecord.id.desc())
            .limit(n)
        )
        return [to_stored(r) for r in reversed(list(rows))]

    @in_thread
    def between(
        self, start: datetime, end: datetime, chat_ids: Sequence[int] | None = None
    ) -> list[StoredMessage]:
        """The messages sent in [start, end), of these chats only when ``chat_ids`` is given, in
        time order."""
        query = MessageRecord.select().where(
            (MessageRecord.timestamp >= start) & (MessageRecord.timestamp < end)
        )
        if chat_ids is not None:
            query = query.where(MessageRecord.chat.in_(list(chat_ids)))
        return [to_stored(r) for r in query.order_by(MessageRecord.timestamp, MessageRecord.id)]

    @in_thread
    def count_since(self, start: datetime) -> int:
        """How many messages were sent at or after ``start``."""
        return MessageRecord.select().where(MessageRecord.timestamp >= start).count()

    @in_thread
    def search(self, text: str, limit: int = 20) -> list[StoredMessage]:
        """Full-text search, newest first; all words must occur (the last may be a prefix)."""
        words = re.findall(r"\w+", text.lower())[:8]
        if not words:
            return []
        if is_postgres():
            query = " & ".join(f"{w}:*" for w in words)
            rows = MessageRecord.raw(
                f"SELECT * FROM messages WHERE {POSTGRES_FTS_V8} "
                "@@ to_tsquery('simple', %s) ORDER BY id DESC LIMIT %s",
                query,
                limit,
            )
        else:
            # Whole words first (FTS5 walks one doclist newest-first and stops at the limit);
            # only when that finds too little is the last word taken as a prefix (still typing).
            exact = " ".join(f'"{w}"' for w in words)
            rows = list(self._fts(exact, limit))
            if len(rows) < limit and len(words[-1]) >= 3:
                prefix = " ".join([*(f'"{w}"' for w in words[:-1]), f'"{words[-1]}"*'])
                seen = {r.id for r in rows}
                rows += [r for r in self._fts(prefix, limit) if r.id not in seen]
                rows = sorted(rows, key=lambda r: -r.id)[:limit]
        return [to_stored(r) for r in rows]

    @staticmethod
    def _fts(match: str, limit: int) -> list[MessageRecord]:
        return list(
            MessageRecord.raw(
                "SELECT m.* FROM messages m WHERE m.id IN (SELECT rowid FROM messages_fts "
                "WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?) ORDER BY m.id DESC",
                match,
                limit,
            )
        )

    @in_thread
    def link(self, tg_chat_id: int, tg_message_id: int, message_id: int) -> None:
        """Remember that this Telegram message shows this stored message (replies find it
        again)."""
        MessageLinkRecord.insert(
            tg_chat_id=tg_chat_id, tg_message_id=tg_message_id, message=message_id
        ).on_conflict(
            conflict_target=[MessageLinkRecord.tg_chat_id, MessageLinkRecord.tg_message_id],
            update={MessageLinkRecord.message: message_id},
        ).execute()

    @in_thread
    def linked(self, tg_chat_id: int, tg_message_id: int) -> StoredMessage | None:
        """The stored message that this Telegram message shows, or None."""
        link = MessageLinkRecord.get_or_none(
            (MessageLinkRecord.tg_chat_id == tg_chat_id)
            & (MessageLinkRecord.tg_message_id == tg_message_id)
        )
        if link is None:
            return None
        return self.get.sync(self, link.message_id)

    @in_thread
    def count(self) -> int:
        """How many messages are stored."""
        return MessageRecord.select().count()
