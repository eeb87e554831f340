"""The gateway's ordered event queue: a history backlog waits compact, the journal's leftovers
are replayed in order (an unreadable record is skipped), freed memory goes back afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.clock import FakeClock
from tests.fakes.recorder import Recorder
from whatsapp import inbox
from whatsapp.journal import EventJournal
from whatsapp.simulator import SimulatedGateway

CHAT = "15550000002@s.whatsapp.net"


def item(wa_id: str, text: str = "old") -> dict:
    return {"id": wa_id, "chat": CHAT, "sender": CHAT, "text": text, "timestamp": 1_700_000_000}


@pytest.fixture
def journaled(tmp_path: Path) -> tuple[SimulatedGateway, Recorder]:
    # Not durable: play() then returns without waiting for the disk, so the events queue up
    # faster than they are handled, as a burst from WhatsApp does.
    journal = EventJournal(tmp_path / "journal", durable=False)
    g = SimulatedGateway(tmp_path, None, FakeClock(), journal=journal)
    rec = Recorder()
    g.subscribe(rec)
    return g, rec


async def test_history_chunks_waiting_in_line_are_held_serialized(journaled) -> None:
    g, rec = journaled
    await g.start()
    for n in range(3):  # they arrive faster than they are stored (no await lets it run)
        await g.play({"event": "history_sync", "messages": [item(f"H{n}")]})
    await g.play({"event": "message", **item("L1", "live")})
    waiting = [raw for _, raw, _ in g.inbox._queue._queue]  # type: ignore[attr-defined]
    # The first is handled at once and stays parsed; the rest wait as bytes (~15× smaller).
    assert [isinstance(raw, bytes) for raw in waiting] == [False, True, True, False]
    await g.drain()
    assert rec.handled() == ["H0", "H1", "H2", "L1"]
    await g.stop()


async def test_journal_replay_is_in_order_and_skips_an_unreadable_record(tmp_path: Path) -> None:
    first = SimulatedGateway(tmp_path, None, journal=EventJournal(tmp_path / "j"))
    await first.play({"event": "message", **item("A", "first")})
    await first.play({"event": "history_sync", "messages": [item("B")]})
    first.journal.append("message", b"\xff\xfe not a protobuf")  # type: ignore[union-attr]
    await first.play({"event": "message", **item("C", "last")})
    first.journal.close()  # type: ignore[union-attr]  # killed before handling any of them

    again = SimulatedGateway(tmp_path, None, journal=EventJournal(tmp_path / "j"))
    rec = Recorder()
    again.subscribe(rec)
    await again.start()
    await again.drain()
    assert rec.handled() == ["A", "B", "C"]
    assert list(again.journal.pending()) == []  # type: ignore[union-attr]  # all checkpointed
    await again.stop()


async def test_memory_is_handed_back_once_a_history_burst_is_handled(
    journaled, monkeypatch
) -> None:
    g, rec = journaled
    handled_before_trim: list[list[str]] = []
    monkeypatch.setattr(
        inbox, "release_freed_memory", lambda: handled_before_trim.append(rec.handled())
    )
    await g.start()
    for n in range(3):
        await g.play({"event": "history_sync", "messages": [item(f"H{n}")]})
    await g.play({"event": "message", **item("L1", "live")})
    await g.drain()
    await g.play({"event": "message", **item("L2", "live again")})
    await g.drain()
    # once, after the three batches and the message queued behind them
    assert handled_before_trim == [["H0", "H1", "H2", "L1"]]
    await g.stop()
