"""The WhatsApp accounts under one bot: the repository (``PeeweeAccountRepository``) — list,
add, rename, choose the default, the own JID, per-account setting overrides, remove (with
everything of the account, by the schema's cascades).

A label is 1 to 20 letters, digits, spaces, ``_`` or ``-`` once stripped, kept lower-case and
unique; ``check_label`` is the one rule. Which rows belong to an account is storage/scope.py.
"""

from __future__ import annotations

import builtins
import json

from core.errors import InvalidInput, NotFound
from storage.db import db, in_thread
from storage.domain import AccountInfo
from storage.messages import forget_media_of, unreferenced
from storage.models import AccountRecord

#: The longest label, in characters as stored (lower-case).
LABEL_LIMIT = 20


def check_label(label: str) -> str:
    """Return ``label`` as stored (stripped, lower-case); raise ``InvalidInput`` saying why it
    cannot be one. The rule holds for the stored text (lower-casing may lengthen a name)."""
    text = label.strip().lower()
    if not 1 <= len(text) <= LABEL_LIMIT or not all(c.isalnum() or c in " _-" for c in text):
        raise InvalidInput(
            f"an account label is 1 to 20 letters, digits, spaces, '_' or '-' (got {label[:40]!r})"
        )
    return text


def _info(rec: AccountRecord) -> AccountInfo:
    settings = json.loads(rec.settings or "{}")
    return AccountInfo(
        id=int(rec.id),
        label=str(rec.label),
        own_jid=rec.own_jid,
        is_default=bool(rec.is_default),
        created_at=rec.created_at,
        settings=settings if isinstance(settings, dict) else {},
    )


def _record(account_id: int) -> AccountRecord:
    rec = AccountRecord.get_or_none(AccountRecord.id == account_id)
    if rec is None:
        raise NotFound(f"account {account_id} does not exist")
    return rec


def _free(label: str, account_id: int | None = None) -> str:
    """Check ``label`` and that no other account has it; return it as stored."""
    text = check_label(label)
    taken = AccountRecord.select().where(AccountRecord.label == text)
    if account_id is not None:
        taken = taken.where(AccountRecord.id != account_id)
    if taken.exists():
        raise InvalidInput(f"the account label {text!r} is already used")
    return text


class PeeweeAccountRepository:
    """The accounts table (global: every ``Storage`` shares it)."""

    @in_thread
    def list(self) -> list[AccountInfo]:
        """Every account, by id."""
        return [_info(r) for r in AccountRecord.select().order_by(AccountRecord.id)]

    @in_thread
    def get(self, account_id: int) -> AccountInfo | None:
        """The account with this id, or None."""
        rec = AccountRecord.get_or_none(AccountRecord.id == account_id)
        return _info(rec) if rec is not None else None

    @in_thread
    def by_label(self, label: str) -> AccountInfo | None:
        """The account with this label (any case, spaces around ignored), or None."""
        rec = AccountRecord.get_or_none(AccountRecord.label == label.strip().lower())
        return _info(rec) if rec is not None else None

    @in_thread
    def add(self, label: str) -> AccountInfo:
        """Add an account (not the default); ``InvalidInput`` for a bad or used label."""
        with db.atomic():
            rec = AccountRecord.create(label=_free(label), is_default=False, settings="{}")
        return _info(_record(rec.id))

    @in_thread
    def rename(self, account_id: int, label: str) -> AccountInfo:
        """Give an account another label (the same checks as ``add``)."""
        with db.atomic():
            _record(account_id)
            text = _free(label, account_id)
            AccountRecord.update(label=text).where(AccountRecord.id == account_id).execute()
            return _info(_record(account_id))

    @in_thread
    def set_default(self, account_id: int) -> AccountInfo:
        """Make this account the default (and no other)."""
        with db.atomic():
            _record(account_id)
            AccountRecord.update(is_default=AccountRecord.id == account_id).execute()
            return _info(_record(account_id))

    @in_thread
    def set_own_jid(self, account_id: int, jid: str | None) -> AccountInfo:
        """Record the account's own JID once paired (None once logged out)."""
        with db.atomic():
            _record(account_id)
            AccountRecord.update(own_jid=jid).where(AccountRecord.id == account_id).execute()
            return _info(_record(account_id))

    @in_thread
    def set_setting(self, account_id: int, key: str, value: object | None) -> AccountInfo:
        """Override one setting for this account (a JSON value); None removes the override."""
        with db.atomic():
            rec = _record(account_id)
            settings = json.loads(rec.settings or "{}")
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
            rec.settings = json.dumps(settings, ensure_ascii=False, sort_keys=True)
            rec.save(only=[AccountRecord.settings])
            return _info(rec)

    @in_thread
    def remove(self, account_id: int) -> builtins.list[str]:
        """Delete an account and everything of it (chats, messages, contacts, outbox items);
        refuses the last one. When it was the default, the lowest remaining id is. Returns
        the media files its messages had downloaded that no other account's message uses
        (no longer counted in the media budget), for the caller to delete."""
        with db.atomic():
            rec = _record(account_id)
            if AccountRecord.select().count() <= 1:
                raise InvalidInput("the last account cannot be removed")
            files = forget_media_of(account_id)
            AccountRecord.delete().where(AccountRecord.id == account_id).execute()
            if rec.is_default:
                first = AccountRecord.select().order_by(AccountRecord.id).first()
                AccountRecord.update(is_default=True).where(AccountRecord.id == first.id).execute()
            return unreferenced(files)
