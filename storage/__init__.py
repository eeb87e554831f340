"""Persistence: peewee models, migrations and repositories that return domain objects.

Peewee is imported only inside this package. Callers get a ``Storage`` bundle from
``open_storage`` and await repository methods (each runs on the database thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import peewee

from storage import db as _db
from storage.accounts import PeeweeAccountRepository
from storage.chats import PeeweeChatRepository
from storage.messages import PeeweeMessageRepository
from storage.migrations import LATEST_VERSION, migrate
from storage.models import MAIN_ACCOUNT
from storage.outbox import PeeweeTelegramOutbox, PeeweeWhatsAppOutbox
from storage.settings import (
    PeeweeDigestRepository,
    PeeweeDraftRepository,
    PeeweeSettingsRepository,
)
from storage.ticks import PeeweeTicks
from storage.wal import WalCheckpointer

logger = logging.getLogger(__name__)

__all__ = ["LATEST_VERSION", "Storage", "close_storage", "open_storage"]


@dataclass(frozen=True)
class Storage:
    """Every repository, bound to one database and to one WhatsApp account (``account_id``;
    None for the all-accounts view): storage/scope.py says what that means."""

    url: str
    chats: PeeweeChatRepository
    messages: PeeweeMessageRepository
    telegram_outbox: PeeweeTelegramOutbox
    whatsapp_outbox: PeeweeWhatsAppOutbox
    settings: PeeweeSettingsRepository
    digests: PeeweeDigestRepository
    drafts: PeeweeDraftRepository
    ticks: PeeweeTicks
    accounts: PeeweeAccountRepository
    account_id: int | None = MAIN_ACCOUNT

    @property
    def schema_version(self) -> int:
        """The schema version this code migrates the database to."""
        return LATEST_VERSION

    def for_account(self, account_id: int) -> Storage:
        """The same database seen as account ``account_id``: JID-keyed repositories read
        and write only its rows; the global ones are shared."""
        return _bundle(self.url, account_id)

    @property
    def all_accounts(self) -> Storage:
        """The all-accounts view: listings (chats, search, messages of a period) cover every
        account, or one given as ``account_id``; reads by id as anywhere; JID lookups and
        writes refuse (they need one account)."""
        return _bundle(self.url, None)


def _bundle(url: str, account_id: int | None) -> Storage:
    """The repositories of one account (or of all, None). They hold no state but the id."""
    return Storage(
        url=url,
        chats=PeeweeChatRepository(account_id),
        messages=PeeweeMessageRepository(account_id),
        telegram_outbox=PeeweeTelegramOutbox(),
        whatsapp_outbox=PeeweeWhatsAppOutbox(account_id),
        settings=PeeweeSettingsRepository(),
        digests=PeeweeDigestRepository(),
        drafts=PeeweeDraftRepository(),
        ticks=PeeweeTicks(account_id),
        accounts=PeeweeAccountRepository(),
        account_id=account_id,
    )


_checkpointer: WalCheckpointer | None = None


def _open_and_migrate(url: str) -> list[int]:
    global _checkpointer
    database = _db.make_database(url)
    _db.bind(database)
    if isinstance(database, peewee.SqliteDatabase):  # checkpoints leave the database thread
        database.pragma("wal_autocheckpoint", 0, permanent=True)
        _checkpointer = WalCheckpointer(database.database)
        _checkpointer.start()
    else:
        _warn_unless_durable(database)
    return migrate()


def _warn_unless_durable(database: peewee.Database) -> None:
    """Say so when the PostgreSQL server does not put commits on disk before answering:
    the event journal is emptied once its events are committed."""
    for name in ("fsync", "synchronous_commit"):
        run: Any = database.execute_sql  # untyped in peewee's stubs
        (value,) = run(f"SHOW {name}").fetchone()
        if value == "off":
            logger.warning(
                "PostgreSQL has %s=off: a committed message can be lost in a power cut "
                "or an operating-system crash (set it to on)",
                name,
            )


async def open_storage(url: str) -> Storage:
    """Open the database at ``url``, apply pending migrations, and return the repositories."""
    applied = await _db.run(_open_and_migrate, url)
    logger.info(
        "database ready (%s, schema %d, %d step(s) applied)",
        _db.describe_url(url),
        LATEST_VERSION,
        len(applied),
    )
    return _bundle(url, MAIN_ACCOUNT)


def _close() -> None:
    if _db.db.obj is not None and not _db.db.is_closed():
        _db.db.close()
    if _db.db.obj is not None and hasattr(_db.db.obj, "close_all"):
        _db.db.obj.close_all()


async def close_storage() -> None:
    """Stop the checkpointer, close the connection and stop the database thread."""
    global _checkpointer
    if _checkpointer is not None:
        _checkpointer.stop()
        _checkpointer = None
    if _db._executor is not None:
        await _db.run(_close)
    _db.shutdown_executor()
