"""The numbered schema migration steps, in order, and the SQL they run (migrations.py
applies them).

A shipped step is never edited: change the schema by appending a step and listing it in
``MIGRATIONS``. The steps run on users' existing databases, SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import peewee

from core.ids import OWN_SENDER
from storage.db import db, is_postgres
from storage.models import TABLES_V1, DraftRecord, RejectedEventRecord
from storage.schema_accounts import step_10_accounts

logger = logging.getLogger(__name__)

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "text, caption, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text, caption) VALUES (new.id, new.text, new.caption); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text, caption) "
    "VALUES ('delete', old.id, old.text, old.caption); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF text, caption ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text, caption) "
    "VALUES ('delete', old.id, old.text, old.caption); "
    "INSERT INTO messages_fts(rowid, text, caption) VALUES (new.id, new.text, new.caption); END",
]

POSTGRES_FTS = [
    "CREATE INDEX IF NOT EXISTS messages_fts_idx ON messages "
    "USING GIN (to_tsvector('simple', text || ' ' || caption))",
]


def _add_columns(wanted: dict[str, list[tuple[str, peewee.Field]]]) -> None:
    """Add to each table the columns it does not have yet (a step may meet a table that
    already has some: ``create_tables`` of a newer model made it)."""
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as alter

    migrator = SchemaMigrator.from_database(db.obj)
    for table, columns in wanted.items():
        have = {c.name for c in db.get_columns(table)}
        alter(*(migrator.add_column(table, n, f) for n, f in columns if n not in have))


def _step_1_initial_schema() -> None:
    db.create_tables(TABLES_V1, safe=True)
    for sql in POSTGRES_FTS if is_postgres() else SQLITE_FTS:
        db.execute_sql(sql)


def _step_2_chat_list_index() -> None:
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS chats_activity_id ON chats (last_activity DESC, id DESC)"
    )


def _step_3_drafts() -> None:
    db.create_tables([DraftRecord], safe=True)


def _step_4_one_sender_for_me() -> None:
    """Own messages get one sender, ``me``. Rows stored twice (once under the own JID, once
    under ``me``, when a replay ran before ``connected``) merge into the earliest one: it
    keeps the links and drafts of the others, and their reactions and edit/delete marks."""
    p, yes = db.param, True
    groups = db.execute_sql(
        "SELECT chat_id, wa_id FROM messages WHERE from_me = " + p + " "
        "GROUP BY chat_id, wa_id HAVING COUNT(*) > 1",
        (yes,),
    ).fetchall()
    for chat_id, wa_id in groups:
        rows = db.execute_sql(
            f"SELECT id, reactions, edited, deleted FROM messages "
            f"WHERE chat_id = {p} AND wa_id = {p} AND from_me = {p} ORDER BY id",
            (chat_id, wa_id, yes),
        ).fetchall()
        keep, others = rows[0][0], [r[0] for r in rows[1:]]
        reactions: dict[str, str] = {}
        for _, raw, _, _ in rows:
            reactions.update(json.loads(raw or "{}"))
        marks = ", ".join([p] * len(others))
        for table in ("message_links", "drafts"):
            db.execute_sql(
                f"UPDATE {table} SET message_id = {p} WHERE message_id IN ({marks})",
                (keep, *others),
            )
        db.execute_sql(
            f"UPDATE messages SET reactions = {p}, edited = {p}, deleted = {p} WHERE id = {p}",
            (
                json.dumps(reactions, ensure_ascii=False),
                any(bool(r[2]) for r in rows),
                any(bool(r[3]) for r in rows),
                keep,
            ),
        )
        db.execute_sql(f"DELETE FROM messages WHERE id IN ({marks})", tuple(others))
    if groups:
        logger.info("merged %d own message(s) stored twice", len(groups))
    db.execute_sql(
        f"UPDATE messages SET sender = {p} WHERE from_me = {p} AND sender <> {p}",
        (OWN_SENDER, yes, OWN_SENDER),
    )


def _step_5_edit_history_and_admins() -> None:
    """Edits keep the earlier texts, a delete says by whom, groups know their admins, and
    edits or revokes from someone else are kept aside as rejected events."""
    _add_columns(
        {
            "messages": [
                (
                    "edits",
                    peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")]),
                ),
                (
                    "deleted_by",
                    peewee.CharField(
                        max_length=16, default="", constraints=[peewee.SQL("DEFAULT ''")]
                    ),
                ),
            ],
            "chats": [
                (
                    "admins",
                    peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")]),
                )
            ],
        }
    )
    db.create_tables([RejectedEventRecord], safe=True)


def _step_6_owner_wrote() -> None:
    """Chats remember whether the owner has written in them (triage tells a known person
    from a first message by an unknown number)."""
    field = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
    _add_columns({"chats": [("owner_wrote", field)]})
    yes = True if db.param == "%s" else 1
    db.execute_sql(
        f"UPDATE chats SET owner_wrote = {db.param} WHERE id IN "
        f"(SELECT DISTINCT chat_id FROM messages WHERE from_me = {db.param})",
        (yes, yes),
    )


def _step_7_names() -> None:
    """People as the phone shows them: contacts keep first and business names; a business
    name ranks between push names and saved names (ranks 2 and 3 move up one); every chat
    gets a search key of all its names and its number, and an unnamed chat of a known
    number shows that number formatted. Calls keep their state on their message row."""
    from storage import names

    empty = peewee.SQL("DEFAULT ''")
    wanted: dict[str, list[tuple[str, peewee.Field]]] = {
        "contacts": [
            (n, peewee.CharField(max_length=256, default="", constraints=[empty]))
            for n in ("first_name", "business_name")
        ],
        "chats": [("search_names", peewee.TextField(default="", constraints=[empty]))],
        "messages": [("call_info", peewee.TextField(default="", constraints=[empty]))],
    }
    _add_columns(wanted)
    db.execute_sql("UPDATE chats SET name_rank = name_rank + 1 WHERE name_rank >= 2")
    aliases: dict[int, list[str]] = {}
    for chat_id, jid in db.execute_sql("SELECT chat_id, jid FROM chat_aliases"):
        aliases.setdefault(chat_id, []).append(jid)
    people: dict[str, list[str]] = {}
    for jid, lid, full, push in db.execute_sql(
        "SELECT jid, lid, full_name, push_name FROM contacts"
    ):
        for key in (jid, lid):
            if key:
                people.setdefault(key, []).extend([jid, full, push])
    rows = []
    for chat_id, jid, name, rank in db.execute_sql(
        "SELECT id, jid, name, name_rank FROM chats"
    ).fetchall():
        jids = aliases.get(chat_id, [jid])
        known = [x for j in jids for x in people.get(j, [])]
        phones = [j for j in [*jids, *known] if names.phone_digits(j)]
        if rank == 0:
            name = names.fallback_name(jid, phones[0] if phones else None)
        key = names.extend_key("", names.key_parts([name, *known[1::3], *known[2::3]], phones))
        rows.append((name, key, chat_id))
    p = db.param
    db.cursor().executemany(
        f"UPDATE chats SET name = {p}, search_names = {p} WHERE id = {p}", rows
    )


#: Step 8: full-text search covers the transcripts of voice notes too.
SQLITE_FTS_V8 = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "text, caption, transcript, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text, caption, transcript) "
    "VALUES (new.id, new.text, new.caption, new.transcript); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text, caption, transcript) "
    "VALUES ('delete', old.id, old.text, old.caption, old.transcript); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text, caption, transcript ON messages "
    "BEGIN INSERT INTO messages_fts(messages_fts, rowid, text, caption, transcript) "
    "VALUES ('delete', old.id, old.text, old.caption, old.transcript); "
    "INSERT INTO messages_fts(rowid, text, caption, transcript) "
    "VALUES (new.id, new.text, new.caption, new.transcript); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
#: The PostgreSQL expression the search query repeats word for word (so the index is used).
POSTGRES_FTS_V8 = "to_tsvector('simple', text || ' ' || caption || ' ' || transcript)"


def _step_8_transcripts() -> None:
    """Voice notes keep their transcript, or why there is none; full-text search (the
    SQLite FTS5 table, the PostgreSQL index) covers transcripts too."""
    empty = peewee.SQL("DEFAULT ''")
    texts: list[tuple[str, peewee.Field]] = [
        (n, peewee.TextField(default="", constraints=[empty]))
        for n in ("transcript", "transcript_error")
    ]
    _add_columns({"messages": texts})
    if is_postgres():
        db.execute_sql("DROP INDEX IF EXISTS messages_fts_idx")
        db.execute_sql(
            f"CREATE INDEX IF NOT EXISTS messages_fts_v8_idx ON messages USING GIN "
            f"({POSTGRES_FTS_V8})"
        )
        return
    for trigger in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute_sql("DROP TABLE IF EXISTS messages_fts")
    for sql in SQLITE_FTS_V8:
        db.execute_sql(sql)


def _step_9_ticks() -> None:
    """Sent messages remember their best receipt and the ticks shown on their Telegram
    confirmation (and which message that is); receipts find them by WhatsApp id."""
    empty = peewee.SQL("DEFAULT ''")
    wanted: list[tuple[str, peewee.Field]] = [
        ("receipt", peewee.CharField(max_length=16, default="", constraints=[empty])),
        ("ticks", peewee.CharField(max_length=16, default="", constraints=[empty])),
        ("confirm_chat", peewee.BigIntegerField(null=True)),
        ("confirm_message", peewee.BigIntegerField(null=True)),
    ]
    _add_columns({"whatsapp_outbox": wanted})
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS whatsapp_outbox_wa_id ON whatsapp_outbox (wa_message_id)"
    )


MIGRATIONS: list[tuple[int, Callable[[], None]]] = [
    (1, _step_1_initial_schema),
    (2, _step_2_chat_list_index),
    (3, _step_3_drafts),
    (4, _step_4_one_sender_for_me),
    (5, _step_5_edit_history_and_admins),
    (6, _step_6_owner_wrote),
    (7, _step_7_names),
    (8, _step_8_transcripts),
    (9, _step_9_ticks),
    (10, step_10_accounts),
]

#: Steps that rebuild SQLite tables: they run with foreign keys off (SQLite's procedure for
#: changing a table others point at) and the keys are checked before the commit.
REBUILDS = frozenset({10})
