"""Writing messages in bulk: chats resolved, duplicates skipped, rows inserted and scored.

A batch is cut into short write transactions (``CHUNK`` rows) so a live message never waits
long behind a history sync; everything a call learns (chat ids, chats for scoring, counts)
is kept in one ``StoreCall`` and shared by its chunks. The chats of a batch are resolved in
resolve.py, a message's row is made in message_rows.py; reads and single-row updates live
in message_reads.py, message_changes.py and messages.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.events import WaMessage
from core.ids import MessageKind
from storage import clean, message_rows
from storage.chats import load_chats
from storage.db import CHUNK, REFUSED, TRANSIENT, db, select_in
from storage.domain import Chat, StoredMessage
from storage.message_rows import COLUMNS, FILLED, Score, filled_values, inserted, stored_sender
from storage.models import MAIN_ACCOUNT
from storage.resolve import link_senders, resolve_chats, resolve_chunk, touch_chats
from storage.rows import read_setting, write_setting

logger = logging.getLogger(__name__)

CHATS_PER_TRANSACTION = 100  # chats created or renamed per transaction, ahead of a big batch
#: The settings row counting messages stored as placeholders.
UNSTORABLE_KEY = "unstorable_messages"

#: Scores a message as it is stored: ``(message, its chat) → (score, reason)``.
Scorer = Callable[[WaMessage, Chat], Score]
#: A message's dedupe key: (chat id, stored sender, WhatsApp id).
Key = tuple[int, str, str]


def _keys(wa_ids: list[str]) -> dict[Key, int]:
    """Return ``(chat_id, sender, wa_id) → id`` for stored messages with these WhatsApp ids."""
    sql = "SELECT id, chat_id, sender, wa_id FROM messages WHERE wa_id IN ({marks})"
    return {(c, s, w): i for i, c, s, w in select_in(sql, wa_ids)}


#: A row just inserted: its dedupe key, chat id, message and values.
_New = tuple[Key, int, WaMessage, tuple[object, ...]]


@dataclass
class StoreCall:
    """What one ``store`` call learns as it goes, shared by its chunks."""

    history: bool
    scorer: Scorer | None
    keep: bool = True  # build a StoredMessage for each new row (a history sync only counts)
    account: int = MAIN_ACCOUNT  # whose chats the messages are in
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
            part = unique[start : start + CHATS_PER_TRANSACTION]
            resolve_chunk(part, self.chat_ids, account=self.account)
        if self.scorer is not None:
            self.chats.update(load_chats(self.chat_ids.values()))

    def scores(self, new: Sequence[tuple[int, WaMessage]]) -> list[Score | None]:
        """Score each new message with its chat (None for each when the call has no scorer)."""
        if self.scorer is None:
            return [None] * len(new)
        missing = {chat_id for chat_id, _ in new if chat_id not in self.chats}
        if missing:
            self.chats.update(load_chats(missing))
        return [self.scorer(msg, self.chats[chat_id]) for chat_id, msg in new]


def _insert_chunk(chunk: Sequence[WaMessage], call: StoreCall) -> list[_New]:
    pending: dict[Key, tuple[int, WaMessage]] = {}
    resolve_chats(chunk, call.chat_ids, account=call.account)
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
    row = message_rows.message_row  # looked up here: a test swaps it for a poisoned one
    history = call.history
    new: list[_New] = [
        ((chat_id, stored_sender(msg), msg.id), chat_id, msg, row(msg, chat_id, history, sc))
        for (chat_id, msg), sc in zip(fresh, scores[: len(fresh)], strict=True)
    ]
    marks = ", ".join([db.param] * len(COLUMNS))
    sql = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})"
    db.cursor().executemany(sql, [values for *_, values in new])
    if refill:  # the content of a message that was waiting to be decrypted has come
        filled: list[_New] = [
            ((chat_id, stored_sender(msg), msg.id), chat_id, msg, row(msg, chat_id, history, sc))
            for (_, chat_id, msg), sc in zip(refill, scores[len(fresh) :], strict=True)
        ]
        _fill([row_id for row_id, _, _ in refill], [values for *_, values in filled])
        new += filled
    touch_chats(fresh, history)
    link_senders((msg for _, msg in fresh), account=call.account)
    return new


def _waiting(row_ids: set[int], pending: dict[Key, tuple[int, WaMessage]]) -> set[int]:
    """Which of these stored rows are placeholders for messages not decrypted yet, when a
    chunk brings content for them (a placeholder again changes nothing)."""
    if not row_ids or all(m.kind == MessageKind.WAITING for _, m in pending.values()):
        return set()
    sql = "SELECT id FROM messages WHERE id IN ({marks}) AND kind = {p}"
    return {row[0] for row in select_in(sql, sorted(row_ids), [MessageKind.WAITING.value])}


def _fill(row_ids: Sequence[int], rows: Sequence[tuple[object, ...]]) -> None:
    """Give placeholders the content that has come for them (``rows``: their new rows)."""
    p = db.param
    sql = f"UPDATE messages SET {', '.join(f'{c} = {p}' for c in FILLED)} WHERE id = {p}"
    updates = [(*filled_values(r), i) for i, r in zip(row_ids, rows, strict=True)]
    db.cursor().executemany(sql, updates)


def store_chunk(chunk: Sequence[WaMessage], call: StoreCall) -> None:
    """Insert one chunk in one (short) write transaction; note what is new in ``call``."""
    with db.atomic():
        new = _insert_chunk(chunk, call)
        call.new += len(new)
        if call.keep and new:
            ids = _keys([msg.id for _, _, msg, _ in new])
            call.stored.extend(inserted(ids[key], msg, row) for key, _, msg, row in new)


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
    write_setting(UNSTORABLE_KEY, read_setting(UNSTORABLE_KEY, 0) + 1)
