"""Numbered schema migrations, tracked in ``schema_version``.

Rules: each step runs once, inside a transaction, in order. A shipped step is never edited:
change the schema by appending a step. A database whose version is newer than the last step
here is refused (an older release must not scribble on a newer schema).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import peewee

from core.errors import StorageError
from core.ids import OWN_SENDER
from storage.db import db, is_postgres
from storage.models import TABLES_V1, DraftRecord, RejectedEventRecord, SchemaVersionRecord

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
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as alter

    migrator = SchemaMigrator.from_database(db.obj)
    wanted = {
        "messages": [
            ("edits", peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")])),
            (
                "deleted_by",
                peewee.CharField(
                    max_length=16, default="", constraints=[peewee.SQL("DEFAULT ''")]
                ),
            ),
        ],
        "chats": [
            ("admins", peewee.TextField(default="[]", constraints=[peewee.SQL("DEFAULT '[]'")]))
        ],
    }
    for table, columns in wanted.items():
        have = {c.name for c in db.get_columns(table)}
        alter(*(migrator.add_column(table, n, f) for n, f in columns if n not in have))
    db.create_tables([RejectedEventRecord], safe=True)


def _step_6_owner_wrote() -> None:
    """Chats remember whether the owner has written in them (triage tells a known person
    from a first message by an unknown number)."""
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as alter

    migrator = SchemaMigrator.from_database(db.obj)
    if "owner_wrote" not in {c.name for c in db.get_columns("chats")}:
        field = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
        alter(migrator.add_column("chats", "owner_wrote", field))
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
    from playhouse.migrate import SchemaMigrator
    from playhouse.migrate import migrate as alter

    from storage import names

    migrator = SchemaMigrator.from_database(db.obj)
    empty = peewee.SQL("DEFAULT ''")
    wanted = {
        "contacts": [
            (n, peewee.CharField(max_length=256, default="", constraints=[empty]))
            for n in ("first_name", "business_name")
        ],
        "chats": [("search_names", peewee.TextField(default="", constraints=[empty]))],
        "messages": [("call_info", peewee.TextField(default="", constraints=[empty]))],
    }
    for table, columns in wanted.items():
        have = {c.name for c in db.get_columns(table)}
        alter(*(migrator.add_column(table, n, f) for n, f in columns if n not in have))
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


MIGRATIONS: list[tuple[int, Callable[[], None]]] = [
    (1, _step_1_initial_schema),
    (2, _step_2_chat_list_index),
    (3, _step_3_drafts),
    (4, _step_4_one_sender_for_me),
    (5, _step_5_edit_history_and_admins),
    (6, _step_6_owner_wrote),
    (7, _step_7_names),
]
LATEST_VERSION = MIGRATIONS[-1][0]


def current_version() -> int:
    """Return the schema version of the bound database (0 when empty)."""
    if not db.table_exists(SchemaVersionRecord._meta.table_name):
        return 0
    value = SchemaVersionRecord.select(peewee.fn.MAX(SchemaVersionRecord.version)).scalar()
    return int(value or 0)


def migrate() -> list[int]:
    """Apply every pending step; return the versions applied. Refuses a newer database."""
    db.create_tables([SchemaVersionRecord], safe=True)
    have = current_version()
    if have > LATEST_VERSION:
        raise StorageError(
            f"the database schema is version {have}, newer than this release supports "
            f"({LATEST_VERSION}); upgrade wa-secretary or point DATABASE_URL elsewhere"
        )
    applied = []
    for version, step in MIGRATIONS:
        if version <= have:
            continue
        with db.atomic():
            step()
            SchemaVersionRecord.create(version=version)
        logger.info("database migrated to schema version %d", version)
        applied.append(version)
    return applied
