"""Chats: the repository (``PeeweeChatRepository``) — reading, listing and finding chats, the
owner's switches, group admins, and the contacts that name them. Which chat a JID is lives in
identity.py, how a search matches in chat_search.py, the row mapping in rows.py."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

import peewee

from core.errors import NotFound
from core.events import ContactSeen
from core.ids import STATUS_BROADCAST, ChatJid
from storage import clean, contacts, names
from storage.chat_search import MATCH_EXACT, match_rank, narrow
from storage.db import db, in_thread, select_in
from storage.domain import Chat, Contact, Page
from storage.identity import ensure_chat_sync, resolve_id, update_admins
from storage.models import ChatAliasRecord, ChatRecord, ContactRecord, utcnow
from storage.names import NAME_PUSH
from storage.rows import CHAT_COLUMNS, record_chat, sql_chat, to_contact
from storage.scope import Scoped

TOGGLES = frozenset({"trusted", "ai_enabled", "ai_auto", "include_in_digest", "cloud_llm_allowed"})


def _aliases(chat_id: int) -> tuple[ChatJid, ...]:
    rows = ChatAliasRecord.select(ChatAliasRecord.jid).where(ChatAliasRecord.chat == chat_id)
    return tuple(sorted(ChatJid(r.jid) for r in rows))


def load_chats(chat_ids: Iterable[int]) -> dict[int, Chat]:
    """Return the chats with these ids, missing ones left out (blocking; inside storage).

    Plain SQL rather than model queries: a history sync reads every chat it touches, and
    peewee's per-row work is ten times the query's here."""
    wanted = list(set(chat_ids))
    rows = select_in(f"SELECT {CHAT_COLUMNS} FROM chats WHERE id IN ({{marks}})", wanted, size=500)
    aliases: dict[int, list[ChatJid]] = {}
    jids = select_in(
        "SELECT chat_id, jid FROM chat_aliases WHERE chat_id IN ({marks})", wanted, size=500
    )
    for chat_id, jid in jids:
        aliases.setdefault(chat_id, []).append(ChatJid(jid))
    return {row[0]: sql_chat(row, tuple(sorted(aliases.get(row[0], ())))) for row in rows}


def _chat(chat_id: int) -> Chat:
    """The chat with this id (``NotFound`` when there is none), on the calling thread."""
    rec = ChatRecord.get_or_none(ChatRecord.id == chat_id)
    if rec is None:
        raise NotFound(f"chat {chat_id} does not exist")
    return record_chat(rec, _aliases(rec.id))


class PeeweeChatRepository(Scoped):
    """Chats and contacts of one account (or, read-only, of all: storage/scope.py) on the
    bound peewee database."""

    @in_thread
    def ensure(
        self, jid: ChatJid, alt: ChatJid | None = None, name: str = "", rank: int = NAME_PUSH
    ) -> Chat:
        """Return the chat for ``jid`` (or its alternate JID), creating or merging it, and name
        it when ``name`` is surer than the one it has."""
        with db.atomic():
            chat_id = ensure_chat_sync(jid, alt, name, rank, account=self._own())
        return _chat(chat_id)

    @in_thread
    def get(self, chat_id: int) -> Chat:
        """Return the chat with this id; raise ``NotFound`` when there is none."""
        return _chat(chat_id)

    @in_thread
    def get_many(self, chat_ids: Iterable[int]) -> dict[int, Chat]:
        """Return the chats with these ids (missing ones left out), in two queries."""
        return load_chats(chat_ids)

    @in_thread
    def by_jid(self, jid: str) -> Chat | None:
        """Return the chat of this account any of whose JIDs is ``jid``, or None."""
        chat_id = resolve_id(jid, account=self._own())
        return _chat(chat_id) if chat_id is not None else None

    @in_thread
    def list_page(
        self, search: str = "", page: int = 0, per_page: int = 8, account_id: int | None = None
    ) -> Page[Chat]:
        """One page of chats, most recently active first, narrowed to those matching
        ``search``; of this repository's account, or of every account (only ``account_id``
        when given) on the all-accounts repository."""
        query = self._chats(account_id)
        if search.strip():
            narrowed = narrow(query, search)
            if narrowed is None:
                return Page((), 0, 1, 0)
            query = narrowed
        total = query.count()
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 0), pages - 1)
        rows = query.order_by(
            ChatRecord.last_activity.desc(nulls="LAST"), ChatRecord.id.desc()
        ).paginate(page + 1, per_page)
        return Page(tuple(record_chat(r) for r in rows), page, pages, total)

    @in_thread
    def find(self, name: str, limit: int = 10) -> list[tuple[int, Chat]]:
        """Return ``(how well, chat)`` for the chats a person could mean by ``name``: any name
        the chat was known by (saved, first, push, business, group subject) or its number,
        ignoring case, accents and emoji; best matches first (MATCH_EXACT, MATCH_WORD,
        MATCH_PREFIX, MATCH_PART), then the most recently active."""
        text = name.strip()
        query = narrow(self._chats(), text)
        found: list[tuple[int, Chat]] = []
        needle = (names.needles(text) or [""])[0]
        if query is not None:
            rows = query.order_by(ChatRecord.last_activity.desc(nulls="LAST")).limit(200)
            found = [
                (match_rank(needle, r.name, r.search_names or ""), record_chat(r)) for r in rows
            ]
        alias = None
        if "@" in text and self.account_id is not None:
            alias = resolve_id(clean.ident(text), account=self.account_id)
        if alias is not None and all(c.id != alias for _, c in found):
            found.insert(0, (MATCH_EXACT, record_chat(ChatRecord.get_by_id(alias))))
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
        return _chat(chat_id)

    @in_thread
    def set_muted_until(self, chat_id: int, until: datetime | None) -> Chat:
        """Mute the chat until ``until`` (None unmutes it) and return the changed chat."""
        ChatRecord.update(muted_until=until).where(ChatRecord.id == chat_id).execute()
        return _chat(chat_id)

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
            update_admins(jid, admins, promoted, demoted, account=self._own())

    @in_thread
    def link_identity(self, phone_jid: ChatJid, lid: ChatJid) -> None:
        """Record that a phone JID and a LID are one person. When a chat exists for either
        (or both: they are merged), both JIDs lead to it from now on, and it is named from
        the contact (a chat known only by its LID shows the number from now on)."""
        phone_jid, lid = ChatJid(clean.ident(phone_jid)), ChatJid(clean.ident(lid))
        account = self._own()
        with db.atomic():
            ContactRecord.insert(
                account=account, jid=phone_jid, lid=lid, phone_jid=phone_jid
            ).on_conflict(
                conflict_target=[ContactRecord.account, ContactRecord.jid],
                update={ContactRecord.lid: lid, ContactRecord.updated_at: utcnow()},
            ).execute()
            if any(resolve_id(j, account=account) is not None for j in (phone_jid, lid)):
                ensure_chat_sync(phone_jid, lid, account=account)

    @in_thread
    def upsert_contacts(self, found: Sequence[ContactSeen]) -> int:
        """Store address-book entries, a few hundred to a transaction; the chats they
        belong to take the saved (or business) name. Return how many chats were renamed
        or looked at."""
        touched, account = 0, self._own()
        for start in range(0, len(found), 200):
            with db.atomic():
                touched += contacts.upsert_contacts(found[start : start + 200], account=account)
        return touched

    @in_thread
    def contact(self, jid: str) -> Contact | None:
        """Return what this account knows about the person with this JID or LID, or None."""
        rec = ContactRecord.get_or_none(
            (ContactRecord.account == self._own())
            & ((ContactRecord.jid == jid) | (ContactRecord.lid == jid))
        )
        if rec is None:
            return None
        return to_contact(rec)

    @in_thread
    def count(self) -> int:
        """How many chats (status updates are not one) this repository lists."""
        return self._chats().count()

    def _chats(self, account_id: int | None = None) -> peewee.ModelSelect[ChatRecord]:
        """The chats a listing covers (storage/scope.py); status updates are not a chat."""
        query = ChatRecord.select().where(ChatRecord.jid != STATUS_BROADCAST)
        accounts = self._listed(account_id)
        return query if accounts is None else query.where(ChatRecord.account.in_(accounts))
