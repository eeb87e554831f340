"""The shared state machine, QR timer, backoff and watchdog, with a controllable clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.events import ConnectionChanged, QrIssued, QrWindowEnded
from core.ids import ConnectionState
from core.tasks import backoff_delay
from tests.fakes.clock import FakeClock
from tests.fakes.recorder import Recorder
from whatsapp import connection as gw
from whatsapp.simulator import SimulatedGateway


@pytest.fixture
async def sim(tmp_path: Path):
    clock = FakeClock()
    g = SimulatedGateway(tmp_path, None, clock)
    rec = Recorder()
    g.subscribe(rec)
    await g.start()
    yield g, rec, clock
    await g.stop()


def test_backoff_doubles_is_capped_and_jittered() -> None:
    mid = [backoff_delay(n, rnd=lambda: 0.5) for n in range(1, 12)]
    assert mid[:5] == [1, 2, 4, 8, 16] and mid[-1] == 300
    assert backoff_delay(3, rnd=lambda: 0.0) == pytest.approx(3.2)
    assert backoff_delay(3, rnd=lambda: 1.0) == pytest.approx(4.8)


async def test_qr_refreshes_and_window_ends_without_scan(sim) -> None:
    g, rec, clock = sim
    await g.play({"event": "qr", "codes": ["2@A", "2@B"]})
    await g.drain()
    qrs = [e for e in rec.events if isinstance(e, QrIssued)]
    assert [(q.code, q.index, q.valid_for) for q in qrs] == [("2@A", 0, 60.0), ("2@B", 1, 20.0)]
    assert g.state == ConnectionState.WAITING_FOR_QR
    await clock.advance(gw.QR_WINDOW_SECONDS - 1)
    assert not any(isinstance(e, QrWindowEnded) for e in rec.events)
    await clock.advance(2)
    assert any(isinstance(e, QrWindowEnded) for e in rec.events)


async def test_scan_in_time_cancels_the_qr_timer(sim) -> None:
    g, rec, clock = sim
    await g.play({"event": "qr", "codes": ["2@A"]})
    await g.play({"event": "connected", "jid": "15550001111@s.whatsapp.net"})
    await g.drain()
    await clock.advance(gw.QR_WINDOW_SECONDS + 5)
    assert not any(isinstance(e, QrWindowEnded) for e in rec.events)
    assert g.state == ConnectionState.CONNECTED and g.own_jid == "15550001111@s.whatsapp.net"


@pytest.mark.parametrize(
    ("event", "state", "words"),
    [
        ("logged_out", ConnectionState.LOGGED_OUT, "/login"),
        ("stream_replaced", ConnectionState.REPLACED, "Another device"),
        ("client_outdated", ConnectionState.OUTDATED, "Upgrade"),
    ],
)
async def test_terminal_states_have_reasons_and_no_reconnect(sim, event, state, words) -> None:
    g, rec, _ = sim
    await g.play({"event": "connected", "jid": "15550001111@s.whatsapp.net"})
    await g.play({"event": event})
    await g.play({"event": "disconnected"})  # must not start reconnecting
    await g.drain()
    assert g.state == state
    assert rec.states()[-1] == state
    last = [e for e in rec.events if isinstance(e, ConnectionChanged)][-1]
    assert words in last.reason


async def test_disconnect_reconnects_and_counts(sim) -> None:
    g, rec, _ = sim
    for ev in ("connected", "disconnected", "connected"):
        await g.play(
            {"event": ev, "jid": "1@s.whatsapp.net"} if ev == "connected" else {"event": ev}
        )
    await g.drain()
    assert rec.states()[-3:] == [
        ConnectionState.CONNECTED,
        ConnectionState.RECONNECTING,
        ConnectionState.CONNECTED,
    ]
    assert g.reconnects == 1


async def test_watchdog_reconnects_a_silent_session(tmp_path: Path) -> None:
    clock = FakeClock()
    calls: list[str] = []

    class Silent(SimulatedGateway):
        async def _probe(self) -> bool:
            calls.append("probe")
            return False

        async def _force_reconnect(self) -> None:
            calls.append("reconnect")

    g = Silent(tmp_path, None, clock)
    await g.start()
    await g.play({"event": "connected", "jid": "1@s.whatsapp.net"})
    await g.drain()
    assert await g.check_liveness()  # just had an event
    await clock.advance(gw.WATCHDOG_IDLE_SECONDS + 1)
    assert g.state == ConnectionState.RECONNECTING and calls == ["probe", "reconnect"]
    await g.stop()


async def test_bad_feed_lines_are_skipped_not_fatal(sim, caplog) -> None:
    g, _rec, _ = sim
    for line in [
        "not json",
        "[1]",
        '{"event": "nope"}',
        '{"event": "message", "chat": 5}',
        '{"event": "qr", "codes": "x"}',
        '{"event":"message","id":"1","chat":"a@s.whatsapp.net",'
        '"sender":"a@s.whatsapp.net","text":"ok","kind":"hologram"}',
    ]:
        await g.play_line(line, 1)
    await g.play_line('{"event": "connected", "jid": "1@s.whatsapp.net", "extra": 1}', 2)
    await g.drain()
    assert g.state == ConnectionState.CONNECTED
    assert sum("skipped" in r.message for r in caplog.records) == 6
