"""Hostile strings reach the store and are kept, on SQLite and PostgreSQL alike: NUL
characters, lone surrogates, ids and names longer than their columns, huge texts. A message
the database still refuses is stored as a placeholder and counted; none is left out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.events import MediaInfo, WaMessage
from core.ids import ChatJid, MessageKind, WaMessageId
from storage import Storage, clean, ingest, message_rows
from storage import db as storage_db
from storage.clean import ID_LIMIT
from storage.ingest import UNSTORABLE_KEY

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
EXAMPLE = itertools.count()
HOSTILE = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=300
) | st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 70_000, "💥" * 200, ""])
IDS = st.text(max_size=400) | st.sampled_from(["3EB0\x00NUL", "\udfff", "i" * 129])


def hostile_message(n: int, wa_id: str, text: str, name: str, quoted: str) -> WaMessage:
    chat = ChatJid(f"1555{n % 5:07d}@s.whatsapp.net")
    return WaMessage(
        id=WaMessageId(wa_id or f"empty-{n}"),
        chat=chat,
        sender=chat,
        timestamp=T0,
        text=text,
        caption=text[:50],
        push_name=name,
        quoted_id=WaMessageId(quoted) if quoted else None,
        mentions=(quoted,) if quoted else (),
        media=MediaInfo(mimetype=name, file_name=name, size=len(text)),
        kind=MessageKind.DOCUMENT if n % 3 == 0 else MessageKind.TEXT,
        group_name=name,
    )


BATCHES = st.lists(st.tuples(IDS, HOSTILE, HOSTILE, IDS), min_size=1, max_size=12)
CASES = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def check_stored(storage: Storage, batch) -> None:
    before = await storage.messages.count()
    run = next(EXAMPLE)  # the database lives across examples: ids unique per example
    msgs = [
        hostile_message(n, f"{run}-{n}-{w}", t, name, q) for n, (w, t, name, q) in enumerate(batch)
    ]
    stored = await storage.messages.store(msgs)
    assert len(stored) == len(msgs)  # each has its own id: none dropped, none merged
    assert await storage.messages.count() == before + len(msgs)
    for original, kept in zip(msgs, stored, strict=True):
        assert kept.text == clean.text(original.text)  # everything but NUL kept, up to the max
        assert len(kept.wa_id) <= ID_LIMIT
    assert await storage.messages.store(msgs) == []  # a replay stores nothing twice


@settings(CASES, max_examples=60)
@given(batch=BATCHES)
async def test_every_hostile_message_is_stored(storage: Storage, batch) -> None:
    await check_stored(storage, batch)


@pytest.mark.slow
@settings(CASES, max_examples=10_000)
@given(batch=BATCHES)
async def test_every_hostile_message_is_stored_fuzz(storage: Storage, batch) -> None:
    await check_stored(storage, batch)


async def test_a_refused_message_becomes_a_counted_placeholder(
    storage: Storage, monkeypatch
) -> None:
    real_row = message_rows.message_row

    def poisoned(msg, chat_id, history, score):  # type: ignore[no-untyped-def]
        row = real_row(msg, chat_id, history, score)
        if msg.id == "BAD" and msg.kind != MessageKind.OTHER:
            return (*row[:4], None, *row[5:])  # kind NULL: every backend refuses it
        return row

    monkeypatch.setattr(message_rows, "message_row", poisoned)
    msgs = [hostile_message(n, "BAD" if n == 7 else f"OK{n}", "hi", "A", "") for n in range(20)]
    stored = await storage.messages.store(msgs)
    assert len(stored) == 20
    assert await storage.messages.count() == 20
    [placeholder] = [m for m in stored if m.wa_id == "BAD"]
    assert placeholder.kind == MessageKind.OTHER and "could not be stored" in placeholder.text
    assert await storage.settings.get(UNSTORABLE_KEY) == 1


async def test_a_locked_database_is_not_a_refusal(storage: Storage, monkeypatch) -> None:
    def locked(*_a, **_k):  # type: ignore[no-untyped-def]
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(ingest, "store_chunk", locked)
    with pytest.raises(storage_db.StorageError):
        await storage.messages.store([hostile_message(1, "L1", "hi", "A", "")])
    assert await storage.settings.get(UNSTORABLE_KEY) is None
