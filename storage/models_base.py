"""The base of the peewee models: the UTC field, the base record, the schema version and the
accounts (the table every JID-keyed table points at). models.py holds the other tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import peewee

from storage.db import db


class UtcField(peewee.BigIntegerField):
    """An aware UTC datetime stored as epoch milliseconds (same on SQLite and PostgreSQL)."""

    def db_value(self, value: Any) -> int | None:
        """Store an aware datetime as epoch milliseconds (an int as is); refuse a naive one."""
        if value is None:
            return None
        if isinstance(value, int):
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC field")
        return int(value.timestamp() * 1000)

    def python_value(self, value: Any) -> datetime | None:
        """Read epoch milliseconds back as an aware UTC datetime."""
        if value is None:
            return None
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def utcnow() -> datetime:
    """Return the current aware UTC time."""
    return datetime.now(UTC)


class BaseRecord(peewee.Model):
    """The base of every table: bound to the one database, snake_case table names."""

    class Meta:
        database = db
        legacy_table_names = False


class SchemaVersionRecord(BaseRecord):
    """Each migration step applied to this database, and when."""

    version = peewee.IntegerField(primary_key=True)
    applied_at = UtcField(default=utcnow)

    class Meta:
        table_name = "schema_version"


class AccountRecord(BaseRecord):
    """One linked WhatsApp account (step 10): its label, its own JID once paired, whether it is
    the default, and its per-account setting overrides (a JSON object)."""

    id = peewee.AutoField()

    label = peewee.CharField(max_length=32, unique=True)
    own_jid = peewee.CharField(max_length=128, null=True)
    created_at = UtcField(default=utcnow)
    is_default = peewee.BooleanField(default=False)
    settings = peewee.TextField(default="{}")

    class Meta:
        table_name = "account"


#: The account every row had before step 10 (and the one ``open_storage`` serves).
MAIN_ACCOUNT = 1


def account_column() -> peewee.ForeignKeyField:
    """The ``account`` column of a table keyed by a WhatsApp JID (step 10). Its foreign-key
    constraint is added by step 10, not by ``create_table``: steps 1 and 5 build tables from
    these models before the ``account`` table exists (PostgreSQL checks that at once)."""
    make: Any = peewee.ForeignKeyField  # ``_deferred`` is not in peewee's stubs
    field: peewee.ForeignKeyField = make(
        AccountRecord,
        default=MAIN_ACCOUNT,
        on_delete="CASCADE",
        index=True,
        constraints=[peewee.SQL(f"DEFAULT {MAIN_ACCOUNT}")],
        _deferred=True,
    )
    return field
