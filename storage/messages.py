"""Messages: idempotent batch insert, edits/revokes/reactions, reads and full-text search."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from storage.chats import NAME_GROUP, NAME_PUSH, ensure_chat_sync, resolve_id
from storage.db import db, in_thread, is_postgres
from storage.domain import MediaState, StoredMessage
from storage.models import ContactRecord, MessageLinkRecord, MessageRecord
from storage.outbox import queue_telegram
from whatsapp.types import MEDIA_KINDS, ChatJid, MessageKind, WaMessage, WaMessageId

#: Rows per INSERT statement; a history batch is split into transactions of this size so a
#: live message never waits long behind it.
CHUNK = 250
MAX_TEXT = 64_000


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
        quoted_id=WaMessageId(rec.quoted_id) if rec.quoted_id else None,
        mentions=tuple(json.loads(rec.mentions or "[]")),
        edited=rec.edited,
        deleted=rec.deleted,
        reactions=json.loads(rec.reactions or "{}"),
        delivery=rec.delivery,
        importance=rec.importance,
        reason=rec.reason,
    )


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
    "reason",
    "feedback",
    "media_attempts",
)


def _row(msg: WaMessage, chat_id: int, history: bool) -> tuple[object, ...]:
    media = msg.media
    state = MediaState.PENDING if media and msg.kind in MEDIA_KINDS else MediaState.NONE
    return (
        chat_id,
        msg.id,
        msg.sender,
        msg.push_name[:256],
        msg.kind.value,
        msg.text[:MAX_TEXT],
        msg.caption[:MAX_TEXT],
        msg.from_me,
        int(msg.timestamp.timestamp() * 1000),
        history,
        msg.view_once,
        media.mimetype[:128] if media else "",
        media.file_name[:256] if media else "",
        media.size if media else 0,
        state.value,
        media.ref if media and media.ref else None,
        msg.quoted_id,
        json.dumps(list(msg.mentions)),
        False,
        False,
        "{}",
        "",
        "",
        0,
        0,
    )


def _fresh(row_id: int, chat_id: int, msg: WaMessage, history: bool) -> StoredMessage:
    """The domain object of a row just inserted (no read-back needed)."""
    media = msg.media
    return StoredMessage(
        id=row_id,
        chat_id=chat_id,
        wa_id=msg.id,
        sender=msg.sender,
        sender_name=msg.push_name[:256],
        kind=msg.kind,
        text=msg.text[:MAX_TEXT],
        caption=msg.caption[:MAX_TEXT],
        from_me=msg.from_me,
        timestamp=msg.timestamp,
        history=history,
        media_mimetype=media.mimetype[:128] if media else "",
        media_file_name=media.file_name[:256] if media else "",
        media_size=media.size if media else 0,
        media_state=MediaState.PENDING if media and msg.kind in MEDIA_KINDS else MediaState.NONE,
        quoted_id=msg.quoted_id,
        mentions=msg.mentions,
    )


def _keys(wa_ids: list[str]) -> dict[tuple[int, str, str], int]:
    """Return ``(chat_id, sender, wa_id) → id`` for stored messages with these WhatsApp ids."""
    found: dict[tuple[int, str, str], int] = {}
    for start in range(0, len(wa_ids), CHUNK):
        part = wa_ids[start : start + CHUNK]
        marks = ", ".join([db.param] * len(part))
        cursor = db.execute_sql(
            f"SELECT id, chat_id, sender, wa_id FROM messages WHERE wa_id IN ({marks})", part
        )
        for row_id, chat_id, sender, wa_id in cursor.fetchall():
            found[(chat_id, sender, wa_id)] = row_id
    return found


def _offered_name(msg: WaMessage) -> tuple[str, int]:
    if msg.is_group:
        return msg.group_name or "", NAME_GROUP
    return ("" if msg.from_me else msg.push_name), NAME_PUSH


def _resolve_chats(chunk: Sequence[WaMessage], cache: dict[str, int]) -> None:
    """Fill ``cache`` (JID → chat id) for a chunk with one alias query, creating or merging
    (ensure_chat_sync) only for chats not yet known, and renaming known ones in one batch."""
    first: dict[str, WaMessage] = {}
    for msg in chunk:
        if msg.chat not in cache:
            first.setdefault(msg.chat, msg)
    if not first:
        return
    known: dict[str, int] = {}
    jids = list(first)
    for start in range(0, len(jids), CHUNK):
        part = jids[start : start + CHUNK]
        marks = ", ".join([db.param] * len(part))
        cursor = db.execute_sql(
            f"SELECT jid, chat_id FROM chat_aliases WHERE jid IN ({marks})", part
        )
        known.update(cursor.fetchall())
    renames = []
    for jid, msg in first.items():
        name, rank = _offered_name(msg)
        if jid in known and (not msg.chat_alt or resolve_id(msg.chat_alt) == known[jid]):
            cache[jid] = known[jid]
            if name:
                renames.append((name[:256], rank, known[jid], rank, name[:256]))
        else:
            cache[jid] = ensure_chat_sync(msg.chat, msg.chat_alt, name, rank)
    if renames:
        p = db.param
        db.cursor().executemany(
            f"UPDATE chats SET name = {p}, name_rank = {p} "
            f"WHERE id = {p} AND name_rank <= {p} AND name <> {p}",
            renames,
        )


def _touch_chats(new: Sequence[StoredMessage]) -> None:
    latest: dict[int, datetime] = {}
    unread: dict[int, int] = {}
    for msg in new:
        if msg.chat_id not in latest or msg.timestamp > latest[msg.chat_id]:
            latest[msg.chat_id] = msg.timestamp
        if not msg.from_me and not msg.history:
            unread[msg.chat_id] = unread.get(msg.chat_id, 0) + 1
    p = db.param
    sql = (
        f"UPDATE chats SET last_activity = CASE WHEN last_activity IS NULL OR last_activity < {p}"
        f" THEN {p} ELSE last_activity END, unread = unread + {p} WHERE id = {p}"
    )
    rows = []
    for chat_id, when in latest.items():
        ms = int(when.timestamp() * 1000)
        rows.append((ms, ms, unread.get(chat_id, 0), chat_id))
    db.cursor().executemany(sql, rows)


def _link_senders(messages: Iterable[WaMessage]) -> None:
    pairs = {(m.sender, m.sender_alt) for m in messages if m.sender_alt and not m.from_me}
    for a, b in pairs:
        lid, phone = (a, b) if a.endswith("@lid") else (b, a)
        ContactRecord.insert(jid=phone, lid=lid, phone_jid=phone).on_conflict(
            conflict_target=[ContactRecord.jid], update={ContactRecord.lid: lid}
        ).execute()


def _insert_chunk(
    chunk: Sequence[WaMessage], history: bool, cache: dict[str, int]
) -> list[StoredMessage]:
    pending: dict[tuple[int, str, str], tuple[int, WaMessage]] = {}
    _resolve_chats(chunk, cache)
    for msg in chunk:
        chat_id = cache[msg.chat]
        pending.setdefault((chat_id, msg.sender, msg.id), (chat_id, msg))
    existing = _keys(list({k[2] for k in pending}))
    new = [(key, chat_id, msg) for key, (chat_id, msg) in pending.items() if key not in existing]
    if not new:
        return []
    marks = ", ".join([db.param] * len(COLUMNS))
    sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})"
    cursor = db.cursor()
    cursor.executemany(sql, [_row(msg, chat_id, history) for _, chat_id, msg in new])
    ids = _keys([msg.id for _, _, msg in new])
    stored = [_fresh(ids[key], chat_id, msg, history) for key, chat_id, msg in new]
    _touch_chats(stored)
    _link_senders(msg for _, _, msg in new)
    return stored


def store_chunk(
    chunk: Sequence[WaMessage], history: bool, cache: dict[str, int]
) -> list[StoredMessage]:
    """Insert one chunk in one (short) write transaction; return what is new."""
    with db.atomic():
        return _insert_chunk(chunk, history, cache)


class PeeweeMessageRepository:
    """Messages on the bound peewee database."""

    @in_thread
    def store(self, messages: Sequence[WaMessage], history: bool = False) -> list[StoredMessage]:
        """Insert what is new and return it; a replayed message changes nothing."""
        stored: list[StoredMessage] = []
        cache: dict[str, int] = {}
        for start in range(0, len(messages), CHUNK):
            stored += store_chunk(messages[start : start + CHUNK], history, cache)
        return stored

    @in_thread
    def get(self, message_id: int) -> StoredMessage | None:
        rec = MessageRecord.get_or_none(MessageRecord.id == message_id)
        return to_stored(rec) if rec else None

    def _target(self, chat: str, target_id: str) -> MessageRecord | None:
        chat_id = resolve_id(chat)
        if chat_id is None:
            return None
        return MessageRecord.get_or_none(
            (MessageRecord.chat == chat_id) & (MessageRecord.wa_id == target_id)
        )

    @in_thread
    def apply_edit(self, chat: str, target_id: str, text: str) -> bool:
        rec = self._target(chat, target_id)
        if rec is None:
            return False
        if rec.kind == MessageKind.TEXT.value or not rec.caption:
            rec.text = text[:MAX_TEXT]
        else:
            rec.caption = text[:MAX_TEXT]
        rec.edited = True
        rec.save()
        return True

    @in_thread
    def apply_revoke(self, chat: str, target_id: str) -> bool:
        rec = self._target(chat, target_id)
        if rec is None:
            return False
        rec.deleted = True
        rec.save(only=[MessageRecord.deleted])
        return True

    @in_thread
    def apply_reaction(self, chat: str, target_id: str, sender: str, emoji: str) -> bool:
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
        chat_id = resolve_id(chat)
        if chat_id is None:
            return 0
        return (
            MessageRecord.update(delivery=state)
            .where((MessageRecord.chat == chat_id) & MessageRecord.wa_id.in_(list(wa_ids)))
            .execute()
        )

    @in_thread
    def set_importance(
        self,
        scores: Sequence[tuple[int, int, str]],
        forwards: Sequence[tuple[int, str, dict[str, object], str | None]] = (),
    ) -> None:
        """Store ``(message id, score, reason)`` triples in short transactions; the Telegram
        forwards they call for go into the outbox in the same transaction as the first."""
        p = db.param
        sql = f"UPDATE messages SET importance = {p}, reason = {p} WHERE id = {p}"
        if forwards and not scores:
            raise ValueError("forwards need the scores that call for them")
        for start in range(0, len(scores), CHUNK):
            with db.atomic():
                if start == 0 and forwards:
                    queue_telegram(forwards)
                db.cursor().executemany(
                    sql,
                    [
                        (score, reason[:256], i)
                        for i, score, reason in scores[start : start + CHUNK]
                    ],
                )

    @in_thread
    def set_feedback(self, message_id: int, value: int) -> None:
        MessageRecord.update(feedback=value).where(MessageRecord.id == message_id).execute()

    @in_thread
    def set_media(
        self, message_id: int, state: MediaState, path: str | None, size: int, error: str | None
    ) -> None:
        MessageRecord.update(
            media_state=state.value,
            media_path=path,
            media_size=size,
            media_error=error[:256] if error else None,
            media_attempts=MessageRecord.media_attempts + 1,
        ).where(MessageRecord.id == message_id).execute()

    @in_thread
    def find_wa(self, chat: str, sender: str, wa_id: str) -> StoredMessage | None:
        chat_id = resolve_id(chat)
        if chat_id is None:
            return None
        rec = MessageRecord.get_or_none(
            (MessageRecord.chat == chat_id)
            & (MessageRecord.sender == sender)
            & (MessageRecord.wa_id == wa_id)
        )
        return to_stored(rec) if rec else None

    @in_thread
    def media_to_retry(self, max_attempts: int = 5, limit: int = 20) -> list[tuple[int, bytes]]:
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
        rec = MessageRecord.get_or_none(MessageRecord.id == message_id)
        return bytes(rec.media_ref) if rec is not None and rec.media_ref else None

    @in_thread
    def last(self, chat_id: int, n: int = 20) -> list[StoredMessage]:
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
        query = MessageRecord.select().where(
            (MessageRecord.timestamp >= start) & (MessageRecord.timestamp < end)
        )
        if chat_ids is not None:
            query = query.where(MessageRecord.chat.in_(list(chat_ids)))
        return [to_stored(r) for r in query.order_by(MessageRecord.timestamp, MessageRecord.id)]

    @in_thread
    def count_since(self, start: datetime) -> int:
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
                "SELECT * FROM messages WHERE to_tsvector('simple', text || ' ' || caption) "
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
        MessageLinkRecord.insert(
            tg_chat_id=tg_chat_id, tg_message_id=tg_message_id, message=message_id
        ).on_conflict(
            conflict_target=[MessageLinkRecord.tg_chat_id, MessageLinkRecord.tg_message_id],
            update={MessageLinkRecord.message: message_id},
        ).execute()

    @in_thread
    def linked(self, tg_chat_id: int, tg_message_id: int) -> StoredMessage | None:
        link = MessageLinkRecord.get_or_none(
            (MessageLinkRecord.tg_chat_id == tg_chat_id)
            & (MessageLinkRecord.tg_message_id == tg_message_id)
        )
        if link is None:
            return None
        return self.get.sync(self, link.message_id)

    @in_thread
    def count(self) -> int:
        return MessageRecord.select().count()
