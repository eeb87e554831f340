"""Finding a chat by what a person calls it: how well a name matches, and narrowing a chat
query to the chats whose search key (storage/names.py) holds every word."""

from __future__ import annotations

import peewee

from storage import names
from storage.models import ChatRecord

#: How well a search matched: a whole name, a whole word of one, the start of a word, anywhere.
MATCH_EXACT, MATCH_WORD, MATCH_PREFIX, MATCH_PART = 0, 1, 2, 3


def match_rank(needle: str, name: str, key: str) -> int:
    """How well a folded needle matches a chat's shown name and search key."""
    shown = names.fold(name)
    parts = [p for p in key.split("|") if p]
    if needle == shown or needle in parts:
        return MATCH_EXACT
    ascii_digits = needle.isascii() and needle.isdigit()
    if ascii_digits and any(p.endswith(needle) for p in parts if p.isdigit()):
        return MATCH_WORD  # a number without its country code
    words = [w for p in [shown, *parts] for w in p.split()]
    if needle in words or any(p.startswith(needle + " ") for p in [shown, *parts]):
        return MATCH_WORD  # "sofia" of "sofia ramirez", "dr weber" of "dr weber praxis"
    if any(w.startswith(needle) for w in words):
        return MATCH_PREFIX
    return MATCH_PART


def narrow(
    query: peewee.ModelSelect[ChatRecord], search: str
) -> peewee.ModelSelect[ChatRecord] | None:
    """Narrow a chat query to the chats whose names or number contain ``search``; None when
    the search has nothing to look for."""
    found = names.needles(search)
    if not found:
        return None
    for needle in found:
        query = query.where(ChatRecord.search_names.contains(needle))
    return query
