"""The one mapping per table between its rows and the values handed upward, for every table
but ``messages`` (message_rows.py): chats, contacts, settings, outboxes, digests, drafts.

Every repository that reads or writes one of these tables converts here, nowhere else.
Blocking functions for use inside storage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from core.ids import ChatJid
from storage.domain import Chat, Contact, Digest, Draft, OutboxItem, OutboxState
from storage.models import (
    ChatRecord,
    ContactRecord,
    DigestRecord,
    DraftRecord,
    SettingRecord,
)
from storage.names import NAME_CONTACT

# --- chats ---------------------------------------------------------------------------------

#: The chat columns a ``Chat`` is made of, in the order ``to_chat`` takes their values.
CHAT_FIELDS = (
    ChatRecord.id,
    ChatRecord.jid,
    ChatRecord.name,
    ChatRecord.is_group,
    ChatRecord.trusted,
    ChatRecord.ai_enabled,
    ChatRecord.ai_auto,
    ChatRecord.cloud_llm_allowed,
    ChatRecord.include_in_digest,
    ChatRecord.muted_until,
    ChatRecord.last_activity,
    ChatRecord.unread,
    ChatRecord.score_bias,
    ChatRecord.owner_wrote,
    ChatRecord.name_rank,
    ChatRecord.account,
)
#: The same, as a column list for plain SQL.
CHAT_COLUMNS = ", ".join(f.column_name for f in CHAT_FIELDS)


def to_chat(values: Sequence[Any], aliases: tuple[ChatJid, ...] = ()) -> Chat:
    """Make the domain object of a chat from its ``CHAT_FIELDS`` values (Python values)."""
    (
        chat_id,
        jid,
        name,
        is_group,
        trusted,
        ai_enabled,
        ai_auto,
        cloud_llm_allowed,
        include_in_digest,
        muted_until,
        last_activity,
        unread,
        score_bias,
        owner_wrote,
        name_rank,
        account_id,
    ) = values
    return Chat(
        id=chat_id,
        jid=ChatJid(jid),
        name=name,
        is_group=is_group,
        trusted=trusted,
        ai_enabled=ai_enabled,
        ai_auto=ai_auto,
        cloud_llm_allowed=cloud_llm_allowed,
        include_in_digest=include_in_digest,
        muted_until=muted_until,
        last_activity=last_activity,
        unread=unread,
        score_bias=score_bias,
        known=bool(owner_wrote) or name_rank == NAME_CONTACT,
        aliases=aliases,
        account_id=account_id,
    )


def record_chat(rec: ChatRecord, aliases: tuple[ChatJid, ...] = ()) -> Chat:
    """Convert a chat record to the domain object."""
    return to_chat([getattr(rec, f.column_name) for f in CHAT_FIELDS], aliases)


def sql_chat(row: Sequence[Any], aliases: tuple[ChatJid, ...] = ()) -> Chat:
    """Convert a plain-SQL row of ``CHAT_COLUMNS`` (database values) to the domain object."""
    fields: tuple[Any, ...] = CHAT_FIELDS  # python_value is untyped in peewee's stubs
    return to_chat([f.python_value(v) for f, v in zip(fields, row, strict=True)], aliases)


# --- contacts ------------------------------------------------------------------------------


def to_contact(rec: ContactRecord) -> Contact:
    """Convert a contact record to the domain object."""
    return Contact(
        jid=ChatJid(rec.jid),
        lid=ChatJid(rec.lid) if rec.lid else None,
        phone_jid=ChatJid(rec.phone_jid) if rec.phone_jid else None,
        push_name=rec.push_name,
        full_name=rec.full_name,
        first_name=rec.first_name,
        business_name=rec.business_name,
    )


# --- settings ------------------------------------------------------------------------------


def read_setting(key: str, default: Any = None) -> Any:
    """The stored value of one setting (a JSON value), or ``default``."""
    rec = SettingRecord.get_or_none(SettingRecord.key == key)
    return json.loads(rec.value) if rec else default


def all_settings() -> dict[str, Any]:
    """Every stored setting, by key."""
    return {r.key: json.loads(r.value) for r in SettingRecord.select()}


def write_setting(key: str, value: Any) -> None:
    """Store the value of one setting (any JSON value), replacing what was there."""
    text = json.dumps(value)
    SettingRecord.insert(key=key, value=text).on_conflict(
        conflict_target=[SettingRecord.key], update={SettingRecord.value: text}
    ).execute()


# --- outboxes ------------------------------------------------------------------------------


def payload_text(payload: dict[str, Any]) -> str:
    """An outbox payload as stored (JSON, non-ASCII kept readable)."""
    return json.dumps(payload, ensure_ascii=False)


def to_outbox_item(rec: Any, target: str, result_id: str | None) -> OutboxItem:
    """Convert a Telegram or WhatsApp outbox record to the domain object."""
    return OutboxItem(
        id=rec.id,
        target=target,
        kind=getattr(rec, "kind", "whatsapp"),
        payload=json.loads(rec.payload),
        state=OutboxState(rec.state),
        attempts=rec.attempts,
        next_attempt_at=rec.next_attempt_at,
        created_at=rec.created_at,
        merge_key=getattr(rec, "merge_key", None),
        last_error=rec.last_error,
        result_id=result_id,
        account_id=getattr(rec, "account_id", 1),
    )


# --- digests and drafts --------------------------------------------------------------------


def to_digest(rec: DigestRecord) -> Digest:
    """Convert a digest record to the domain object."""
    return Digest(
        id=rec.id,
        kind=rec.kind,
        period_start=rec.period_start,
        period_end=rec.period_end,
        text=rec.text,
        message_count=rec.message_count,
        created_at=rec.created_at,
        sent_at=rec.sent_at,
    )


def to_draft(rec: DraftRecord) -> Draft:
    """Convert a draft record to the domain object."""
    return Draft(rec.id, rec.chat_id, rec.message_id, rec.text, rec.state, rec.created_at)
