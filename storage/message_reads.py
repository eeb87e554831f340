"""Messages: reading them back — by id, by chat, by time, the ones still to score or to
download, who posted status updates — full-text search, and the links from Telegram
messages. ``MessageReads`` is one part of ``PeeweeMessageRepository`` (messages.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import peewee

from core.ids import STATUS_BROADCAST
from storage.db import CHUNK, db, in_thread, is_postgres, tuples
from storage.domain import MediaState, StoredMessage
from storage.message_rows import to_stored
from storage.models import ChatRecord, MessageLinkRecord, MessageRecord
from storage.schema_steps import POSTGRES_FTS_V8
from storage.scope import Scoped


def _in_accounts(accounts: list[int] | None) -> tuple[str, list[int]]:
    """The SQL condition (on ``chat_id``) and its parameters keeping messages of these
    accounts; none when every account is read."""
    if accounts is None:
        return "", []
    if not accounts:
        return " AND 1 = 0", []
    marks = ", ".join([db.param] * len(accounts))
    return f" AND chat_id IN (SELECT id FROM chats WHERE account_id IN ({marks}))", accounts


def _of_accounts(
    query: peewee.ModelSelect[MessageRecord], accounts: list[int] | None
) -> peewee.ModelSelect[MessageRecord]:
    """Narrow a message query to the chats of these accounts (None: every account)."""
    if accounts is None:
        return query
    chats = ChatRecord.select(ChatRecord.id).where(ChatRecord.account.in_(accounts))
    return query.where(MessageRecord.chat.in_(chats))


class MessageReads(Scoped):
    """Reading stored messages and searching them (blocking methods run on the database
    thread). By id from any account; listings follow storage/scope.py."""

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
        self,
        start: datetime,
        end: datetime,
        chat_ids: Sequence[int] | None = None,
        account_id: int | None = None,
    ) -> list[StoredMessage]:
        """The messages sent in [start, end), of these chats only when ``chat_ids`` is given, in
        time order; of the accounts this repository lists (``account_id``: storage/scope.py)."""
        query = MessageRecord.select().where(
            (MessageRecord.timestamp >= start) & (MessageRecord.timestamp < end)
        )
        query = _of_accounts(query, self._listed(account_id))
        if chat_ids is not None:
            query = query.where(MessageRecord.chat.in_(list(chat_ids)))
        return [to_stored(r) for r in query.order_by(MessageRecord.timestamp, MessageRecord.id)]

    @in_thread
    def count_since(self, start: datetime, account_id: int | None = None) -> int:
        """How many messages were sent at or after ``start`` (in the accounts listed)."""
        query = MessageRecord.select().where(MessageRecord.timestamp >= start)
        return int(_of_accounts(query, self._listed(account_id)).count())

    @in_thread
    def count(self) -> int:
        """How many messages are stored."""
        return MessageRecord.select().count()

    @in_thread
    def unscored(self, limit: int = 500) -> list[StoredMessage]:
        """Live messages stored but never scored (the process stopped in between), of the
        accounts this repository lists: each account's start finishes only its own."""
        query = MessageRecord.select().where(
            MessageRecord.importance.is_null() & (MessageRecord.history == False)  # noqa: E712
        )
        rows = _of_accounts(query, self._listed()).order_by(MessageRecord.id).limit(limit)
        return [to_stored(r) for r in rows]

    @in_thread
    def media_ref(self, message_id: int) -> bytes | None:
        """The media reference needed to download a message's attachment, or None."""
        rec = MessageRecord.get_or_none(MessageRecord.id == message_id)
        return bytes(rec.media_ref) if rec is not None and rec.media_ref else None

    @in_thread
    def media_to_retry(self, max_attempts: int = 5, limit: int = 20) -> list[tuple[int, bytes]]:
        """The (message id, media reference) of attachments still to download, fewer than
        ``max_attempts`` tried, oldest first; of the accounts this repository lists (an
        attachment is downloaded with its own account's session)."""
        query = MessageRecord.select(MessageRecord.id, MessageRecord.media_ref).where(
            MessageRecord.media_state.in_([MediaState.PENDING.value, MediaState.FAILED.value])
            & (MessageRecord.media_attempts < max_attempts)
            & MessageRecord.media_ref.is_null(False)
        )
        rows = _of_accounts(query, self._listed()).order_by(MessageRecord.id).limit(limit)
        return [(r.id, bytes(r.media_ref or b"")) for r in rows]  # not null: the query says

    @in_thread
    def status_posters(self, since: datetime) -> list[tuple[str, str, int, datetime]]:
        """Who posted status updates since ``since``: (sender, name, posts, latest), newest
        first."""
        statuses = ChatRecord.select(ChatRecord.id).where(ChatRecord.jid == STATUS_BROADCAST)
        accounts = self._listed()
        if accounts is not None:
            statuses = statuses.where(ChatRecord.account.in_(accounts))
        rows = tuples(
            MessageRecord.select(
                MessageRecord.sender,
                peewee.fn.MAX(MessageRecord.sender_name),
                peewee.fn.COUNT(MessageRecord.id),
                peewee.fn.MAX(MessageRecord.timestamp),
            )
            .where(MessageRecord.chat.in_(statuses) & (MessageRecord.timestamp >= since))
            .group_by(MessageRecord.sender)
            .order_by(peewee.fn.MAX(MessageRecord.timestamp).desc())
        )
        return [
            (sender, name or "", int(n), latest)  # MAX() keeps the field's conversion
            for sender, name, n, latest in rows
        ]

    @in_thread
    def search(
        self, text: str, limit: int = 20, account_id: int | None = None
    ) -> list[StoredMessage]:
        """Full-text search, newest first; all words must occur (the last may be a prefix).
        Searches the accounts this repository lists (``account_id``: storage/scope.py)."""
        words = re.findall(r"\w+", text.lower())[:8]
        if not words:
            return []
        within = _in_accounts(self._listed(account_id))
        if is_postgres():
            query = " & ".join(f"{w}:*" for w in words)
            rows: list[MessageRecord] = list(
                MessageRecord.raw(
                    f"SELECT * FROM messages WHERE {POSTGRES_FTS_V8} "
                    f"@@ to_tsquery('simple', %s){within[0]} ORDER BY id DESC LIMIT %s",
                    query,
                    *within[1],
                    limit,
                )
            )
        else:
            # Whole words first (FTS5 walks one doclist newest-first and stops at the limit);
            # only when that finds too little is the last word taken as a prefix (still typing).
            exact = " ".join(f'"{w}"' for w in words)
            rows = list(self._fts(exact, limit, within))
            if len(rows) < limit and len(words[-1]) >= 3:
                prefix = " ".join([*(f'"{w}"' for w in words[:-1]), f'"{words[-1]}"*'])
                seen = {r.id for r in rows}
                rows += [r for r in self._fts(prefix, limit, within) if r.id not in seen]
                rows = sorted(rows, key=lambda r: -r.id)[:limit]
        return [to_stored(r) for r in rows]

    @staticmethod
    def _fts(match: str, limit: int, within: tuple[str, list[int]]) -> list[MessageRecord]:
        if within[0]:  # one account's: filter, then limit (slower than FTS5 stopping early)
            return list(
                MessageRecord.raw(
                    "SELECT * FROM messages WHERE id IN (SELECT rowid FROM messages_fts "
                    f"WHERE messages_fts MATCH ?){within[0]} ORDER BY id DESC LIMIT ?",
                    match,
                    *within[1],
                    limit,
                )
            )
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
        rec = MessageRecord.get_or_none(MessageRecord.id == link.message_id)
        return to_stored(rec) if rec else None
