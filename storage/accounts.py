"""The WhatsApp accounts under one bot: the repository (``PeeweeAccountRepository``) — list,
add, rename, choose the default, the own JID, per-account setting overrides, remove (with
everything of the account, by the schema's cascades).

A label is 1 to 20 letters of one script, digits, spaces, ``_`` or ``-``, kept in its
``core.labels.label_key`` form (NFKC, case-folded) and found by that key; a new or renamed
label must not look like another account's (``core.labels.skeleton``). ``check_label`` is
the one rule. Labels stored before this rule are kept as they are. Which rows belong to an
account is storage/scope.py.
"""

from __future__ import annotations

import builtins
import json
import unicodedata
from collections.abc import Iterable

import peewee

from core.errors import InvalidInput, NotFound
from core.labels import COMMAND_WORDS, invisible, label_key, mixed, script, skeleton
from storage.db import db, in_thread
from storage.domain import AccountInfo
from storage.messages import forget_media_of, unreferenced
from storage.models import AccountRecord
from storage.rows import read_setting, write_setting

#: The highest account id ever removed (ids are never given twice).
IDS_USED_KEY = "account_ids_used"
#: The longest label, in characters as stored (normalised).
LABEL_LIMIT = 20
#: At most this many marks on one letter (vowel signs, points): more is a stack that hides
#: what the letter is.
MARKS_PER_LETTER = 3
#: The words /pair reads as the phone number: a label with such a word could not be named.
PHONE_CHARS = "+-().0123456789"


def check_label(label: str, taken: Iterable[str] = ()) -> str:
    """Return ``label`` as stored (``label_key``); raise ``InvalidInput`` saying why it
    cannot be one: too short or long, an invisible or other character than letters, digits,
    spaces, '_' and '-', letters of more than one script, a mark on no letter of its script,
    a first word a command reads instead (``COMMAND_WORDS``), a word /pair reads as the
    number, or the same as or looking like one of ``taken`` (the other accounts' labels)."""
    shown = label.strip()[:40]
    both = label + unicodedata.normalize("NFKC", label)  # a filler may only show once normal
    hidden = next((c for c in both if c != " " and invisible(c)), None)
    if hidden is not None:
        raise InvalidInput(
            f"“{shown}” holds an invisible or control character (U+{ord(hidden):04X}); "
            "type the label again without it"
        )
    text = label_key(label)
    if not 1 <= len(text) <= LABEL_LIMIT or not all(_allowed(c) for c in text):
        raise InvalidInput(
            f"an account label is 1 to 20 letters, digits, spaces, '_' or '-' (got “{shown}”)"
        )
    _check_letters(text, shown)
    for other in taken:
        if label_key(other) == text:
            raise InvalidInput(f"the account label “{text}” is already used")
        if skeleton(label_key(other)) == skeleton(text):
            raise InvalidInput(f"“{shown}” looks like the account “{other}”; choose another label")
    scripts = {s for c in text if (s := script(c)) is not None and not _mark(c)}
    if mixed(scripts):
        names = " and ".join(sorted(scripts))
        raise InvalidInput(
            f"“{shown}” mixes {names} letters; use the letters of one script "
            "(digits, spaces, '_' and '-' go with any)"
        )
    _check_words(text)
    return text


def _allowed(c: str) -> bool:
    return c in " _-" or unicodedata.category(c)[0] in "LM" or unicodedata.category(c) == "Nd"


def _mark(c: str) -> bool:
    return unicodedata.category(c)[0] == "M"


def _check_letters(text: str, shown: str) -> None:
    """A letter in the label; each mark on a letter of its own script, a few at most; no
    modifier letter (it looks like punctuation)."""
    if not any(unicodedata.category(c)[0] == "L" for c in text):
        raise InvalidInput(f"an account label needs a letter (got “{shown}”)")
    base = " "  # no letter yet
    marks = 0
    for c in text:
        if not _mark(c):
            base, marks = c, 0
            if script(c) == "Modifier":
                raise InvalidInput(
                    f"“{shown}” holds a modifier letter (U+{ord(c):04X}) that looks like "
                    "punctuation; use letters, digits, spaces, '_' or '-'"
                )
            continue
        marks += 1
        on_letter = unicodedata.category(base)[0] == "L"
        if not on_letter or script(c) != script(base) or marks > MARKS_PER_LETTER:
            raise InvalidInput(
                f"“{shown}” has a combining mark (U+{ord(c):04X}) that is not part of a "
                "letter; type the letter itself"
            )


def _check_words(text: str) -> None:
    """Refuse a label a command would read as something else."""
    words = text.split(" ")
    if words[0] in COMMAND_WORDS:
        raise InvalidInput(
            f"an account label cannot start with “{words[0]}”: commands read that word "
            "before a label (e.g. /digest last, /settings threshold 5); choose another label"
        )
    number = next((w for w in words if not w.strip(PHONE_CHARS)), None)
    if number is not None:
        raise InvalidInput(
            f"an account label cannot have the word “{number}”: /pair would read it as the "
            f"phone number; join it to a word (e.g. work-{number}) or choose another label"
        )


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
    """Check ``label`` against the rule and every other account's label; return it as
    stored."""
    others = AccountRecord.select(AccountRecord.label)
    if account_id is not None:
        others = others.where(AccountRecord.id != account_id)
    return check_label(label, [str(r.label) for r in others])


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
        """The account whose label has the same ``label_key`` (any case, width or spacing),
        or None."""
        wanted = label_key(label)
        found = (r for r in AccountRecord.select() if label_key(str(r.label)) == wanted)
        rec = next(found, None)
        return _info(rec) if rec is not None else None

    @in_thread
    def add(self, label: str) -> AccountInfo:
        """Add an account (not the default); ``InvalidInput`` for a bad or used label. Its id
        was never any account's: buttons and prompts of a removed account carry its id, and
        SQLite would give the highest id again (PostgreSQL's sequence does not)."""
        with db.atomic():
            text = _free(label)
            top = AccountRecord.select(peewee.fn.MAX(AccountRecord.id)).scalar() or 0
            used = int(read_setting(IDS_USED_KEY) or 0)
            rec = AccountRecord.create(
                id=max(top, used) + 1, label=text, is_default=False, settings="{}"
            )
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
            write_setting(IDS_USED_KEY, max(account_id, int(read_setting(IDS_USED_KEY) or 0)))
            AccountRecord.delete().where(AccountRecord.id == account_id).execute()
            if rec.is_default:
                first = AccountRecord.select().order_by(AccountRecord.id).first()
                AccountRecord.update(is_default=True).where(AccountRecord.id == first.id).execute()
            return unreferenced(files)
