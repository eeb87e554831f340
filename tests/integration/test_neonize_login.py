"""A new login after the QR window ended unused, with the real neonize client: only the Go
functions Neonize (the login/connect call) and Stop are replaced at the ctypes boundary.

The fake Neonize behaves as goneonize does with no phone scanning: it hands each QR code to
neonize's own QR callback, then — its QR channel timed out — waits in FetchMe for a login
that never comes, ignoring Stop. "New QR" must still give a fresh login with new codes."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from neonize.aioze import client as neonize_client
from neonize.events import EVENT_TO_INT

from bot.lifecycle import join_workers
from core.errors import GatewayError
from core.events import MessageReceived, QrIssued, QrWindowEnded
from core.ids import ConnectionState
from tests.fakes.clock import FakeClock
from tests.support import wait_until
from whatsapp import connection as gateway_module
from whatsapp import neonize_login, protos_messages
from whatsapp.neonize_backend import NeonizeGateway
from whatsapp.neonize_login import MAX_FRESH_LOGINS
from whatsapp.session import session_store


class FakeGo:
    """Neonize() logins: each emits its codes, then blocks like FetchMe after a timeout."""

    def __init__(self) -> None:
        self.logins = 0
        self.stops: list[bytes] = []
        self.parked = threading.Event()  # FetchMe's wait: Stop does not end it
        self.lock = threading.Lock()
        self.threads: set[int] = set()

    def Neonize(self, _name: bytes, uuid: bytes, *args: Any) -> bytes:
        qr_cb = args[4]
        with self.lock:
            self.logins += 1
            login = self.logins
        self.threads.add(threading.get_ident())
        for n in (1, 2):
            code = ctypes.create_string_buffer(f"2@LOGIN{login}CODE{n},a2V5,aWQ=,c2Vj".encode())
            qr_cb(0, ctypes.addressof(code))
        self.parked.wait(timeout=60)  # what goneonize's FetchMe does for good
        return b""

    def Stop(self, uuid: bytes) -> None:
        self.stops.append(uuid)


@pytest.fixture
async def live(tmp_path: Path, monkeypatch):
    go = FakeGo()
    monkeypatch.setattr(neonize_client.gocode, "Neonize", go.Neonize, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "Stop", go.Stop, raising=False)
    clock = FakeClock()
    gateway = NeonizeGateway(tmp_path, str(tmp_path / "whatsapp" / "session.db"), clock)
    events: list[Any] = []

    async def record(event: Any) -> None:
        events.append(event)

    gateway.subscribe(record)
    await gateway.start()
    yield gateway, go, clock, events
    go.parked.set()  # let the parked Go calls end, so no hard exit is armed
    await wait_until(lambda: all(t.done() for t in gateway.parked))
    await gateway.stop()


def codes(events: list[Any]) -> list[str]:
    return [e.code.split(",")[0] for e in events if isinstance(e, QrIssued)]


async def test_new_qr_after_the_window_ended_starts_a_fresh_login(live) -> None:
    gateway, go, clock, events = live
    await wait_until(lambda: len(codes(events)) == 2)
    assert codes(events) == ["2@LOGIN1CODE1", "2@LOGIN1CODE2"]
    assert gateway.state == ConnectionState.WAITING_FOR_QR

    await clock.advance(gateway_module.QR_WINDOW_SECONDS + 1)  # nobody scanned
    await wait_until(lambda: any(isinstance(e, QrWindowEnded) for e in events))
    assert gateway.login_expired

    await gateway.request_login()  # the "New QR" button
    await wait_until(lambda: len(codes(events)) == 4)
    assert codes(events)[2:] == ["2@LOGIN2CODE1", "2@LOGIN2CODE2"]
    # (Other stops may be recorded: clients of earlier tests stop themselves when collected.)
    assert go.logins == 2 and go.stops.count(gateway.client.uuid) == 1
    fresh = [e for e in events if isinstance(e, QrIssued)][2]
    assert fresh.index == 0 and fresh.window_ends_at > clock.now()  # a new window
    assert gateway.state == ConnectionState.WAITING_FOR_QR and not gateway.login_expired
    assert len(gateway.parked) == 1 and not gateway.parked[0].done()

    # The new window ends unused too: another fresh login, with its own codes.
    await clock.advance(gateway_module.QR_WINDOW_SECONDS + 1)
    await wait_until(lambda: sum(isinstance(e, QrWindowEnded) for e in events) == 2)
    await gateway.request_login()
    await wait_until(lambda: len(codes(events)) == 6)
    assert codes(events)[4:] == ["2@LOGIN3CODE1", "2@LOGIN3CODE2"]


async def test_fresh_logins_are_bounded_then_a_restart_is_asked_for(live) -> None:
    gateway, go, clock, events = live
    for round_ in range(1, MAX_FRESH_LOGINS + 1):
        await wait_until(lambda r=round_: len(codes(events)) == 2 * r)
        await clock.advance(gateway_module.QR_WINDOW_SECONDS + 1)
        await wait_until(lambda r=round_: sum(isinstance(e, QrWindowEnded) for e in events) == r)
        await gateway.request_login()
    await wait_until(lambda: len(codes(events)) == 2 * (MAX_FRESH_LOGINS + 1))
    await clock.advance(gateway_module.QR_WINDOW_SECONDS + 1)
    await wait_until(
        lambda: sum(isinstance(e, QrWindowEnded) for e in events) == MAX_FRESH_LOGINS + 1
    )
    with pytest.raises(GatewayError, match="restart wa-secretary"):
        await gateway.request_login()
    assert go.logins == MAX_FRESH_LOGINS + 1


# ------------------------------------------------- a session stuck in Go at stop (several accounts)


async def started(go: FakeGo, gateway: NeonizeGateway, events: list[Any]) -> None:
    async def record(event: Any) -> None:
        events.append(event)

    gateway.subscribe(record)
    await gateway.start()
    await wait_until(lambda: len(codes(events)) == 2, what="the login codes")


async def deliver(gateway: NeonizeGateway, wa_id: str) -> None:
    """Go's callback thread hands a message to the gateway's client."""
    jid = "15550000002@s.whatsapp.net"
    ev = protos_messages.message_event(
        protos_messages.content({"text": "hi"}), jid, jid, mid=wa_id
    )
    data = ev.SerializeToString()
    buf = ctypes.create_string_buffer(data, len(data))
    execute = gateway.client.event.execute
    await asyncio.to_thread(execute, 0, ctypes.addressof(buf), len(data), EVENT_TO_INT[type(ev)])


@pytest.fixture
def go_stuck(monkeypatch):
    go = FakeGo()
    monkeypatch.setattr(neonize_client.gocode, "Neonize", go.Neonize, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "Stop", go.Stop, raising=False)
    exits: list[int] = []
    monkeypatch.setattr(os, "_exit", exits.append)  # whoever would end the process
    monkeypatch.setattr(neonize_login, "STOP_WAIT", 0.05)  # the call will not end anyway
    yield go, exits
    go.parked.set()


async def test_an_added_account_stuck_in_go_stops_alone(go_stuck, tmp_path: Path, caplog) -> None:
    go, exits = go_stuck
    one = NeonizeGateway(tmp_path, session_store(tmp_path, None, 1))
    two = NeonizeGateway(tmp_path, session_store(tmp_path, None, 2), account_id=2)
    heard: list[Any] = []
    await started(go, one, heard)
    await started(go, two, [])
    try:
        await two.stop()  # its login waits in Go for good (FetchMe): it cannot end
        assert two.stuck == 1 and exits == []
        assert "WhatsApp account 2 stopped, but 1 neonize call(s) are stuck" in caplog.text
        await deliver(one, "3EB0AFTER")  # account 1's session runs on
        await one.drain()
        assert [e.message.id for e in heard if isinstance(e, MessageReceived)] == ["3EB0AFTER"]
        assert one.stuck == 0 and exits == []
    finally:
        go.parked.set()
        await wait_until(lambda: two.stuck == 0, what="the parked call released")
        await one.stop()


async def test_the_process_end_exits_hard_over_a_stuck_session(go_stuck, tmp_path: Path) -> None:
    go, exits = go_stuck
    workers = ThreadPoolExecutor(4, thread_name_prefix="test-worker")  # as app.run makes
    asyncio.get_running_loop().set_default_executor(workers)
    two = NeonizeGateway(tmp_path, session_store(tmp_path, None, 2), account_id=2)
    await started(go, two, [])
    await two.stop()  # removed, say: the account is gone, its thread is not
    assert two.stuck == 1
    assert not await join_workers(workers, 0, timeout=0.2, hard_exit=exits.append)
    assert exits == [1]
    go.parked.set()
    await wait_until(lambda: two.stuck == 0, what="the parked call released")


async def test_the_process_end_waits_for_workers_that_end() -> None:
    workers = ThreadPoolExecutor(2)
    workers.submit(lambda: None).result()
    exits: list[int] = []
    assert await join_workers(workers, 3, timeout=10, hard_exit=exits.append)
    assert exits == []
