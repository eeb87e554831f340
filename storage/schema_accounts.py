"""Schema step 10: several WhatsApp accounts under one bot.

The ``account`` table gets row 1 ("main", the default), which owns every row there was. The
tables keyed by a WhatsApp JID (chats, chat aliases, contacts, the WhatsApp outbox, rejected
events) get an ``account_id`` pointing at it (deleting an account deletes its rows), and a
JID is unique per account, not overall. PostgreSQL alters the tables in place. SQLite cannot
change a primary key or add a referencing column with a default, so each table is rebuilt
(SQLite's own procedure: the runner turns foreign keys off around this step and checks them
before the commit). ``messages`` is not touched, so its full-text index stays as it is.

Like every step it runs once per database, but it also meets tables that step 1 or 5 already
built from today's models (a new database), and tests run it again: each part checks first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from storage.db import db, is_postgres
from storage.models import ACCOUNT_TABLES, MAIN_ACCOUNT, AccountRecord, BaseRecord, utcnow

#: Indexes earlier steps made by hand (not in the models), made again after a rebuild.
EXTRA_INDEXES = {
    "chats": [
        "CREATE INDEX IF NOT EXISTS chats_activity_id ON chats (last_activity DESC, id DESC)"
    ],
    "whatsapp_outbox": [
        "CREATE INDEX IF NOT EXISTS whatsapp_outbox_wa_id ON whatsapp_outbox (wa_message_id)"
    ],
}
#: The tables whose key moves from ``jid`` to (``account_id``, ``jid``).
KEYED_BY_JID = ("chat_aliases", "contacts")


def step_10_accounts() -> None:
    """Create the accounts (row 1 owns everything there was) and give every JID-keyed table
    its account."""
    AccountRecord.create_table(safe=True)
    p = db.param
    db.execute_sql(
        f"INSERT INTO account (id, label, own_jid, created_at, is_default, settings) "
        f"VALUES ({p}, {p}, NULL, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
        (MAIN_ACCOUNT, "main", int(utcnow().timestamp() * 1000), True, "{}"),
    )
    if is_postgres():
        db.execute_sql(
            "SELECT setval(pg_get_serial_sequence('account', 'id'), (SELECT MAX(id) FROM account))"
        )
        for model in ACCOUNT_TABLES:
            _alter_postgres(model._meta.table_name)
        return
    with _constraints_inline():
        for model in ACCOUNT_TABLES:
            _rebuild_sqlite(model)


def _alter_postgres(table: str) -> None:
    """Add the account column, its foreign key and index, and the per-account key. The
    keys and constraints there are are looked up in the catalog by what they cover, never
    by name: a database may name them otherwise (made by hand, restored, renamed)."""
    db.execute_sql(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS account_id INTEGER NOT NULL "
        f"DEFAULT {MAIN_ACCOUNT}"
    )
    if not _account_foreign_keys(table):
        db.execute_sql(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_account_id_fkey FOREIGN KEY "
            "(account_id) REFERENCES account (id) ON DELETE CASCADE"
        )
    db.execute_sql(f"CREATE INDEX IF NOT EXISTS {table}_account_id ON {table} (account_id)")
    if table != "chats" and table not in KEYED_BY_JID:
        return
    per_account = ["account_id", "jid"]
    for key in _unique_keys(table):  # a JID is unique per account, not overall
        if key.columns == ["jid"]:
            _drop(table, key)
    if table == "chats":
        if not any(k.columns == per_account for k in _unique_keys(table)):
            db.execute_sql("CREATE UNIQUE INDEX chats_account_id_jid ON chats (account_id, jid)")
        return
    primary = [k for k in _unique_keys(table) if k.primary]
    if primary and primary[0].columns == per_account:
        return
    for key in primary:
        _drop(table, key)
    db.execute_sql(f"ALTER TABLE {table} ADD PRIMARY KEY (account_id, jid)")


@dataclass(frozen=True)
class _Key:
    """A unique index of a PostgreSQL table: its name, the constraint it backs (if any),
    whether it is the primary key, and its columns in key order."""

    index: str
    constraint: str | None
    primary: bool
    columns: list[str]


def _unique_keys(table: str) -> list[_Key]:
    """Every unique index of ``table`` (primary key, unique constraints, unique indexes)."""
    rows = db.execute_sql(
        "SELECT i.relname, con.conname, x.indisprimary, "
        "array_agg(a.attname::text ORDER BY k.n) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid "
        "  AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u') "
        "CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "WHERE x.indrelid = to_regclass(%s) AND x.indisunique "
        "GROUP BY i.relname, con.conname, x.indisprimary",
        (table,),
    ).fetchall()
    return [_Key(index, con, bool(primary), list(cols)) for index, con, primary, cols in rows]


def _account_foreign_keys(table: str) -> list[str]:
    """The names of ``table``'s foreign keys from ``account_id`` to the accounts."""
    rows = db.execute_sql(
        "SELECT con.conname FROM pg_constraint con "
        "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) "
        "WHERE con.conrelid = to_regclass(%s) AND con.contype = 'f' "
        "AND con.confrelid = to_regclass('account') AND a.attname = 'account_id' "
        "AND array_length(con.conkey, 1) = 1",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def _drop(table: str, key: _Key) -> None:
    """Drop a unique key: its constraint when it backs one, else the index itself."""
    if key.constraint is not None:
        db.execute_sql(f"ALTER TABLE {table} DROP CONSTRAINT {_quoted(key.constraint)}")
    else:
        db.execute_sql(f"DROP INDEX {_quoted(key.index)}")


def _quoted(name: str) -> str:
    """A PostgreSQL identifier, quoted (a name may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _constraints_inline() -> Iterator[None]:
    """Let ``create_table`` write the account foreign keys (the models defer them)."""
    fields = [model.account for model in ACCOUNT_TABLES]  # type: ignore[attr-defined]
    for field in fields:
        field.deferred = False
    try:
        yield
    finally:
        for field in fields:
            field.deferred = True


def _rebuild_sqlite(model: type[BaseRecord]) -> None:
    """Rebuild one table as the model says, keeping its rows (account 1 unless they have
    one). The old table is renamed aside without touching the references other tables make
    to it (``legacy_alter_table``, foreign keys off), so ``messages`` still points at
    ``chats`` once the new ``chats`` exists."""
    table = model._meta.table_name
    old = f"{table}_before_v10"
    have = [c.name for c in db.get_columns(table)]
    db.execute_sql("PRAGMA legacy_alter_table = ON")
    try:
        db.execute_sql(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    finally:
        db.execute_sql("PRAGMA legacy_alter_table = OFF")
    for (name,) in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (old,),
    ).fetchall():
        db.execute_sql(f'DROP INDEX "{name}"')
    model.create_table(safe=False)
    for sql in EXTRA_INDEXES.get(table, []):
        db.execute_sql(sql)
    wanted = [c.name for c in db.get_columns(table)]
    columns = [c for c in wanted if c in have]
    picked = list(columns)
    if "account_id" not in have:
        columns.append("account_id")
        picked.append(str(MAIN_ACCOUNT))
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(c if c.isdigit() else f'"{c}"' for c in picked)
    db.execute_sql(f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{old}"')
    db.execute_sql(f'DROP TABLE "{old}"')
