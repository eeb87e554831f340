"""Chats, their aliases (phone number and LID of one person) and contacts."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime

import peewee

from core.errors import NotFound
from core.events import ContactSeen
from core.ids import OWN_SENDER, STATUS_BROADCAST, ChatJid, is_group_jid
from storage import clean, contacts, names
from storage.db import db, in_thread
from storage.domain import Chat, Contact, Page
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord, MessageRecord, utcnow
from storage.names import (  # re-exported: callers name ranks from here
    NAME_BUSINESS,
    NAME_CONTACT,
    NAME_FALLBACK,
    NAME_GROUP,
    NAME_PUSH,
    fallback_name,
)

__all__ = [
    "NAME_BUSINESS",
    "NAME_CONTACT",
    "NAME_FALLBACK",
    "NAME_GROUP",
    "NAME_PUSH",
    "PeeweeChatRepository",
    "fallback_name",
]
TOGGLES = frozenset({"trusted", "ai_enabled", "ai_auto", "include_in_digest", "cloud_llm_allowed"})
#: How well a search matched: a whole name, a whole word of one, the start of a word, anywhere.
MATCH_EXACT, MATCH_WORD, MATCH_PREFIX, MATCH_PART = 0, 1, 2, 3


def to_chat(rec: ChatRecord, aliases: tuple[ChatJid, ...] = ()) -> Chat:
    """Convert a record to the domain object."""
    return Chat(
        id=rec.id,
        jid=ChatJid(rec.jid),
        name=rec.name,
        is_group=rec.is_group,
        trusted=rec.trusted,
        ai_enabled=rec.ai_enabled,
        ai_auto=rec.ai_auto,
        cloud_llm_allowed=rec.cloud_llm_allowed,
        include_in_digest=rec.include_in_digest,
        muted_until=rec.muted_until,
        last_activity=rec.last_activity,
        unread=rec.unread,
        score_bias=rec.score_bias,
        known=rec.owner_wrote or rec.name_rank == NAME_CONTACT,
        aliases=aliases,
    )


def _aliases(chat_id: int) -> tuple[ChatJid, ...]:
    rows = ChatAliasRecord.select(ChatAliasRecord.jid).where(ChatAliasRecord.chat == chat_id)
    return tuple(sorted(ChatJid(r.jid) for r in rows))


#: The columns ``load_chats`` reads, in the order of ``Chat``'s fields.
_CHAT_COLUMNS = (
    "id, jid, name, is_group, trusted, ai_enabled, ai_auto, cloud_llm_allowed,"
    " include_in_digest, muted_until, last_activity, unread, score_bias, owner_wrote, name_rank"
)


def load_chats(chat_ids: Iterable[int]) -> dict[int, Chat]:
    """Return the chats with these ids, missing ones left out (blocking; inside storage).

    Plain SQL rather than model queries: a history sync reads every chat it touches, and
    peewee's per-row work is ten times the query's here."""
    wanted = list(set(chat_ids))
    utc = ChatRecord.last_activity.python_value
    aliases: dict[int, list[ChatJid]] = {}
    rows: list[tuple] = []
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        marks = ", ".join([db.param] * len(part))
        rows += db.execute_sql(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id IN ({marks})", part)
        jids = db.execute_sql(
            f"SELECT chat_id, jid FROM chat_aliases WHERE chat_id IN ({marks})", part
        )
        for chat_id, jid in jids:
            aliases.setdefault(chat_id, []).append(ChatJid(jid))
    return {
        row[0]: Chat(
            id=row[0],
            jid=ChatJid(row[1]),
            name=row[2],
            is_group=bool(row[3]),
            trusted=bool(row[4]),
            ai_enabled=bool(row[5]),
            ai_auto=bool(row[6]),
            cloud_llm_allowed=bool(row[7]),
            include_in_digest=bool(row[8]),
            muted_until=utc(row[9]),
            last_activity=utc(row[10]),
            unread=row[11],
            score_bias=row[12],
            known=bool(row[13]) or row[14] == NAME_CONTACT,
            aliases=tuple(sorted(aliases.get(row[0], ()))),
        )
        for row in rows
    }


def resolve_id(jid: str) -> int | None:
    """Return the chat id a JID belongs to (blocking; for use inside storage)."""
    row = ChatAliasRecord.get_or_none(ChatAliasRecord.jid == jid)
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
        MessageRecord.select(MessageRecord.wa_id, MessageRecord.sender)
        .where(MessageRecord.chat == keep)
        .tuples()
    )
    moving = MessageRecord.select(MessageRecord.id, MessageRecord.wa_id, MessageRecord.sender)
    dupes = [
        i
        for i, wa_id, sender in moving.where(MessageRecord.chat == drop).tuples()
        if (wa_id, sender) in kept
    ]
    if dupes:
        MessageRecord.delete().where(MessageRecord.id.in_(dupes)).execute()
    MessageRecord.update(chat=keep).where(MessageRecord.chat == drop).execute()
    ChatAliasRecord.update(chat=keep).where(ChatAliasRecord.chat == drop).execute()
    ChatRecord.delete_by_id(drop)


def same_person(stored_sender: str, other: str) -> bool:
    """True when two sender JIDs are one person: equal, or known as one chat (a phone JID
    and its LID). The owner is always ``me`` (OWN_SENDER) on both sides."""
    if stored_sender == other:
        return True
    if OWN_SENDER in (stored_sender, other):
        return False
    first = resolve_id(stored_sender)
    if first is not None and first == resolve_id(other):
        return True
    linked = ContactRecord.select().where(
        ((ContactRecord.jid == stored_sender) & (ContactRecord.lid == other))
        | ((ContactRecord.jid == other) & (ContactRecord.lid == stored_sender))
    )
    return bool(linked.exists())


def is_group_admin(chat_id: int, jid: str) -> bool:
    """True when ``jid`` is a known admin of the group ``chat_id``."""
    rec = ChatRecord.get_or_none(ChatRecord.id == chat_id)
    if rec is None or not rec.is_group:
        return False
    return any(same_person(admin, jid) for admin in json.loads(rec.admins or "[]"))


def update_admins(
    jid: str,
    admins: Iterable[str] | None,
    promoted: Iterable[str] = (),
    demoted: Iterable[str] = (),
) -> None:
    """Replace a group's admin list (when known whole), then apply promotions/demotions."""
    chat_id = resolve_id(clean.ident(jid))
    if chat_id is None:
        chat_id = ensure_chat_sync(ChatJid(jid))
    rec = ChatRecord.get_by_id(chat_id)
    current = set(json.loads(rec.admins or "[]")) if admins is None else set(admins)
    current = (current | {clean.ident(j) for j in promoted}) - {clean.ident(j) for j in demoted}
    rec.admins = json.dumps(sorted(clean.ident(j) for j in current))
    rec.save(only=[ChatRecord.admins])


def ensure_chat_sync(
    jid: ChatJid, alt: ChatJid | None = None, name: str = "", rank: int = NAME_PUSH
) -> int:
    """Return the id of the chat for ``jid`` (or its alternate), creating or merging as needed."""
    jid, alt = ChatJid(clean.ident(jid)), ChatJid(clean.ident(alt)) if alt else None
    name = clean.text(name, clean.NAME_LIMIT)
    ids = {i for i in (resolve_id(jid), resolve_id(alt) if alt else None) if i is not None}
    if not ids:  # a chat row whose alias went missing is still the same chat
        ids = {
            r.id
            for r in ChatRecord.select(ChatRecord.id).where(
                ChatRecord.jid.in_([j for j in (jid, alt) if j])
            )
        }
    if not ids:
        chat = ChatRecord.create(
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
            ChatAliasRecord.insert(jid=j, chat=chat_id).on_conflict_ignore().execute()
    contacts.apply_contact_names(chat_id)
    return chat_id


def _add_to_key(chat_id: int, found: Iterable[str]) -> None:
    """Add names to a chat's search key (blocking; inside storage)."""
    rec = ChatRecord.get_by_id(chat_id)
    key = names.extend_key(rec.search_names or "", names.key_parts(found))
    if key != rec.search_names:
        rec.search_names = key
        rec.save(only=[ChatRecord.search_names])


def match_rank(needle: str, name: str, key: str) -> int:
    """How well a folded needle matches a chat's shown name and search key."""
    shown = names.fold(name)
    parts = [p for p in key.split("|") if p]
    if needle == shown or needle in parts:
        return MATCH_EXACT
    ascii_digits = needle.isascii() and needle.isdigit()
    if ascii_digits and any(p.endswith(needle) for p in parts if p.isdigit()):
        return MATCH_WORD  # a number without its country code
    words = [w for p in [shown, *parts] for w in p.split()]
    if needle in words or any(p.startswith(needle + " ") for p in [shown, *parts]):
        return MATCH_WORD  # "sofia" of "sofia ramirez", "dr weber" of "dr weber praxis"
    if any(w.startswith(needle) for w in words):
        return MATCH_PREFIX
    return MATCH_PART


def _search(query: peewee.ModelSelect, search: str) -> peewee.ModelSelect | None:
    """Narrow a chat query to the chats whose names or number contain ``search``; None when
    the search has nothing to look for."""
    found = names.needles(search)
    if not found:
        return None
    for needle in found:
        query = query.where(ChatRecord.search_names.contains(needle))
    return query


class PeeweeChatRepository:
    """Chats and contacts on the bound peewee database."""

    @in_thread
    def ensure(
        self, jid: ChatJid, alt: ChatJid | None = None, name: str = "", rank: int = NAME_PUSH
    ) -> Chat:
        """Return the chat for ``jid`` (or its alternate JID), creating or merging it, and name
        it when ``name`` is surer than the one it has."""
        with db.atomic():
            chat_id = ensure_chat_sync(jid, alt, name, rank)
        return self.get.sync(self, chat_id)

    @in_thread
    def get(self, chat_id: int) -> Chat:
        """Return the chat with this id; raise ``NotFound`` when there is none."""
        rec = ChatRecord.get_or_none(ChatRecord.id == chat_id)
        if rec is None:
            raise NotFound(f"chat {chat_id} does not exist")
        return to_chat(rec, _aliases(rec.id))

    @in_thread
    def get_many(self, chat_ids: Iterable[int]) -> dict[int, Chat]:
        """Return the chats with these ids (missing ones left out), in two queries."""
        return load_chats(chat_ids)

    @in_thread
    def by_jid(self, jid: str) -> Chat | None:
        """Return the chat any of whose JIDs is ``jid``, or None."""
        chat_id = resolve_id(jid)
        return self.get.sync(self, chat_id) if chat_id is not None else None

    @in_thread
    def list_page(self, search: str = "", page: int = 0, per_page: int = 8) -> Page[Chat]:
        """One page of chats, most recently active first, narrowed to those matching ``search``."""
        query = ChatRecord.select().where(ChatRecord.jid != STATUS_BROADCAST)  # not a chat
        if search.strip():
            narrowed = _search(query, search)
            if narrowed is None:
                return Page((), 0, 1, 0)
            query = narrowed
        total = query.count()
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 0), pages - 1)
        rows = query.order_by(
            ChatRecord.last_activity.desc(nulls="LAST"), ChatRecord.id.desc()
        ).paginate(page + 1, per_page)
        return Page(tuple(to_chat(r) for r in rows), page, pages, total)

    @in_thread
    def find(self, name: str, limit: int = 10) -> list[tuple[int, Chat]]:
        """Return ``(how well, chat)`` for the chats a person could mean by ``name``: any name
        the chat was known by (saved, first, push, business, group subject) or its number,
        ignoring case, accents and emoji; best matches first (MATCH_EXACT, MATCH_WORD,
        MATCH_PREFIX, MATCH_PART), then the most recently active."""
        text = name.strip()
        base = ChatRecord.select().where(ChatRecord.jid != STATUS_BROADCAST)
        query = _search(base, text)
        found: list[tuple[int, Chat]] = []
        needle = (names.needles(text) or [""])[0]
        if query is not None:
            rows = query.order_by(ChatRecord.last_activity.desc(nulls="LAST")).limit(200)
            found = [(match_rank(needle, r.name, r.search_names or ""), to_chat(r)) for r in rows]
        alias = resolve_id(clean.ident(text)) if "@" in text else None
        if alias is not None and all(c.id != alias for _, c in found):
            found.insert(0, (MATCH_EXACT, to_chat(ChatRecord.get_by_id(alias))))
        found.sort(key=lambda rc: rc[0])  # stable: activity order within a rank
        return found[:limit]

    @in_thread
    def set_flag(self, chat_id: int, flag: str, value: bool) -> Chat:
        """Set one of the chat's switches (``TOGGLES``) and return the changed chat."""
        if flag not in TOGGLES:
            raise ValueError(f"unknown chat flag {flag!r}")
        ChatRecord.update({getattr(ChatRecord, flag): value}).where(
            ChatRecord.id == chat_id
        ).execute()
        return self.get.sync(self, chat_id)

    @in_thread
    def set_muted_until(self, chat_id: int, until: datetime | None) -> Chat:
        """Mute the chat until ``until`` (None unmutes it) and return the changed chat."""
        ChatRecord.update(muted_until=until).where(ChatRecord.id == chat_id).execute()
        return self.get.sync(self, chat_id)

    @in_thread
    def adjust_bias(self, chat_id: int, delta: int) -> None:
        """Move the chat's score bias by ``delta``, kept within -5..5 (learned from the owner's
        feedback)."""
        rec = ChatRecord.get_by_id(chat_id)
        rec.score_bias = max(-5, min(5, rec.score_bias + delta))
        rec.save()

    @in_thread
    def mark_read(self, chat_id: int) -> None:
        """Reset the chat's unread count to zero."""
        ChatRecord.update(unread=0).where(ChatRecord.id == chat_id).execute()

    @in_thread
    def set_group_admins(
        self,
        jid: ChatJid,
        admins: tuple[ChatJid, ...] | None,
        promoted: tuple[ChatJid, ...] = (),
        demoted: tuple[ChatJid, ...] = (),
    ) -> None:
        """Record who may delete others' messages in a group."""
        with db.atomic():
            update_admins(jid, admins, promoted, demoted)

    @in_thread
    def link_identity(self, phone_jid: ChatJid, lid: ChatJid) -> None:
        """Record that a phone JID and a LID are one person. When a chat exists for either
        (or both: they are merged), both JIDs lead to it from now on, and it is named from
        the contact (a chat known only by its LID shows the number from now on)."""
        phone_jid, lid = ChatJid(clean.ident(phone_jid)), ChatJid(clean.ident(lid))
        with db.atomic():
            ContactRecord.insert(jid=phone_jid, lid=lid, phone_jid=phone_jid).on_conflict(
                conflict_target=[ContactRecord.jid],
                update={ContactRecord.lid: lid, ContactRecord.updated_at: utcnow()},
            ).execute()
            if resolve_id(phone_jid) is not None or resolve_id(lid) is not None:
                ensure_chat_sync(phone_jid, lid)

    @in_thread
    def upsert_contacts(self, found: Sequence[ContactSeen]) -> int:
        """Store address-book entries, a few hundred to a transaction; the chats they
        belong to take the saved (or business) name. Return how many chats were renamed
        or looked at."""
        touched = 0
        for start in range(0, len(found), 200):
            with db.atomic():
                touched += contacts.upsert_contacts(found[start : start + 200])
        return touched

    @in_thread
    def contact(self, jid: str) -> Contact | None:
        """Return what is known about the person with this JID or LID, or None."""
        rec = ContactRecord.get_or_none((ContactRecord.jid == jid) | (ContactRecord.lid == jid))
        if rec is None:
            return None
        return Contact(
            jid=ChatJid(rec.jid),
            lid=ChatJid(rec.lid) if rec.lid else None,
            phone_jid=ChatJid(rec.phone_jid) if rec.phone_jid else None,
            push_name=rec.push_name,
            full_name=rec.full_name,
            first_name=rec.first_name,
            business_name=rec.business_name,
        )

    @in_thread
    def count(self) -> int:
        """How many chats (status updates are not one)."""
        return ChatRecord.select().where(ChatRecord.jid != STATUS_BROADCAST).count()
