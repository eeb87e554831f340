"""The transport contract, the same for both backends: the simulator (fed its JSON-lines
feed) and the real neonize client with only the Go functions replaced at the ctypes
boundary (the login call, Stop, SendMessage and the address-book reads), whose events are
dispatched on a separate thread as Go's callback does — so "acknowledged" is the moment
Go's call into neonize returns."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from neonize.aioze import client as neonize_client
from neonize.events import EVENT_TO_INT
from neonize.proto import Neonize_pb2 as N

from core.errors import NotConnected
from core.events import ConnectionChanged, MessageReceived, OutgoingMessage
from core.ids import ConnectionState
from tests.fakes.recorder import Recorder
from tests.support import wait_until
from whatsapp import protos, protos_messages
from whatsapp.gateway import GatewayBase
from whatsapp.journal import EventJournal
from whatsapp.neonize_backend import NeonizeGateway
from whatsapp.session import session_store
from whatsapp.simulator import SimulatedGateway

ALICE = "15550000002@s.whatsapp.net"
ME = "15550001111@s.whatsapp.net"
TIMINGS = N.MessageDebugTimings(**{f.name: 0 for f in N.MessageDebugTimings.DESCRIPTOR.fields})


@dataclass(frozen=True)
class Ev:
    """One event as the session reports it: its simulator feed line (None: the feed has
    no such line, the simulator takes the protobuf as it does for its feed's events) and
    the neonize protobuf."""

    name: str
    proto: Any
    feed: dict[str, Any] | None


def message(wa_id: str, text: str = "hello") -> Ev:
    feed = {"event": "message", "id": wa_id, "chat": ALICE, "sender": ALICE, "text": text}
    proto = protos_messages.message_event(
        protos_messages.content({"text": text}), ALICE, ALICE, mid=wa_id
    )
    return Ev("message", proto, feed)


def simple(name: str, **feed: Any) -> Ev:
    return Ev(name, protos.simple(name), {"event": name, **feed})


CONNECTED = simple("connected", jid=ME)


class FakeGo:
    """The Go library: a login that waits until Stop of its client, a send that succeeds,
    an empty store."""

    def __init__(self) -> None:
        self.logins = 0
        self.sent = 0
        self.running: set[bytes] = set()  # the uuids (Go's client keys) logged in
        self.stopped: dict[bytes, threading.Event] = defaultdict(threading.Event)

    def Neonize(self, _name: bytes, uuid: bytes, *_args: Any) -> bytes:
        self.logins += 1
        self.running.add(uuid)
        self.stopped[uuid].wait(timeout=30)  # connected until stopped
        return b""

    def Stop(self, uuid: bytes) -> None:
        self.stopped[uuid].set()

    def SendMessage(self, *_args: Any) -> bytes:
        self.sent += 1
        response = N.SendResponse(
            Timestamp=1_767_225_600, ID=f"3EB0SENT{self.sent}", ServerID=0, DebugTimings=TIMINGS
        )
        return N.SendMessageReturnFunction(SendResponse=response).SerializeToString()

    def GetAllContacts(self, _uuid: bytes) -> bytes:
        return N.ContactsGetAllContactsReturnFunction().SerializeToString()

    def GetJoinedGroups(self, _uuid: bytes) -> bytes:
        return N.GetJoinedGroupsReturnFunction().SerializeToString()


@dataclass
class Session:
    """A started gateway of one backend and how its session reports an event."""

    gateway: GatewayBase
    deliver: Callable[[Ev], Awaitable[None]]
    #: True once the session runs (the neonize login call is under way).
    running: Callable[[], bool]

    async def start(self) -> None:
        """Start the gateway and wait until its session runs."""
        await self.gateway.start()
        await wait_until(self.running, what="the session running")


#: Makes a session: its journal, and which linked account it is (1 the first).
Backend = Callable[..., Awaitable[Session]]
LABELS = {1: "main", 2: "work"}


async def _simulator(tmp_path: Path) -> AsyncIterator[Backend]:
    started: list[GatewayBase] = []

    async def make(journal: EventJournal | None, account: int = 1) -> Session:
        gateway = SimulatedGateway(
            tmp_path, None, journal=journal, account_label=LABELS[account], first=account == 1
        )

        async def deliver(ev: Ev) -> None:
            if ev.feed is not None:  # the first account's lines name no account
                await gateway.play(ev.feed if account == 1 else {**ev.feed, "account": "work"})
            else:
                await gateway.receive(ev.name, protos.roundtrip(ev.proto))

        started.append(gateway)
        return Session(gateway, deliver, lambda: True)

    yield make
    for gateway in started:
        await gateway.stop()


async def _neonize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backend]:
    go = FakeGo()
    for name in ("Neonize", "Stop", "SendMessage", "GetAllContacts", "GetJoinedGroups"):
        monkeypatch.setattr(neonize_client.gocode, name, getattr(go, name), raising=False)
    started: list[GatewayBase] = []

    async def make(journal: EventJournal | None, account: int = 1) -> Session:
        store = str(tmp_path / "session.db") if account == 1 else session_store(tmp_path, None, 2)
        gateway = NeonizeGateway(tmp_path, store, journal=journal, account_id=account)

        async def deliver(ev: Ev) -> None:
            assert gateway.client is not None
            data = ev.proto.SerializeToString()
            buf = ctypes.create_string_buffer(data, len(data))
            code = EVENT_TO_INT[type(ev.proto)]
            execute = gateway.client.event.execute
            # Go's callback thread: it returns (and WhatsApp gets the ack) when this does.
            await asyncio.to_thread(execute, 0, ctypes.addressof(buf), len(data), code)

        started.append(gateway)

        def running() -> bool:
            return gateway.client is not None and gateway.client.uuid in go.running

        return Session(gateway, deliver, running)

    yield make
    for gateway in started:
        await gateway.stop()
    for stopped in go.stopped.values():
        stopped.set()


@pytest.fixture(params=["simulator", "neonize"])
async def backend(request, tmp_path: Path, monkeypatch) -> AsyncIterator[Backend]:
    if request.param == "simulator":
        async for make in _simulator(tmp_path):
            yield make
    else:
        async for make in _neonize(tmp_path, monkeypatch):
            yield make


async def started(
    backend: Backend, journal: EventJournal | None = None, account: int = 1
) -> Session:
    session = await backend(journal, account)
    await session.start()
    return session


async def test_a_message_is_on_disk_before_it_is_acknowledged_and_heard_once(
    backend: Backend, tmp_path: Path
) -> None:
    synced: list[int] = []

    def fsync(fd: int) -> None:
        os.fsync(fd)
        synced.append(journal.end)

    journal = EventJournal(tmp_path / "journal", fsync=fsync)
    session = await started(backend, journal)
    gate = asyncio.Event()
    heard = Recorder()

    async def slow(event: object) -> None:  # storing has not finished yet ...
        if isinstance(event, MessageReceived):
            await gate.wait()
        await heard(event)

    session.gateway.subscribe(slow)
    await session.deliver(message("3EB0DURABLE"))
    # ... yet the event is acknowledged, and then its record is on disk
    assert [name for name, _, _ in journal.pending()] == ["message"]
    assert synced and synced[-1] >= journal.end
    gate.set()
    await session.gateway.drain()
    assert heard.handled() == ["3EB0DURABLE"]
    assert list(journal.pending()) == []  # handled: it is not replayed at the next start


async def test_a_failing_subscriber_or_handler_does_not_stop_the_next_event(
    backend: Backend,
) -> None:
    session = await started(backend)
    failures: list[str] = []

    async def broken(event: object) -> None:
        if isinstance(event, MessageReceived) and not failures:
            failures.append(event.message.id)
            raise RuntimeError("a broken consumer")

    heard = Recorder()
    session.gateway.subscribe(broken)
    session.gateway.subscribe(heard)
    await session.deliver(message("3EB0FIRST"))
    # a ban "until" past the end of time: the connection's handler fails on it
    await session.deliver(Ev("temporary_ban", protos.simple("temporary_ban", Expire=2**62), None))
    await session.deliver(message("3EB0SECOND"))
    await session.gateway.drain()
    assert failures == ["3EB0FIRST"]
    assert heard.handled() == ["3EB0FIRST", "3EB0SECOND"]
    assert session.gateway.state != ConnectionState.BANNED


async def test_state_changes_are_announced_with_their_reasons(backend: Backend) -> None:
    session = await started(backend)
    heard = Recorder()
    session.gateway.subscribe(heard)
    for ev in (CONNECTED, simple("disconnected"), CONNECTED, simple("logged_out")):
        await session.deliver(ev)
    await session.gateway.drain()
    changes = [(e.state, e.reason) for e in heard.events if isinstance(e, ConnectionChanged)]
    assert [state for state, _ in changes] == [
        ConnectionState.CONNECTED,
        ConnectionState.RECONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.LOGGED_OUT,
    ], changes  # the reasons say where an unexpected change came from
    reasons = [reason for _, reason in changes]
    assert reasons[0] == "WhatsApp is connected."
    assert "reconnecting" in reasons[1]
    assert "unlinked on the phone" in reasons[3] and "/login" in reasons[3]
    assert session.gateway.state == ConnectionState.LOGGED_OUT
    assert session.gateway.reconnects == 1


async def test_send_while_disconnected_raises_not_connected(backend: Backend) -> None:
    session = await started(backend)
    hello = OutgoingMessage(to=ALICE, text="hi")
    with pytest.raises(NotConnected):
        await session.gateway.send(hello)  # not connected yet
    await session.deliver(CONNECTED)
    await session.gateway.drain()
    receipt = await session.gateway.send(hello)
    assert receipt.id.startswith("3EB0")
    await session.deliver(simple("disconnected"))
    await session.gateway.drain()
    with pytest.raises(NotConnected):
        await session.gateway.send(hello)


async def test_an_unhandled_journal_record_is_replayed_at_start(
    backend: Backend, tmp_path: Path
) -> None:
    before = EventJournal(tmp_path / "journal")
    before.append(
        "message", message("3EB0LEFTOVER", "from the last run").proto.SerializeToString()
    )
    before.close()  # killed before it was handled

    journal = EventJournal(tmp_path / "journal")
    session = await backend(journal)
    heard = Recorder()
    session.gateway.subscribe(heard)
    await session.start()
    await session.gateway.drain()
    assert heard.handled() == ["3EB0LEFTOVER"]
    assert list(journal.pending()) == []


async def test_two_accounts_hear_their_own_and_one_logout_leaves_the_other(
    backend: Backend,
) -> None:
    one, two = await started(backend), await started(backend, account=2)
    heard_one, heard_two = Recorder(), Recorder()
    one.gateway.subscribe(heard_one)
    two.gateway.subscribe(heard_two)
    for session in (one, two):
        await session.deliver(CONNECTED)
    await one.deliver(message("3EB0FORONE"))
    await two.deliver(message("3EB0FORTWO"))
    await two.deliver(simple("logged_out"))  # account 2 unlinked on its phone
    await one.deliver(message("3EB0STILL"))
    for session in (one, two):
        await session.gateway.drain()
    assert heard_one.handled() == ["3EB0FORONE", "3EB0STILL"]
    assert heard_two.handled() == ["3EB0FORTWO"]
    assert two.gateway.state == ConnectionState.LOGGED_OUT
    assert one.gateway.state == ConnectionState.CONNECTED
    assert heard_one.states() == [ConnectionState.CONNECTED]
    receipt = await one.gateway.send(OutgoingMessage(to=ALICE, text="still here"))
    assert receipt.id.startswith("3EB0")
    with pytest.raises(NotConnected):
        await two.gateway.send(OutgoingMessage(to=ALICE, text="gone"))
