"""The two durable outboxes (to Telegram, to WhatsApp): enqueue, claim due items, settle."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee

from core.notifications import Notification
from storage.db import db, in_thread, tuples
from storage.domain import OutboxItem, OutboxState
from storage.models import TelegramOutboxRecord, WhatsAppOutboxRecord, utcnow
from storage.rows import payload_text, to_outbox_item
from storage.scope import Scoped

#: New items are due at once, whatever clock the caller's ``due(now)`` runs on.
DUE_NOW = datetime(1970, 1, 1, tzinfo=UTC)


Row = tuple[int, str, dict[str, Any], str | None]


def queue_telegram(items: Sequence[Row]) -> list[int]:
    """Insert Telegram outbox rows (blocking; inside the caller's transaction); return their
    ids."""
    return [
        int(
            TelegramOutboxRecord.create(
                chat_id=chat_id,
                kind=kind,
                payload=payload_text(payload),
                merge_key=merge_key,
                next_attempt_at=DUE_NOW,
            ).id
        )
        for chat_id, kind, payload, merge_key in items
    ]


def rows(notification: Notification, owners: Iterable[int]) -> list[Row]:
    """The outbox rows that queue ``notification`` once for each owner."""
    payload = notification.to_payload()
    return [
        (owner, notification.KIND, payload, notification.merge_key) for owner in sorted(owners)
    ]


class _Outbox:
    model: Any

    def _to_item(self, rec: Any) -> OutboxItem:
        raise NotImplementedError

    def _mine(self, query: Any) -> Any:
        """The items this outbox works on (all of them; the WhatsApp outbox narrows it to
        its account's)."""
        return query

    @in_thread
    def get(self, item_id: int) -> OutboxItem | None:
        rec = self.model.get_or_none(self.model.id == item_id)
        return self._to_item(rec) if rec else None

    @in_thread
    def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Return pending items whose next attempt is due, oldest first."""
        rows = (
            self._mine(self.model.select())
            .where(
                (self.model.state == OutboxState.PENDING.value)
                & (self.model.next_attempt_at <= now)
            )
            .order_by(self.model.id)
            .limit(limit)
        )
        return [self._to_item(r) for r in rows]

    @in_thread
    def next_due_at(self) -> datetime | None:
        rec = (
            self._mine(self.model.select(self.model.next_attempt_at))
            .where(self.model.state == OutboxState.PENDING.value)
            .order_by(self.model.next_attempt_at)
            .first()
        )
        return rec.next_attempt_at if rec else None

    @in_thread
    def mark_sent(self, item_id: int, result_id: str | None = None) -> None:
        fields: dict[str, Any] = {"state": OutboxState.SENT.value, "sent_at": utcnow()}
        if hasattr(self.model, "wa_message_id"):
            fields["wa_message_id"] = result_id
        self.model.update(**fields).where(self.model.id == item_id).execute()

    @in_thread
    def mark_merged(self, item_ids: list[int]) -> None:
        self.model.update(state=OutboxState.MERGED.value, sent_at=utcnow()).where(
            self.model.id.in_(item_ids)
        ).execute()

    @in_thread
    def retry_later(self, item_ids: Sequence[int], delay: timedelta, error: str) -> None:
        """Reschedule items together: one timestamp, so a batch stays a batch."""
        self.model.update(
            attempts=self.model.attempts + 1,
            next_attempt_at=utcnow() + delay,
            last_error=error[:256],
        ).where(self.model.id.in_(list(item_ids))).execute()

    @in_thread
    def mark_failed(self, item_id: int, error: str) -> None:
        self.model.update(
            state=OutboxState.FAILED.value,
            attempts=self.model.attempts + 1,
            last_error=error[:256],
        ).where(self.model.id == item_id).execute()

    @in_thread
    def depth(self) -> int:
        pending = self.model.state == OutboxState.PENDING.value
        return int(self._mine(self.model.select()).where(pending).count())

    @in_thread
    def counts(self) -> dict[str, int]:
        """Items by state (one grouped query: the table keeps every item ever sent)."""
        query = self._mine(
            self.model.select(self.model.state, peewee.fn.COUNT(self.model.id))
        ).group_by(self.model.state)
        return {state: int(n) for state, n in tuples(query)}


class PeeweeTelegramOutbox(_Outbox):
    """Messages waiting to reach a Telegram chat."""

    model = TelegramOutboxRecord

    def _to_item(self, rec: Any) -> OutboxItem:
        return to_outbox_item(rec, str(rec.chat_id), None)

    async def add(self, notification: Notification, owners: Iterable[int]) -> None:
        """Queue ``notification`` once for each owner (the ``core.notifications.Outbox``
        port), in one transaction."""
        await self.add_many(rows(notification, owners))

    @in_thread
    def add_row(
        self, chat_id: int, kind: str, payload: dict[str, Any], merge_key: str | None = None
    ) -> int:
        """Queue one raw row (kept for tests and tools; services use ``add``)."""
        return queue_telegram([(chat_id, kind, payload, merge_key)])[0]

    @in_thread
    def set_pages_sent(self, item_id: int, pages: int) -> None:
        """Record how many pages of a long item Telegram has accepted."""
        with db.atomic():
            rec = TelegramOutboxRecord.get_or_none(TelegramOutboxRecord.id == item_id)
            if rec is not None:
                payload = json.loads(rec.payload)
                payload["pages_sent"] = pages
                rec.payload = payload_text(payload)
                rec.save(only=[TelegramOutboxRecord.payload])

    @in_thread
    def add_many(self, items: Sequence[Row]) -> None:
        """Queue raw rows in one transaction."""
        with db.atomic():
            queue_telegram(items)

    @in_thread
    def first_waiting(self, now: datetime) -> dict[str, int]:
        """Return, per Telegram chat, the oldest pending item not yet due: nothing newer may
        overtake it (order is per chat)."""
        rows = tuples(
            TelegramOutboxRecord.select(
                TelegramOutboxRecord.chat_id, peewee.fn.MIN(TelegramOutboxRecord.id)
            )
            .where(
                (TelegramOutboxRecord.state == OutboxState.PENDING.value)
                & (TelegramOutboxRecord.next_attempt_at > now)
            )
            .group_by(TelegramOutboxRecord.chat_id)
        )
        return {str(chat_id): int(first) for chat_id, first in rows}


class PeeweeWhatsAppOutbox(Scoped, _Outbox):
    """Messages waiting to reach WhatsApp, delivered in order: each account's outbox holds
    its own items (one sender loop per account); by id, any item (storage/scope.py)."""

    model = WhatsAppOutboxRecord

    def _mine(self, query: Any) -> Any:
        accounts = self._listed()
        if accounts is None:
            return query
        return query.where(WhatsAppOutboxRecord.account.in_(accounts))

    def _to_item(self, rec: Any) -> OutboxItem:
        return to_outbox_item(rec, rec.to_jid, rec.wa_message_id)

    @in_thread
    def by_origin(self, origin: str) -> tuple[OutboxItem, datetime | None] | None:
        """The latest item sent from ``origin`` (a Telegram message) and when it was sent."""
        rec = (
            self._mine(WhatsAppOutboxRecord.select())
            .where(WhatsAppOutboxRecord.origin == origin[:64])
            .order_by(WhatsAppOutboxRecord.id.desc())
            .first()
        )
        return (self._to_item(rec), rec.sent_at) if rec is not None else None

    @in_thread
    def sent_at(self, item_id: int) -> datetime | None:
        """When the item was accepted by WhatsApp (None while it waits)."""
        rec = WhatsAppOutboxRecord.get_or_none(WhatsAppOutboxRecord.id == item_id)
        return rec.sent_at if rec is not None else None

    @in_thread
    def set_payload(self, item_id: int, payload: dict[str, Any]) -> None:
        """Replace an item's payload (a queued text edited, or an edit waiting for "yes")."""
        WhatsAppOutboxRecord.update(payload=payload_text(payload)).where(
            WhatsAppOutboxRecord.id == item_id
        ).execute()

    @in_thread
    def add(self, to_jid: str, payload: dict[str, Any], origin: str = "") -> int:
        """Queue one message for WhatsApp; ``origin`` names the Telegram message it came
        from (``tg:<chat>:<message>``). Returns the item's id."""
        rec = WhatsAppOutboxRecord.create(
            account=self._own(),
            to_jid=to_jid,
            payload=payload_text(payload),
            origin=origin,
            next_attempt_at=DUE_NOW,
        )
        return int(rec.id)
