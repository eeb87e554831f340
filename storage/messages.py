"""Messages: the repository (``PeeweeMessageRepository``) — storing them (in bulk, ingest.py;
calls, calls.py), their scores, feedback, transcripts and media downloads with the media
budget. Reading and search are in message_reads.py, edits, revokes, reactions and receipts in
message_changes.py, the row mapping in message_rows.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import peewee

from core.events import CallSeen, WaMessage
from core.notifications import Forward
from storage import clean
from storage.calls import CallRecorded, missed_calls, record_call
from storage.db import CHUNK, db, in_thread, tuples
from storage.domain import MediaState, StoredMessage
from storage.ingest import Scorer, StoreCall, store
from storage.message_changes import MessageChanges
from storage.message_reads import MessageReads
from storage.models import ChatRecord, MessageRecord
from storage.outbox import queue_telegram, rows
from storage.rows import read_setting, write_setting

MEDIA_USAGE_KEY = "media_usage"


def _media_usage() -> dict[str, Any]:
    """The media counters, the day's reset at UTC midnight; started from the files already
    downloaded when there are none yet."""
    today = datetime.now(UTC).date().isoformat()
    usage: dict[str, Any] | None = read_setting(MEDIA_USAGE_KEY)
    if usage is None:
        total = (
            MessageRecord.select(peewee.fn.COALESCE(peewee.fn.SUM(MessageRecord.media_size), 0))
            .where(MessageRecord.media_state == MediaState.DONE.value)
            .scalar()
        )
        return {"day": today, "day_bytes": 0, "total_bytes": int(total or 0)}
    if usage.get("day") != today:
        usage.update(day=today, day_bytes=0)
    return usage


def _add_media_usage(size: int) -> None:
    usage = _media_usage()
    usage["day_bytes"] += size
    usage["total_bytes"] += size
    write_setting(MEDIA_USAGE_KEY, usage)


def forget_media_of(account_id: int) -> list[str]:
    """Take an account's downloaded media out of the media counters (inside the transaction
    that deletes its messages) and return its files."""
    rows = tuples(
        MessageRecord.select(MessageRecord.media_path, MessageRecord.media_size)
        .join(ChatRecord)
        .where(
            (ChatRecord.account == account_id)
            & (MessageRecord.media_state == MediaState.DONE.value)
            & MessageRecord.media_path.is_null(False)
        )
    )
    gone = sum(int(size or 0) for _path, size in rows)
    if gone:
        usage = _media_usage()
        usage["total_bytes"] = max(0, usage["total_bytes"] - gone)
        write_setting(MEDIA_USAGE_KEY, usage)
    return sorted({str(path) for path, _size in rows})


def unreferenced(files: list[str]) -> list[str]:
    """Those of ``files`` no stored message points to (a file is shared when two accounts
    are in the same group: it is named by chat, sender and message id)."""
    used: set[str] = set()
    for chunk in range(0, len(files), CHUNK):
        part = files[chunk : chunk + CHUNK]
        query = MessageRecord.select(MessageRecord.media_path).where(
            MessageRecord.media_path.in_(part)
        )
        used.update(str(path) for (path,) in tuples(query))
    return [f for f in files if f not in used]


class PeeweeMessageRepository(MessageReads, MessageChanges):
    """Messages on the bound peewee database: stored in one account's chats, read by id from
    any account, listed as storage/scope.py says."""

    @in_thread
    def store(
        self, messages: Sequence[WaMessage], history: bool = False, score: Scorer | None = None
    ) -> list[StoredMessage]:
        """Insert what is new and return it; a replayed message changes nothing. With
        ``score``, each new message is scored as it is inserted (no second write)."""
        return store(messages, StoreCall(history, score, account=self._own())).stored

    @in_thread
    def record_call(self, call: CallSeen) -> CallRecorded | None:
        """Store a call, or what became of one (answered elsewhere, missed); see calls.py."""
        with db.atomic():
            return record_call(call, account=self._own())

    @in_thread
    def missed_calls(self, chat_id: int, until: datetime) -> tuple[datetime, ...]:
        """A chat's missed calls within the last CALL_WINDOW up to ``until``, oldest first."""
        return missed_calls(chat_id, until)

    @in_thread
    def store_history(self, messages: Sequence[WaMessage], score: Scorer) -> int:
        """Insert a history-sync batch, scoring each new message as it goes; return how many
        were new. History is not acted on message by message, so nothing else comes back."""
        return store(messages, StoreCall(True, score, keep=False, account=self._own())).new

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
