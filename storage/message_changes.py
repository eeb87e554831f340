"""Messages: what happens to them after they are stored — edits (the earlier texts kept),
revokes, reactions and delivery receipts — and the edits or revokes refused because their
sender may not change that message. ``MessageChanges`` is one part of
``PeeweeMessageRepository`` (messages.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.ids import MessageKind
from storage import clean
from storage.db import db, in_thread
from storage.domain import ChangeOutcome
from storage.identity import is_group_admin, resolve_id, same_person
from storage.models import MessageRecord, RejectedEventRecord
from storage.scope import Scoped

MAX_EDITS = 20  # earlier texts kept per message
#: Delivery states of a message, in the only order they may change.
DELIVERY_ORDER = ("", "delivered", "read", "played")


def _reject(
    account: int, chat: str, sender: str, target_id: str, kind: str, text: str
) -> ChangeOutcome:
    RejectedEventRecord.create(
        account=account,
        chat_jid=clean.ident(chat),
        sender=clean.ident(sender),
        target_id=clean.ident(target_id),
        kind=kind,
        text=clean.text(text),
    )
    return ChangeOutcome.REJECTED


class MessageChanges(Scoped):
    """Edits, revokes, reactions and receipts of stored messages (found by the JID of their
    chat: one account's, storage/scope.py)."""

    def _target(self, chat: str, target_id: str) -> MessageRecord | None:
        chat_id = resolve_id(chat, account=self._own())
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
        if not same_person(rec.sender, editor, account=self._own()):
            return _reject(self._own(), chat, editor, target_id, "edit", text)
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
        if same_person(rec.sender, revoker, account=self._own()):
            rec.deleted_by = "sender"
        elif by_admin and is_group_admin(rec.chat_id, revoker):
            rec.deleted_by = "admin"
        else:
            return _reject(self._own(), chat, revoker, target_id, "revoke", "")
        rec.deleted = True
        rec.save(only=[MessageRecord.deleted, MessageRecord.deleted_by])
        return ChangeOutcome.APPLIED

    @in_thread
    def rejected_count(self) -> int:
        """How many edits and revokes were refused (shown in /status), in the accounts
        listed (storage/scope.py)."""
        query = RejectedEventRecord.select()
        accounts = self._listed()
        if accounts is not None:
            query = query.where(RejectedEventRecord.account.in_(accounts))
        return int(query.count())

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
        chat_id = resolve_id(chat, account=self._own())
        if chat_id is None or state not in DELIVERY_ORDER:
            return 0
        lower = DELIVERY_ORDER[: DELIVERY_ORDER.index(state)]
        return int(
            MessageRecord.update(delivery=state)
            .where(
                (MessageRecord.chat == chat_id)
                & MessageRecord.wa_id.in_(list(wa_ids))
                & MessageRecord.delivery.in_(lower)
            )
            .execute()
        )
