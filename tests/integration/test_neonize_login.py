"""A new login after the QR window ended unused, with the real neonize client: only the Go
functions Neonize (the login/connect call) and Stop are replaced at the ctypes boundary.

The fake Neonize behaves as goneonize does with no phone scanning: it hands each QR code to
neonize's own QR callback, then — its QR channel timed out — waits in FetchMe for a login
that never comes, ignoring Stop. "New QR" must still give a fresh login with new codes."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

import pytest
from neonize.aioze import client as neonize_client

from core.errors import GatewayError
from core.events import QrIssued, QrWindowEnded
from core.ids import ConnectionState
from tests.fakes.clock import FakeClock
from tests.support import wait_until
from whatsapp import connection as gateway_module
from whatsapp.neonize_backend import NeonizeGateway
from whatsapp.neonize_login import MAX_FRESH_LOGINS


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
