"""Writing messages in bulk: chats resolved, duplicates skipped, rows inserted and scored.

A batch is cut into short write transactions (``CHUNK`` rows) so a live message never waits
long behind a history sync; everything a call learns (chat ids, chats for scoring, counts)
is kept in one ``StoreCall`` and shared by its chunks. Reads and single-row updates live in
messages.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.events import WaMessage
from core.ids import MEDIA_KINDS, OWN_SENDER, ChatJid, MessageKind, is_group_jid
from storage import clean, contacts, names
from storage.chats import (
    NAME_FALLBACK,
    NAME_GROUP,
    NAME_PUSH,
    ensure_chat_sync,
    fallback_name,
    load_chats,
    resolve_id,
)
from storage.db import REFUSED, TRANSIENT, db
from storage.domain import Chat, MediaState, StoredMessage
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord, SettingRecord

#: Rows per INSERT statement; a history batch is split into transactions of this size so a
#: live message never waits long behind it.
logger = logging.getLogger(__name__)

CHUNK = 250
CHATS_PER_TRANSACTION = 100  # chats created or renamed per transaction, ahead of a big batch
#: The settings row counting messages stored as placeholders.
UNSTORABLE_KEY = "unstorable_messages"

#: Scores a message as it is stored: ``(message, its chat) → (score, reason)``.
Scorer = Callable[[WaMessage, Chat], tuple[int, str]]


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


def stored_sender(msg: WaMessage) -> str:
    """The sender a message is stored and deduplicated under (one for all of the owner's)."""
    return OWN_SENDER if msg.from_me else msg.sender


def _row(  # every string already fits its column: store() cleans each message first
    msg: WaMessage, chat_id: int, history: bool, score: tuple[int, str] | None
) -> tuple[object, ...]:
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


def _fresh(
    row_id: int, chat_id: int, msg: WaMessage, history: bool, score: tuple[int, str] | None
) -> StoredMessage:
    """The domain object of a row just inserted (no read-back needed)."""
    media = msg.media
    return StoredMessage(
        id=row_id,
        chat_id=chat_id,
        wa_id=msg.id,
        sender=ChatJid(stored_sender(msg)),
        sender_name=msg.push_name,
        kind=msg.kind,
        text=msg.text,
        caption=msg.caption,
        from_me=msg.from_me,
        timestamp=msg.timestamp,
        history=history,
        media_mimetype=media.mimetype if media else "",
        media_file_name=media.file_name if media else "",
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
    """Create the chats of these never-seen JIDs in bulk; return ``jid → id``. A person
    the address book knows is named as saved there, whatever push name the message
    carries."""
    people = [j for j in first if not is_group_jid(j)]
    known = contacts.rows_by_jid(contacts.contact_rows(people)) if people else {}
    rows = []
    for jid, msg in first.items():
        name, rank = _offered_name(msg)
        saved, saved_rank, every, phones = contacts.naming(known.get(jid, ()))
        offered = name
        if saved_rank > rank or (saved and not name):
            name, rank = saved, saved_rank
        phone = next((p for p in phones if names.phone_digits(p)), None)
        key = names.key_parts([name, offered, *every], [jid, *phones])
        rows.append(
            {
                ChatRecord.jid: jid,
                ChatRecord.name: name[:256] or fallback_name(jid, phone),
                ChatRecord.name_rank: rank if name else NAME_FALLBACK,
                ChatRecord.is_group: is_group_jid(jid),
                ChatRecord.search_names: names.extend_key("", key),
            }
        )
    ChatRecord.insert_many(rows).execute()
    created = _ids_by_jid("chats", "id", list(first))
    aliases = [{ChatAliasRecord.jid: j, ChatAliasRecord.chat: i} for j, i in created.items()]
    ChatAliasRecord.insert_many(aliases).on_conflict_ignore().execute()
    return created


def _linked_alternates(first: dict[str, WaMessage], jids: Sequence[str]) -> None:
    """Give person chats without an alternate JID the one a contact link knows (the phone
    number of a LID, the LID of a number), so one person never gets two chats."""
    people = [j for j in jids if not is_group_jid(j) and not first[j].chat_alt]
    if not people:
        return
    for jid, lid, phone, *_ in contacts.contact_rows(people):
        if not lid:
            continue
        for mine, other in ((jid, lid), (lid, jid), (phone, lid)):
            if mine in first and other and other != mine and not first[mine].chat_alt:
                first[mine] = replace(first[mine], chat_alt=ChatJid(other))


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
    _linked_alternates(first, [j for j in first if j not in known])
    unseen = [j for j, m in first.items() if j not in known and not m.chat_alt]
    orphans = _ids_by_jid("chats", "id", unseen) if unseen else {}
    fresh = {j: first[j] for j in unseen if j not in orphans}
    if fresh:
        cache.update(_create_chats(fresh))
    renames = []
    keys = []
    for jid, msg in first.items():
        if jid in fresh:
            continue
        name, rank = _offered_name(msg)
        if jid in known and (not msg.chat_alt or resolve_id(msg.chat_alt) == known[jid]):
            cache[jid] = known[jid]
            if name:
                renames.append((name[:256], rank, known[jid], rank, name[:256]))
                if part := names.fold(name):
                    keys.append((part + "|", known[jid], f"%|{part}|%"))
        else:
            cache[jid] = ensure_chat_sync(msg.chat, msg.chat_alt, name, rank)
    if renames:
        p = db.param
        db.cursor().executemany(
            f"UPDATE chats SET name = {p}, name_rank = {p} "
            f"WHERE id = {p} AND name_rank <= {p} AND name <> {p}",
            renames,
        )
    if keys:  # a push name that does not rename a saved contact still finds the chat
        db.cursor().executemany(contacts.append_names_sql(), keys)


def _touch_chats(new: Sequence[tuple[int, WaMessage]], history: bool) -> None:
    latest: dict[int, datetime] = {}
    unread: dict[int, int] = {}
    wrote: set[int] = set()
    for chat_id, msg in new:
        if chat_id not in latest or msg.timestamp > latest[chat_id]:
            latest[chat_id] = msg.timestamp
        if msg.from_me:
            wrote.add(chat_id)
        elif not history:
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
    if wrote:
        yes = True if p == "%s" else 1
        db.cursor().executemany(
            f"UPDATE chats SET owner_wrote = {p} WHERE id = {p}", [(yes, c) for c in wrote]
        )


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
class StoreCall:
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
        """Score each new message with its chat (None for each when the call has no scorer)."""
        if self.scorer is None:
            return [None] * len(new)
        missing = {chat_id for chat_id, _ in new if chat_id not in self.chats}
        if missing:
            self.chats.update(load_chats(missing))
        return [self.scorer(msg, self.chats[chat_id]) for chat_id, msg in new]


def _insert_chunk(chunk: Sequence[WaMessage], call: StoreCall) -> list[_New]:
    pending: dict[tuple[int, str, str], tuple[int, WaMessage]] = {}
    _resolve_chats(chunk, call.chat_ids)
    for msg in chunk:
        chat_id = call.chat_ids[msg.chat]
        pending.setdefault((chat_id, stored_sender(msg), msg.id), (chat_id, msg))
    existing = _keys(list({k[2] for k in pending}))
    fresh = [(chat_id, msg) for key, (chat_id, msg) in pending.items() if key not in existing]
    waiting = _waiting({existing[k] for k, (_, m) in pending.items() if k in existing}, pending)
    refill = [
        (existing[k], chat_id, msg)
        for k, (chat_id, msg) in pending.items()
        if k in existing and existing[k] in waiting and msg.kind != MessageKind.WAITING
    ]
    if not fresh and not refill:
        return []
    scores = call.scores(fresh + [(chat_id, msg) for _, chat_id, msg in refill])
    new: list[_New] = [
        ((chat_id, stored_sender(msg), msg.id), chat_id, msg, sc)
        for (chat_id, msg), sc in zip(fresh, scores[: len(fresh)], strict=True)
    ]
    marks = ", ".join([db.param] * len(COLUMNS))
    sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})"
    history = call.history
    db.cursor().executemany(sql, [_row(msg, chat_id, history, sc) for _, chat_id, msg, sc in new])
    if refill:  # the content of a message that was waiting to be decrypted has come
        _fill(refill, scores[len(fresh) :], history)
        new += [
            ((chat_id, stored_sender(msg), msg.id), chat_id, msg, sc)
            for (_, chat_id, msg), sc in zip(refill, scores[len(fresh) :], strict=True)
        ]
    _touch_chats(fresh, history)
    _link_senders(msg for _, msg in fresh)
    return new


#: Columns a placeholder takes from the message that replaces it.
FILLED = (
    "sender_name",
    "kind",
    "text",
    "caption",
    "timestamp",
    "view_once",
    "media_mimetype",
    "media_file_name",
    "media_size",
    "media_state",
    "media_ref",
    "quoted_id",
    "mentions",
    "importance",
    "reason",
)


def _waiting(
    row_ids: set[int], pending: dict[tuple[int, str, str], tuple[int, WaMessage]]
) -> set[int]:
    """Which of these stored rows are placeholders for messages not decrypted yet, when a
    chunk brings content for them (a placeholder again changes nothing)."""
    if not row_ids or all(m.kind == MessageKind.WAITING for _, m in pending.values()):
        return set()
    found: set[int] = set()
    ids = sorted(row_ids)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        marks = ", ".join([db.param] * len(part))
        cursor = db.execute_sql(
            f"SELECT id FROM messages WHERE id IN ({marks}) AND kind = {db.param}",
            [*part, MessageKind.WAITING.value],
        )
        found |= {row[0] for row in cursor.fetchall()}
    return found


def _fill(
    refill: Sequence[tuple[int, int, WaMessage]],
    scores: Sequence[tuple[int, str] | None],
    history: bool,
) -> None:
    """Give placeholders the content that has come for them."""
    at = [COLUMNS.index(c) for c in FILLED]
    p = db.param
    sql = f"UPDATE messages SET {', '.join(f'{c} = {p}' for c in FILLED)} WHERE id = {p}"
    rows = []
    for (row_id, chat_id, msg), sc in zip(refill, scores, strict=True):
        values = _row(msg, chat_id, history, sc)
        rows.append((*(values[i] for i in at), row_id))
    db.cursor().executemany(sql, rows)


def resolve_chunk(messages: Sequence[WaMessage], cache: dict[str, int]) -> None:
    """Resolve (and create) the chats of these messages in one write transaction."""
    with db.atomic():
        _resolve_chats(messages, cache)


def store_chunk(chunk: Sequence[WaMessage], call: StoreCall) -> None:
    """Insert one chunk in one (short) write transaction; note what is new in ``call``."""
    with db.atomic():
        new = _insert_chunk(chunk, call)
        call.new += len(new)
        if call.keep and new:
            ids = _keys([msg.id for _, _, msg, _ in new])
            call.stored.extend(
                _fresh(ids[key], chat_id, msg, call.history, sc) for key, chat_id, msg, sc in new
            )


def store(messages: Sequence[WaMessage], call: StoreCall) -> StoreCall:
    """Store ``messages`` in chunks, the chats of a multi-chunk call resolved first. Every
    string is cleaned first (storage/clean.py); a chunk the database still refuses is split
    down to the refused message, which is stored as a placeholder: none is left out."""
    messages = [clean.message(m) for m in messages]
    if len(messages) > CHUNK:
        call.prepare(messages)
    for start in range(0, len(messages), CHUNK):
        _store_or_split(messages[start : start + CHUNK], call)
    return call


def _store_or_split(chunk: Sequence[WaMessage], call: StoreCall) -> None:
    known = dict(call.chat_ids)  # chats created by a rolled-back transaction must be forgotten
    try:
        store_chunk(chunk, call)
        return
    except TRANSIENT:
        raise  # locked, disk full, connection lost: the caller holds the event and retries
    except REFUSED as exc:
        call.chat_ids.clear()
        call.chat_ids.update(known)
        if len(chunk) == 1:
            _store_placeholder(chunk[0], call, exc)
            return
    half = len(chunk) // 2
    _store_or_split(chunk[:half], call)
    _store_or_split(chunk[half:], call)


def _store_placeholder(msg: WaMessage, call: StoreCall, exc: Exception) -> None:
    """Store what can be said of a message the database refused, and count it."""
    logger.error(
        "WhatsApp message %s refused by the database (%s); stored as a placeholder",
        msg.id[:64],
        type(exc).__name__,
    )
    stand_in = WaMessage(
        id=msg.id,
        chat=msg.chat,
        sender=msg.sender,
        timestamp=msg.timestamp,
        kind=MessageKind.OTHER,
        text=f"[this message could not be stored: {type(exc).__name__}]",
        from_me=msg.from_me,
    )
    with db.atomic():
        store_chunk([stand_in], call)
        count_unstorable()


def count_unstorable() -> None:
    """Add one to the placeholders counter that /status shows."""
    current = SettingRecord.get_or_none(SettingRecord.key == UNSTORABLE_KEY)
    value = json.loads(current.value) + 1 if current else 1
    SettingRecord.insert(key=UNSTORABLE_KEY, value=json.dumps(value)).on_conflict(
        conflict_target=[SettingRecord.key], update={SettingRecord.value: json.dumps(value)}
    ).execute()
