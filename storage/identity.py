"""Which chat a JID is: aliases (a person's phone number and LID lead to one chat), chats
created or merged as JIDs are learned, whether two JIDs are one person, and group admins.

Blocking functions for use inside storage, on the database thread, in a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from core.ids import OWN_SENDER, ChatJid, is_group_jid
from storage import clean, contacts, names
from storage.db import tuples
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord, MessageRecord
from storage.names import NAME_FALLBACK, NAME_PUSH, fallback_name


def resolve_id(jid: str, *, account: int) -> int | None:
    """Return the id of the chat of ``account`` a JID belongs to (blocking; for use inside
    storage)."""
    row = ChatAliasRecord.get_or_none(
        (ChatAliasRecord.account == account) & (ChatAliasRecord.jid == jid)
    )
    return row.chat_id if row else None


def _merge(keep: int, drop: int) -> None:
    """Fold chat ``drop`` into ``keep``: messages, aliases, and the stricter of the settings."""
    a, b = ChatRecord.get_by_id(keep), ChatRecord.get_by_id(drop)
    for flag in ("trusted", "ai_enabled", "ai_auto"):
        setattr(a, flag, getattr(a, flag) or getattr(b, flag))
    a.include_in_digest = a.include_in_digest and b.include_in_digest
    a.cloud_llm_allowed = a.cloud_llm_allowed and b.cloud_llm_allowed
    if b.muted_until and (not a.muted_until or b.muted_until > a.muted_until):
        a.muted_until = b.muted_until
    if b.name_rank > a.name_rank:
        a.name, a.name_rank = b.name, b.name_rank
    a.search_names = names.extend_key(
        a.search_names or "", [p for p in (b.search_names or "").split("|") if p]
    )
    if b.last_activity and (not a.last_activity or b.last_activity > a.last_activity):
        a.last_activity = b.last_activity
    a.unread += b.unread
    a.owner_wrote = a.owner_wrote or b.owner_wrote
    a.save()
    kept = set(
        tuples(
            MessageRecord.select(MessageRecord.wa_id, MessageRecord.sender).where(
                MessageRecord.chat == keep
            )
        )
    )
    moving = MessageRecord.select(MessageRecord.id, MessageRecord.wa_id, MessageRecord.sender)
    dupes = [
        i
        for i, wa_id, sender in tuples(moving.where(MessageRecord.chat == drop))
        if (wa_id, sender) in kept
    ]
    if dupes:
        MessageRecord.delete().where(MessageRecord.id.in_(dupes)).execute()
    MessageRecord.update(chat=keep).where(MessageRecord.chat == drop).execute()
    ChatAliasRecord.update(chat=keep).where(ChatAliasRecord.chat == drop).execute()
    ChatRecord.delete().where(ChatRecord.id == drop).execute()


def same_person(stored_sender: str, other: str, *, account: int) -> bool:
    """True when two sender JIDs are one person: equal, or known as one chat (a phone JID
    and its LID). The owner is always ``me`` (OWN_SENDER) on both sides."""
    if stored_sender == other:
        return True
    if OWN_SENDER in (stored_sender, other):
        return False
    first = resolve_id(stored_sender, account=account)
    if first is not None and first == resolve_id(other, account=account):
        return True
    linked = ContactRecord.select().where(
        (ContactRecord.account == account)
        & (
            ((ContactRecord.jid == stored_sender) & (ContactRecord.lid == other))
            | ((ContactRecord.jid == other) & (ContactRecord.lid == stored_sender))
        )
    )
    return bool(linked.exists())


def is_group_admin(chat_id: int, jid: str) -> bool:
    """True when ``jid`` is a known admin of the group ``chat_id``."""
    rec = ChatRecord.get_or_none(ChatRecord.id == chat_id)
    if rec is None or not rec.is_group:
        return False
    admins = json.loads(rec.admins or "[]")
    return any(same_person(admin, jid, account=rec.account_id) for admin in admins)


def update_admins(
    jid: str,
    admins: Iterable[str] | None,
    promoted: Iterable[str] = (),
    demoted: Iterable[str] = (),
    *,
    account: int,
) -> None:
    """Replace a group's admin list (when known whole), then apply promotions/demotions."""
    chat_id = resolve_id(clean.ident(jid), account=account)
    if chat_id is None:
        chat_id = ensure_chat_sync(ChatJid(jid), account=account)
    rec = ChatRecord.get_by_id(chat_id)
    current = set(json.loads(rec.admins or "[]")) if admins is None else set(admins)
    current = (current | {clean.ident(j) for j in promoted}) - {clean.ident(j) for j in demoted}
    rec.admins = json.dumps(sorted(clean.ident(j) for j in current))
    rec.save(only=[ChatRecord.admins])


def ensure_chat_sync(
    jid: ChatJid,
    alt: ChatJid | None = None,
    name: str = "",
    rank: int = NAME_PUSH,
    *,
    account: int,
) -> int:
    """Return the id of ``account``'s chat for ``jid`` (or its alternate), creating or
    merging as needed."""
    jid, alt = ChatJid(clean.ident(jid)), ChatJid(clean.ident(alt)) if alt else None
    name = clean.text(name, clean.NAME_LIMIT)
    found = (resolve_id(j, account=account) for j in (jid, alt) if j)
    ids = {i for i in found if i is not None}
    if not ids:  # a chat row whose alias went missing is still the same chat
        ids = {
            r.id
            for r in ChatRecord.select(ChatRecord.id).where(
                (ChatRecord.account == account) & ChatRecord.jid.in_([j for j in (jid, alt) if j])
            )
        }
    if not ids:
        chat = ChatRecord.create(
            account=account,
            jid=jid,
            name=name or fallback_name(jid, alt),
            name_rank=rank if name else NAME_FALLBACK,
            is_group=is_group_jid(jid),
            search_names=names.extend_key("", names.key_parts([name], [jid, alt or ""])),
        )
        chat_id = chat.id
    else:
        chat_id = min(ids)
        for other in ids - {chat_id}:
            _merge(chat_id, other)
        if name:
            ChatRecord.update(name=name, name_rank=rank).where(
                (ChatRecord.id == chat_id) & (ChatRecord.name_rank <= rank)
            ).execute()
            _add_to_key(chat_id, [name])
    for j in (jid, alt):
        if j:
            ChatAliasRecord.insert(
                account=account, jid=j, chat=chat_id
            ).on_conflict_ignore().execute()
    contacts.apply_contact_names(chat_id)
    return chat_id


def _add_to_key(chat_id: int, found: Iterable[str]) -> None:
    """Add names to a chat's search key (blocking; inside storage)."""
    rec = ChatRecord.get_by_id(chat_id)
    key = names.extend_key(rec.search_names or "", names.key_parts(found))
    if key != rec.search_names:
        rec.search_names = key
        rec.save(only=[ChatRecord.search_names])
