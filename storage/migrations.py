"""The migration runner: applies the numbered steps (schema_steps.py) not yet applied,
tracked in ``schema_version``.

Rules: each step runs once, inside a transaction, in order. A shipped step is never edited:
change the schema by appending a step. A database whose version is newer than the last step
there is refused (an older release must not scribble on a newer schema).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import peewee

from core.errors import StorageError
from storage.db import db, is_postgres
from storage.models import SchemaVersionRecord
from storage.schema_steps import MIGRATIONS, REBUILDS

logger = logging.getLogger(__name__)

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
        _apply(version, step)
        logger.info("database migrated to schema version %d", version)
        applied.append(version)
    return applied


def _apply(version: int, step: Callable[[], None]) -> None:
    """Run one step in a transaction; a step that rebuilds SQLite tables runs with foreign
    keys off (they cannot be switched inside a transaction) and checks them before commit."""
    keys_off = version in REBUILDS and not is_postgres()
    if keys_off:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            step()
            if keys_off and (broken := db.execute_sql("PRAGMA foreign_key_check").fetchall()):
                raise StorageError(f"schema step {version} broke foreign keys: {broken[:5]}")
            SchemaVersionRecord.create(version=version)
    finally:
        if keys_off:
            db.execute_sql("PRAGMA foreign_keys = ON")
