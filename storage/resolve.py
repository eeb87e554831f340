"""The chats of a batch of messages, ahead of inserting it: chats never seen created in bulk,
known ones renamed in one statement, alternate JIDs linked; and, after the insert, the
chats' activity and unread counts and the senders' phone/LID links.

Blocking functions for use inside storage, on the database thread, in a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from core.events import WaMessage
from core.ids import ChatJid, is_group_jid
from storage import contacts, names
from storage.db import db, select_in
from storage.identity import ensure_chat_sync, resolve_id
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord
from storage.names import NAME_FALLBACK, NAME_GROUP, NAME_PUSH, fallback_name


def _offered_name(msg: WaMessage) -> tuple[str, int]:
    if msg.is_group:
        return msg.group_name or "", NAME_GROUP
    return ("" if msg.from_me else msg.push_name), NAME_PUSH


def _ids_by_jid(table: str, column: str, jids: Sequence[str], account: int) -> dict[str, int]:
    """Return ``jid → id`` from ``account``'s rows of ``table`` for these JIDs, a chunk of
    them per query."""
    sql = f"SELECT jid, {column} FROM {table} WHERE jid IN ({{marks}}) AND account_id = {{p}}"
    return dict(select_in(sql, jids, [account]))


def _create_chats(first: dict[str, WaMessage], account: int) -> dict[str, int]:
    """Create the chats of these never-seen JIDs in bulk; return ``jid → id``. A person
    the address book knows is named as saved there, whatever push name the message
    carries."""
    people = [j for j in first if not is_group_jid(j)]
    rows_of = contacts.contact_rows
    known = contacts.rows_by_jid(rows_of(people, account=account)) if people else {}
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
                ChatRecord.account: account,
                ChatRecord.jid: jid,
                ChatRecord.name: name[:256] or fallback_name(jid, phone),
                ChatRecord.name_rank: rank if name else NAME_FALLBACK,
                ChatRecord.is_group: is_group_jid(jid),
                ChatRecord.search_names: names.extend_key("", key),
            }
        )
    ChatRecord.insert_many(rows).execute()
    created = _ids_by_jid("chats", "id", list(first), account)
    aliases = [
        {ChatAliasRecord.account: account, ChatAliasRecord.jid: j, ChatAliasRecord.chat: i}
        for j, i in created.items()
    ]
    ChatAliasRecord.insert_many(aliases).on_conflict_ignore().execute()
    return created


def _linked_alternates(first: dict[str, WaMessage], jids: Sequence[str], account: int) -> None:
    """Give person chats without an alternate JID the one a contact link knows (the phone
    number of a LID, the LID of a number), so one person never gets two chats."""
    people = [j for j in jids if not is_group_jid(j) and not first[j].chat_alt]
    if not people:
        return
    for jid, lid, phone, *_ in contacts.contact_rows(people, account=account):
        if not lid:
            continue
        for mine, other in ((jid, lid), (lid, jid), (phone, lid)):
            if mine in first and other and other != mine and not first[mine].chat_alt:
                first[mine] = replace(first[mine], chat_alt=ChatJid(other))


def resolve_chats(chunk: Sequence[WaMessage], cache: dict[str, int], *, account: int) -> None:
    """Fill ``cache`` (JID → chat id) for a chunk with one alias query: chats never seen are
    created in bulk, known ones renamed in one batch, and only the rare rest (an alternate
    JID to link, a chat row whose alias went missing) go through ``ensure_chat_sync``."""
    first: dict[str, WaMessage] = {}
    for msg in chunk:
        if msg.chat not in cache:
            first.setdefault(msg.chat, msg)
    if not first:
        return
    known = _ids_by_jid("chat_aliases", "chat_id", list(first), account)
    _linked_alternates(first, [j for j in first if j not in known], account)
    unseen = [j for j, m in first.items() if j not in known and not m.chat_alt]
    orphans = _ids_by_jid("chats", "id", unseen, account) if unseen else {}
    fresh = {j: first[j] for j in unseen if j not in orphans}
    if fresh:
        cache.update(_create_chats(fresh, account))
    renames = []
    keys = []
    for jid, msg in first.items():
        if jid in fresh:
            continue
        name, rank = _offered_name(msg)
        alt_id = resolve_id(msg.chat_alt, account=account) if msg.chat_alt else None
        if jid in known and (not msg.chat_alt or alt_id == known[jid]):
            cache[jid] = known[jid]
            if name:
                renames.append((name[:256], rank, known[jid], rank, name[:256]))
                if part := names.fold(name):
                    keys.append((part + "|", known[jid], f"%|{part}|%"))
        else:
            cache[jid] = ensure_chat_sync(msg.chat, msg.chat_alt, name, rank, account=account)
    if renames:
        p = db.param
        db.cursor().executemany(
            f"UPDATE chats SET name = {p}, name_rank = {p} "
            f"WHERE id = {p} AND name_rank <= {p} AND name <> {p}",
            renames,
        )
    if keys:  # a push name that does not rename a saved contact still finds the chat
        db.cursor().executemany(contacts.append_names_sql(), keys)


def touch_chats(new: Sequence[tuple[int, WaMessage]], history: bool) -> None:
    """Move the chats of messages just stored: latest activity, unread count (live messages
    from others), and whether the owner has written there."""
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


def link_senders(messages: Iterable[WaMessage], *, account: int) -> None:
    """Record (in ``account``'s contacts) the phone JID and LID of senders whose messages
    carried both."""
    pairs = {(m.sender, m.sender_alt) for m in messages if m.sender_alt and not m.from_me}
    for a, b in pairs:
        lid, phone = (a, b) if a.endswith("@lid") else (b, a)
        ContactRecord.insert(account=account, jid=phone, lid=lid, phone_jid=phone).on_conflict(
            conflict_target=[ContactRecord.account, ContactRecord.jid],
            update={ContactRecord.lid: lid},
        ).execute()


def resolve_chunk(messages: Sequence[WaMessage], cache: dict[str, int], *, account: int) -> None:
    """Resolve (and create) ``account``'s chats of these messages in one write transaction."""
    with db.atomic():
        resolve_chats(messages, cache, account=account)
