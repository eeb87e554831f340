"""Messages: idempotent batch insert, edits/revokes/reactions, reads and full-text search."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from storage.chats import (
    NAME_FALLBACK,
    NAME_GROUP,
    NAME_PUSH,
    ensure_chat_sync,
    fallback_name,
    load_chats,
    resolve_id,
)
from storage.db import db, in_thread, is_postgres
from storage.domain import Chat, MediaState, StoredMessage
from storage.models import (
    ChatAliasRecord,
    ChatRecord,
    ContactRecord,
    MessageLinkRecord,
    MessageRecord,
)
from storage.outbox import queue_telegram
from whatsapp.types import MEDIA_KINDS, ChatJid, MessageKind, WaMessage, WaMessageId, is_group_jid

#: Rows per INSERT statement; a history batch is split into transactions of this size so a
#: live message never waits long behind it.
CHUNK = 250
CHATS_PER_TRANSACTION = 100  # chats created or renamed per transaction, ahead of a big batch
MAX_TEXT = 64_000

#: Scores a message as it is stored: ``(message, its chat) → (score, reason)``.
Scorer = Callable[[WaMessage, Chat], tuple[int, str]]


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
    "importance",
    "reason",
    "feedback",
    "media_attempts",
)


def _row(
    msg: WaMessage, chat_id: int, history: bool, score: tuple[int, str] | None
) -> tuple[object, ...]:
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


def _fresh(
    row_id: int, chat_id: int, msg: WaMessage, history: bool, score: tuple[int, str] | None
) -> StoredMessage:
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
        importance=score[0] if score else None,
        reason=score[1][:256] if score else "",
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


def _ids_by_jid(table: str, column: str, jids: Sequence[str]) -> dict[str, int]:
    """Return ``jid → id`` from ``table`` for these JIDs, a chunk of them per query."""
    found: dict[str, int] = {}
    for start in range(0, len(jids), CHUNK):
        part = jids[start : start + CHUNK]
        marks = ", ".join([db.param] * len(part))
        cursor = db.execute_sql(f"SELECT jid, {column} FROM {table} WHERE jid IN ({marks})", part)
        found.update(cursor.fetchall())
    return found


def _create_chats(first: dict[str, WaMessage]) -> dict[str, int]:
    """Create the chats of these never-seen JIDs in bulk; return ``jid → id``."""
    rows = []
    for jid, msg in first.items():
        name, rank = _offered_name(msg)
        rows.append(
            {
                ChatRecord.jid: jid,
                ChatRecord.name: name[:256] or fallback_name(jid),
                ChatRecord.name_rank: rank if name else NAME_FALLBACK,
                ChatRecord.is_group: is_group_jid(jid),
            }
        )
    ChatRecord.insert_many(rows).execute()
    created = _ids_by_jid("chats", "id", list(first))
    aliases = [{ChatAliasRecord.jid: j, ChatAliasRecord.chat: i} for j, i in created.items()]
    ChatAliasRecord.insert_many(aliases).on_conflict_ignore().execute()
    return created


def _resolve_chats(chunk: Sequence[WaMessage], cache: dict[str, int]) -> None:
    """Fill ``cache`` (JID → chat id) for a chunk with one alias query: chats never seen are
    created in bulk, known ones renamed in one batch, and only the rare rest (an alternate
    JID to link, a chat row whose alias went missing) go through ``ensure_chat_sync``."""
    first: dict[str, WaMessage] = {}
    for msg in chunk:
        if msg.chat not in cache:
            first.setdefault(msg.chat, msg)
    if not first:
        return
    known = _ids_by_jid("chat_aliases", "chat_id", list(first))
    unseen = [j for j, m in first.items() if j not in known and not m.chat_alt]
    orphans = _ids_by_jid("chats", "id", unseen) if unseen else {}
    fresh = {j: first[j] for j in unseen if j not in orphans}
    if fresh:
        cache.update(_create_chats(fresh))
    renames = []
    for jid, msg in first.items():
        if jid in fresh:
            continue
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


def _touch_chats(new: Sequence[tuple[int, WaMessage]], history: bool) -> None:
    latest: dict[int, datetime] = {}
    unread: dict[int, int] = {}
    for chat_id, msg in new:
        if chat_id not in latest or msg.timestamp > latest[chat_id]:
            latest[chat_id] = msg.timestamp
        if not msg.from_me and not history:
            unread[chat_id] = unread.get(chat_id, 0) + 1
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


#: A row just inserted: its dedupe key, chat id, message and score.
_New = tuple[tuple[int, str, str], int, WaMessage, tuple[int, str] | None]


@dataclass
class _StoreCall:
    """What one ``store`` call learns as it goes, shared by its chunks."""

    history: bool
    scorer: Scorer | None
    keep: bool = True  # build a StoredMessage for each new row (a history sync only counts)
    chat_ids: dict[str, int] = field(default_factory=dict)
    chats: dict[int, Chat] = field(default_factory=dict)
    stored: list[StoredMessage] = field(default_factory=list)
    new: int = 0

    def prepare(self, messages: Sequence[WaMessage]) -> None:
        """Resolve every chat of a call that spans chunks up front, a hundred chats to a
        (short) transaction, and read them in one query, instead of a little of both in
        every chunk."""
        firsts: dict[str, WaMessage] = {}
        for msg in messages:
            firsts.setdefault(msg.chat, msg)
        unique = list(firsts.values())
        for start in range(0, len(unique), CHATS_PER_TRANSACTION):
            resolve_chunk(unique[start : start + CHATS_PER_TRANSACTION], self.chat_ids)
        if self.scorer is not None:
            self.chats.update(load_chats(self.chat_ids.values()))

    def scores(self, new: Sequence[tuple[int, WaMessage]]) -> list[tuple[int, str] | None]:
        if self.scorer is None:
            return [None] * len(new)
        missing = {chat_id for chat_id, _ in new if chat_id not in self.chats}
        if missing:
            self.chats.update(load_chats(missing))
        return [self.scorer(msg, self.chats[chat_id]) for chat_id, msg in new]


def _insert_chunk(chunk: Sequence[WaMessage], call: _StoreCall) -> list[_New]:
    pending: dict[tuple[int, str, str], tuple[int, WaMessage]] = {}
    _resolve_chats(chunk, call.chat_ids)
    for msg in chunk:
        chat_id = call.chat_ids[msg.chat]
        pending.setdefault((chat_id, msg.sender, msg.id), (chat_id, msg))
    existing = _keys(list({k[2] for k in pending}))
    fresh = [(chat_id, msg) for key, (chat_id, msg) in pending.items() if key not in existing]
    if not fresh:
        return []
    scores = call.scores(fresh)
    new = [
        ((chat_id, msg.sender, msg.id), chat_id, msg, sc)
        for (chat_id, msg), sc in zip(fresh, scores, strict=True)
    ]
    marks = ", ".join([db.param] * len(COLUMNS))
    sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})"
    history = call.history
    db.cursor().executemany(sql, [_row(msg, chat_id, history, sc) for _, chat_id, msg, sc in new])
    _touch_chats(fresh, history)
    _link_senders(msg for _, msg in fresh)
    return new


def resolve_chunk(messages: Sequence[WaMessage], cache: dict[str, int]) -> None:
    """Resolve (and create) the chats of these messages in one write transaction."""
    with db.atomic():
        _resolve_chats(messages, cache)


def store_chunk(chunk: Sequence[WaMessage], call: _StoreCall) -> None:
    """Insert one chunk in one (short) write transaction; note what is new in ``call``."""
    with db.atomic():
        new = _insert_chunk(chunk, call)
        call.new += len(new)
        if call.keep and new:
            ids = _keys([msg.id for _, _, msg, _ in new])
            call.stored.extend(
                _fresh(ids[key], chat_id, msg, call.history, sc) for key, chat_id, msg, sc in new
            )


def _store(messages: Sequence[WaMessage], call: _StoreCall) -> _StoreCall:
    if len(messages) > CHUNK:
        call.prepare(messages)
    for start in range(0, len(messages), CHUNK):
        store_chunk(messages[start : start + CHUNK], call)
    return call


class PeeweeMessageRepository:
    """Messages on the bound peewee database."""

    @in_thread
    def store(
        self, messages: Sequence[WaMessage], history: bool = False, score: Scorer | None = None
    ) -> list[StoredMessage]:
        """Insert what is new and return it; a replayed message changes nothing. With
        ``score``, each new message is scored as it is inserted (no second write)."""
        return _store(messages, _StoreCall(history, score)).stored

    @in_thread
    def store_history(self, messages: Sequence[WaMessage], score: Scorer) -> int:
        """Insert a history-sync batch, scoring each new message as it goes; return how many
        were new. History is not acted on message by message, so nothing else comes back."""
        return _store(messages, _StoreCall(True, score, keep=False)).new

    @in_thread
    def get(self, message_id: int) -> StoredMessage | None:
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
