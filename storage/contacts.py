"""Contacts and the names of person chats: what the address book, WhatsApp and the owner's
messages say about a person, and the one name a chat shows (storage/names.py decides).

Blocking functions for use inside storage, on the database thread, in a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from core.events import ContactSeen
from storage import clean, names
from storage.db import db, select_in
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord, utcnow

#: Contact columns read to name a chat, in this order.
_NAME_COLUMNS = "jid, lid, phone_jid, full_name, first_name, business_name, push_name"


def contact_rows(jids: Sequence[str], *, account: int) -> list[tuple[str, ...]]:
    """The contacts of ``account`` known by any of these JIDs (as their JID or their LID)."""
    sql = (
        f"SELECT {_NAME_COLUMNS} FROM contacts "
        "WHERE (jid IN ({marks}) OR lid IN ({marks})) AND account_id = {p}"
    )
    return select_in(sql, jids, [account])


def rows_by_jid(rows: Iterable[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Index contact rows by each JID they are known by (JID and LID)."""
    found: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        for jid in (row[0], row[1]):
            if jid:
                found.setdefault(jid, []).append(row)
    return found


def naming(rows: Iterable[tuple[str, ...]]) -> tuple[str, int, list[str], list[str]]:
    """From contact rows: the best name and its rank, every name, and the phone JIDs."""
    best, rank = "", names.NAME_FALLBACK
    every: list[str] = []
    phones: list[str] = []
    for jid, _lid, phone, full, first, business, push in rows:
        name, r = names.best_name(full or "", first or "", business or "", push or "")
        if r > rank:
            best, rank = name, r
        every += [n for n in (full, first, business, push) if n]
        phones += [j for j in (jid, phone) if j]
    return best, rank, every, phones


def apply_contact_names(chat_id: int) -> None:
    """Name a person chat from its contacts: a saved or business name replaces a name that is
    no surer; a chat nobody named shows the formatted number once it is known. Every name
    and number found joins the chat's search key."""
    rec = ChatRecord.get_or_none(ChatRecord.id == chat_id)
    if rec is None:
        return
    rows = ChatAliasRecord.select(ChatAliasRecord.jid).where(ChatAliasRecord.chat == chat_id)
    aliases = [r.jid for r in rows] or [rec.jid]
    parts_names = [rec.name]
    phones: list[str] = list(aliases)
    if not rec.is_group:
        best, rank, every, found_phones = naming(contact_rows(aliases, account=rec.account_id))
        phones += found_phones
        parts_names += every
        surer = rank >= names.NAME_BUSINESS or rec.name_rank == names.NAME_FALLBACK
        if best and surer and rank >= rec.name_rank:
            rec.name, rec.name_rank = best[: clean.NAME_LIMIT], rank
        if rec.name_rank == names.NAME_FALLBACK:
            phone = next((j for j in phones if names.phone_digits(j)), None)
            rec.name = names.fallback_name(rec.jid, phone)
    rec.search_names = names.extend_key(
        rec.search_names or "", names.key_parts([rec.name, *parts_names], phones)
    )
    rec.save(only=[ChatRecord.name, ChatRecord.name_rank, ChatRecord.search_names])


def _chat_of(account: int, *jids: str | None) -> int | None:
    for jid in jids:
        if jid:
            row = ChatAliasRecord.get_or_none(
                (ChatAliasRecord.account == account) & (ChatAliasRecord.jid == jid)
            )
            if row is not None:
                return int(row.chat_id)
    return None


def upsert_contacts(contacts: Sequence[ContactSeen], *, account: int) -> int:
    """Store what these entries say (an empty field never erases a known name) and rename
    the chats they belong to; return how many chats were looked at."""
    touched: set[int] = set()
    for contact in contacts:
        jid = clean.ident(contact.jid)
        fields = {
            ContactRecord.full_name: clean.text(contact.name, clean.NAME_LIMIT).strip(),
            ContactRecord.first_name: clean.text(contact.first_name, clean.NAME_LIMIT).strip(),
            ContactRecord.business_name: clean.text(
                contact.business_name, clean.NAME_LIMIT
            ).strip(),
            ContactRecord.push_name: clean.text(contact.push_name, clean.NAME_LIMIT).strip(),
        }
        update: dict[Any, object] = {f: v for f, v in fields.items() if v}
        if not update:
            continue
        update[ContactRecord.updated_at] = utcnow()
        key = {ContactRecord.account: account, ContactRecord.jid: jid}
        ContactRecord.insert({**key, **update}).on_conflict(
            conflict_target=[ContactRecord.account, ContactRecord.jid], update=update
        ).execute()
        row = ContactRecord.get((ContactRecord.account == account) & (ContactRecord.jid == jid))
        chat_id = _chat_of(account, jid, row.lid, row.phone_jid)
        if chat_id is not None:
            touched.add(chat_id)
    for chat_id in touched:
        apply_contact_names(chat_id)
    return len(touched)


def append_names_sql() -> str:
    """The statement that adds a folded name to a chat's search key unless it is there:
    parameters (part + "|", chat id, "%|" + part + "|%")."""
    p = db.param
    return (
        "UPDATE chats SET search_names = "
        f"CASE WHEN search_names = '' THEN '|' ELSE search_names END || {p} "
        f"WHERE id = {p} AND search_names NOT LIKE {p} "
        f"AND LENGTH(search_names) < {names.KEY_LIMIT}"
    )
