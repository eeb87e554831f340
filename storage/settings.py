"""Key/value settings (override the environment defaults) and stored digests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.notifications import DigestReady
from storage.db import db, in_thread
from storage.domain import Digest, Draft
from storage.models import DigestRecord, DraftRecord, SettingRecord, utcnow
from storage.outbox import queue_telegram, rows
from storage.rows import all_settings, read_setting, to_digest, to_draft, write_setting


class PeeweeSettingsRepository:
    """Settings changed from Telegram, stored as JSON values."""

    @in_thread
    def all(self) -> dict[str, Any]:
        """Every stored setting, by key."""
        return all_settings()

    @in_thread
    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of one setting, or ``default``."""
        return read_setting(key, default)

    @in_thread
    def set(self, key: str, value: Any) -> None:
        """Store the value of one setting (any JSON value)."""
        with db.atomic():
            write_setting(key, value)

    @in_thread
    def delete(self, key: str) -> None:
        """Forget one setting (its default applies again)."""
        SettingRecord.delete().where(SettingRecord.key == key).execute()


class PeeweeDigestRepository:
    """Every digest generated, so it can be shown again."""

    @in_thread
    def add(self, kind: str, start: datetime, end: datetime, text: str, count: int) -> Digest:
        """Store a digest just written (not yet sent) and return it."""
        rec = DigestRecord.create(
            kind=kind, period_start=start, period_end=end, text=text, message_count=count
        )
        return to_digest(rec)

    @in_thread
    def mark_sent(self, digest_id: int) -> None:
        """Record that a digest was sent now."""
        DigestRecord.update(sent_at=utcnow()).where(DigestRecord.id == digest_id).execute()

    @in_thread
    def unmark_sent(self, digest_id: int) -> None:
        """A page of this digest was refused for good: its period is owed again."""
        DigestRecord.update(sent_at=None).where(DigestRecord.id == digest_id).execute()

    @in_thread
    def queue_and_mark_sent(self, ready: DigestReady, owners: Iterable[int]) -> None:
        """Queue a digest to each owner and mark it sent in one transaction: a crash in
        between would otherwise send it again at the next start (it looks missed)."""
        with db.atomic():
            queue_telegram(rows(ready, owners))
            DigestRecord.update(sent_at=utcnow()).where(
                DigestRecord.id == ready.digest_id
            ).execute()

    @in_thread
    def last_sent(self, kinds: tuple[str, ...] = ("daily", "manual")) -> Digest | None:
        """The sent digest of these kinds whose period ends last, or None."""
        rec = (
            DigestRecord.select()
            .where(DigestRecord.sent_at.is_null(False) & DigestRecord.kind.in_(list(kinds)))
            .order_by(DigestRecord.period_end.desc())
            .first()
        )
        return to_digest(rec) if rec else None

    @in_thread
    def get(self, digest_id: int) -> Digest | None:
        """Return the digest with this id, or None."""
        rec = DigestRecord.get_or_none(DigestRecord.id == digest_id)
        return to_digest(rec) if rec else None

    @in_thread
    def recent(self, n: int = 10) -> list[Digest]:
        """The last ``n`` digests written, newest first."""
        rows = DigestRecord.select().order_by(DigestRecord.id.desc()).limit(n)
        return [to_digest(r) for r in rows]


class PeeweeDraftRepository:
    """AI reply drafts and the record of automatic replies (for the daily cap)."""

    @in_thread
    def add(self, chat_id: int, message_id: int, text: str, state: str = "draft") -> Draft:
        """Store an AI reply for a message (a draft unless ``state`` says otherwise) and return
        it."""
        rec = DraftRecord.create(chat=chat_id, message=message_id, text=text, state=state)
        return to_draft(rec)

    @in_thread
    def get(self, draft_id: int) -> Draft | None:
        """Return the AI reply with this id, or None."""
        rec = DraftRecord.get_or_none(DraftRecord.id == draft_id)
        return to_draft(rec) if rec else None

    @in_thread
    def settle(self, draft_id: int, state: str, only_from: str = "draft") -> bool:
        """Move a draft on (sent, discarded); False when it was already settled."""
        return bool(
            DraftRecord.update(state=state)
            .where((DraftRecord.id == draft_id) & (DraftRecord.state == only_from))
            .execute()
        )

    @in_thread
    def count_since(self, chat_id: int, state: str, since: datetime) -> int:
        """How many AI replies of a chat in ``state`` were written since ``since``."""
        return (
            DraftRecord.select()
            .where(
                (DraftRecord.chat == chat_id)
                & (DraftRecord.state == state)
                & (DraftRecord.created_at >= since)
            )
            .count()
        )
