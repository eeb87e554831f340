"""Schema step 10 on a database of the release before accounts (schema 9), SQLite and
PostgreSQL: the schema is the one that release made (tests/fixtures/schema_v9_*.sql), its
rows are written as that release wrote them, and after migrating everything is account 1's,
unchanged, and the rebuilt tables still work (keys, cascades, full-text search)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.events import WaMessage
from core.ids import ChatJid, WaMessageId
from storage import Storage, close_storage, open_storage
from storage import db as storage_db
from storage.migrations import LATEST_VERSION, current_version
from tests.conftest import DB_BACKENDS, PG_URL, reset_postgres

FIXTURES = Path(__file__).parent.parent / "fixtures"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
MS = int(T0.timestamp() * 1000)
ALICE = ChatJid("15550000002@s.whatsapp.net")
ALICE_LID = ChatJid("987654321012345@lid")
GROUP = ChatJid("120363000000000001@g.us")

CHAT = {
    "name_rank": 4,
    "is_group": False,
    "trusted": True,
    "ai_enabled": False,
    "ai_auto": False,
    "cloud_llm_allowed": True,
    "include_in_digest": True,
    "muted_until": None,
    "unread": 2,
    "score_bias": 1,
    "created_at": MS,
    "admins": "[]",
    "owner_wrote": True,
}
MESSAGE = {
    "sender_name": "Alice",
    "kind": "text",
    "caption": "",
    "from_me": False,
    "history": False,
    "view_once": False,
    "media_path": None,
    "media_mimetype": "",
    "media_file_name": "",
    "media_size": 0,
    "media_state": "none",
    "media_error": None,
    "media_attempts": 0,
    "media_ref": None,
    "quoted_id": None,
    "mentions": "[]",
    "edited": False,
    "deleted": False,
    "reactions": "{}",
    "delivery": "",
    "importance": 3,
    "reason": "question",
    "feedback": 0,
    "edits": "[]",
    "deleted_by": "",
    "call_info": "",
    "transcript": "",
    "transcript_error": "",
}
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("chats", {**CHAT, "id": 1, "jid": ALICE, "name": "Alice Liddell", "last_activity": MS,
               "search_names": "|alice liddell|15550000002|"}),
    ("chats", {**CHAT, "id": 2, "jid": GROUP, "name": "Book club", "is_group": True,
               "trusted": False, "last_activity": MS - 60_000, "search_names": "|book club|"}),
    ("chat_aliases", {"jid": ALICE, "chat_id": 1}),
    ("chat_aliases", {"jid": ALICE_LID, "chat_id": 1}),
    ("chat_aliases", {"jid": GROUP, "chat_id": 2}),
    ("contacts", {"jid": ALICE, "lid": ALICE_LID, "phone_jid": ALICE, "push_name": "Ali",
                  "full_name": "Alice Liddell", "updated_at": MS, "first_name": "Alice",
                  "business_name": ""}),
    ("messages", {**MESSAGE, "id": 1, "chat_id": 1, "wa_id": "3EB0A", "sender": ALICE,
                  "text": "the plumber comes at five", "timestamp": MS}),
    ("messages", {**MESSAGE, "id": 2, "chat_id": 2, "wa_id": "3EB0B", "sender": ALICE,
                  "text": "chapter three tonight", "timestamp": MS - 60_000}),
    ("messages", {**MESSAGE, "id": 3, "chat_id": 1, "wa_id": "3EB0C", "sender": "me",
                  "from_me": True, "text": "thanks", "timestamp": MS + 60_000}),
    ("drafts", {"id": 1, "chat_id": 1, "message_id": 1, "text": "Five is fine",
                "state": "draft", "created_at": MS}),
    ("message_links", {"tg_chat_id": 111, "tg_message_id": 5, "message_id": 1}),
    ("whatsapp_outbox", {"id": 1, "to_jid": ALICE, "payload": '{"text": "on my way"}',
                         "state": "pending", "attempts": 0, "next_attempt_at": 0,
                         "created_at": MS, "sent_at": None, "wa_message_id": None,
                         "last_error": None, "origin": "tg:111:6", "receipt": "",
                         "ticks": "", "confirm_chat": None, "confirm_message": None}),
    ("rejected_events", {"id": 1, "chat_jid": GROUP, "sender": ALICE, "target_id": "3EB0B",
                         "kind": "edit", "text": "x", "created_at": MS}),
]  # fmt: skip
WITH_IDS = ["chats", "messages", "drafts", "whatsapp_outbox", "rejected_events"]


def _write_release_9(url: str, pg_schema: str | None = None) -> None:
    """Make the schema of release 9 (``pg_schema``: another PostgreSQL one) and write its
    rows as that release would have."""
    if url.startswith("sqlite"):
        con: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.executescript((FIXTURES / "schema_v9_sqlite.sql").read_text())
        mark, done = "?", con.commit
    else:
        import psycopg2

        con = psycopg2.connect(url)
        con.cursor().execute(pg_schema or (FIXTURES / "schema_v9_postgres.sql").read_text())
        con.cursor().execute("SET search_path = public")
        mark, done = "%s", con.commit
    cur = con.cursor()
    for version in range(1, 10):
        cur.execute(
            f"INSERT INTO schema_version (version, applied_at) VALUES ({mark}, {mark})",
            (version, MS),
        )
    for table, row in ROWS:
        names = ", ".join(row)
        cur.execute(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(row))})",
            tuple(row.values()),
        )
    if not url.startswith("sqlite"):
        for table in WITH_IDS:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
            )
    done()
    con.close()


@pytest.fixture(params=DB_BACKENDS)
async def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "postgres":
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    _write_release_9(url)
    store = await open_storage(url)
    yield store
    await close_storage()


def msg(i: int, chat: str, text: str) -> WaMessage:
    return WaMessage(
        id=WaMessageId(f"3EB1{i:04d}"),
        chat=ChatJid(chat),
        sender=ChatJid(chat),
        timestamp=T0 + timedelta(hours=i),
        text=text,
        push_name="Alice",
    )


async def test_release_9_data_is_account_1s_and_unchanged(migrated: Storage) -> None:
    s = migrated
    assert await storage_db.run(current_version) == LATEST_VERSION
    [main] = await s.accounts.list()
    assert (main.id, main.label, main.own_jid, main.is_default) == (1, "main", None, True)
    alice = await s.chats.by_jid(ALICE)
    assert alice is not None and alice.id == 1 and alice.account_id == 1
    assert (alice.name, alice.trusted, alice.unread, alice.known) == (
        "Alice Liddell",
        True,
        2,
        True,
    )
    assert alice.aliases == tuple(sorted((ALICE, ALICE_LID)))
    assert (await s.chats.by_jid(ALICE_LID)).id == 1
    group = await s.chats.by_jid(GROUP)
    assert group is not None and group.id == 2 and group.is_group and group.name == "Book club"
    contact = await s.chats.contact(ALICE_LID)
    assert contact is not None and contact.jid == ALICE
    assert [m.text for m in await s.messages.last(1)] == ["the plumber comes at five", "thanks"]
    assert [m.id for m in await s.messages.search("plumber")] == [1]
    assert (await s.messages.linked(111, 5)).id == 1
    draft = await s.drafts.get(1)
    assert draft is not None and draft.text == "Five is fine"
    [item] = await s.whatsapp_outbox.due(T0)
    assert (item.id, item.target, item.account_id) == (1, ALICE, 1)
    assert item.payload == {"text": "on my way"}
    assert await s.messages.rejected_count() == 1
    assert [c.id for _, c in await s.chats.find("alice")] == [1]
    assert (await s.chats.list_page()).total == 2


async def test_rebuilt_tables_keep_working(migrated: Storage) -> None:
    """New rows after the migration: ids go on, the full-text index follows, a second
    account has its own chat for the same JID, and removing it cascades to its rows only."""
    s = migrated
    [new] = await s.messages.store([msg(1, ALICE, "the electrician too")])
    assert new.chat_id == 1 and new.id == 4
    assert [m.id for m in await s.messages.search("electrician")] == [4]
    work = await s.accounts.add("Work")
    w = s.for_account(work.id)
    [theirs] = await w.messages.store([msg(1, ALICE, "the electrician too")])
    assert theirs.chat_id not in (1, 2)
    assert await w.whatsapp_outbox.add(ALICE, {"text": "hi"}) > 1
    await s.accounts.remove(work.id)
    assert await s.messages.get(theirs.id) is None
    assert await s.messages.get(new.id) is not None
    assert [c.id for c in (await s.all_accounts.chats.list_page()).items] == [1, 2]
    assert [i.id for i in await s.all_accounts.whatsapp_outbox.due(T0)] == [1]


#: Release 9's keys under other names than PostgreSQL's defaults (made by hand, restored
#: from elsewhere, renamed): step 10 finds them by what they cover, not by their name.
RENAMED = {
    "ADD CONSTRAINT chat_aliases_pkey PRIMARY KEY (jid);": 'ADD CONSTRAINT "alias key" PRIMARY KEY (jid);',
    "ADD CONSTRAINT contacts_pkey PRIMARY KEY (jid);": "ADD CONSTRAINT contacts_jid_pk PRIMARY KEY (jid);",
    "CREATE UNIQUE INDEX chats_jid ON public.chats USING btree (jid);":
        "ALTER TABLE public.chats ADD CONSTRAINT chats_jid_unique UNIQUE (jid);",
}  # fmt: skip


def _key_columns(url: str, table: str) -> tuple[list[str], list[list[str]]]:
    """The primary key's columns of ``table`` and those of its other unique keys."""
    import psycopg2

    con = psycopg2.connect(url)
    with con.cursor() as cur:
        cur.execute(
            "SELECT x.indisprimary, array_agg(a.attname::text ORDER BY k.n) FROM pg_index x "
            "CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
            "WHERE x.indrelid = %s::regclass AND x.indisunique GROUP BY x.indexrelid, 1",
            (table,),
        )
        rows = cur.fetchall()
    con.close()
    return next((c for p, c in rows if p), []), sorted(c for p, c in rows if not p)


async def test_keys_named_otherwise_are_found_on_postgres() -> None:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    reset_postgres(PG_URL)
    schema = (FIXTURES / "schema_v9_postgres.sql").read_text()
    for default, other in RENAMED.items():
        assert default in schema
        schema = schema.replace(default, other)
    _write_release_9(PG_URL, schema)
    s = await open_storage(PG_URL)
    try:
        assert await storage_db.run(current_version) == LATEST_VERSION
        for table in ("chat_aliases", "contacts"):
            assert _key_columns(PG_URL, table)[0] == ["account_id", "jid"], table
        assert ["jid"] not in _key_columns(PG_URL, "chats")[1]
        # a second account may have the same JIDs: chat, alias and contact of its own
        work = s.for_account((await s.accounts.add("Work")).id)
        [theirs] = await work.messages.store([msg(1, ALICE, "the electrician too")])
        assert theirs.chat_id not in (1, 2)
        assert (await work.chats.by_jid(ALICE)).id == theirs.chat_id
        assert (await s.chats.by_jid(ALICE)).id == 1
    finally:
        await close_storage()
