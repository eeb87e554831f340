"""Several linked accounts with the real neonize client, only the Go functions replaced at
the ctypes boundary: each account's client has its own key in Go's client map and its own
store (or device, in a shared PostgreSQL store); an event Go delivers to one client reaches
only that gateway; one account logged out or failing to connect leaves the other running."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import threading
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from neonize.aioze import client as neonize_client
from neonize.events import EVENT_TO_INT
from neonize.proto import Neonize_pb2 as N

from core.events import MessageReceived
from core.ids import ConnectionState
from tests.fakes.clock import FakeClock
from tests.fakes.recorder import Recorder
from tests.support import wait_until
from whatsapp import protos, protos_messages
from whatsapp.neonize_backend import NeonizeGateway
from whatsapp.session import is_paired, session_store

PG = "postgresql://wa@127.0.0.1:1/never-dialled"
ALICE = "15550000002@s.whatsapp.net"
WORK_DEVICE = "15550002222:5@s.whatsapp.net"


class FakeGo:
    """Go's side of several clients, keyed by uuid as Go's map is: each login records its
    arguments and callback and runs until Stop of its uuid; a failing uuid's login fails."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logins: dict[bytes, list[dict[str, Any]]] = defaultdict(list)
        self.callbacks: dict[bytes, Any] = {}
        self.stops: dict[bytes, threading.Event] = defaultdict(threading.Event)
        self.failing: set[bytes] = set()
        self.logged_out: list[bytes] = []

    def Neonize(
        self, name: bytes, uuid: bytes, jidbuf: bytes, jid_size: int, new: int, *args: Any
    ) -> bytes:
        with self.lock:
            jid = N.JID.FromString(jidbuf) if jid_size else None
            self.logins[uuid].append({"name": name.decode(), "jid": jid, "new_device": bool(new)})
            self.callbacks[uuid] = args[3]  # the event callback Go calls for this client
            stop = self.stops[uuid]
            stop.clear()
        if uuid in self.failing:
            return b"failed to dial whatsapp web websocket: no such host"
        stop.wait(timeout=30)
        return b""

    def Stop(self, uuid: bytes) -> None:
        with self.lock:
            self.stops[uuid].set()

    def GetAllContacts(self, _uuid: bytes) -> bytes:
        return N.ContactsGetAllContactsReturnFunction().SerializeToString()

    def GetJoinedGroups(self, _uuid: bytes) -> bytes:
        return N.GetJoinedGroupsReturnFunction().SerializeToString()

    def Logout(self, uuid: bytes) -> bytes:
        self.logged_out.append(uuid)
        return b""

    async def deliver(self, uuid: bytes, ev: Any) -> None:
        """Go's callback thread hands one event to the client of ``uuid``."""
        data = ev.SerializeToString()
        buf = ctypes.create_string_buffer(data, len(data))
        code = 0 if isinstance(ev, N.Device) else EVENT_TO_INT[type(ev)]
        await asyncio.to_thread(self.callbacks[uuid], uuid, ctypes.addressof(buf), len(data), code)


@pytest.fixture
async def go(monkeypatch):
    gc.collect()  # clients of earlier tests Stop their uuid when collected: not in ours
    fake = FakeGo()
    for name in ("Neonize", "Stop", "Logout", "GetAllContacts", "GetJoinedGroups"):
        monkeypatch.setattr(neonize_client.gocode, name, getattr(fake, name), raising=False)
    made: list[NeonizeGateway] = []
    yield fake, made
    for gateway in made:
        await gateway.stop()
    for stop in fake.stops.values():
        stop.set()


async def start(made: list[NeonizeGateway], fake: FakeGo, gateway: NeonizeGateway) -> Recorder:
    rec = Recorder()
    gateway.subscribe(rec)
    made.append(gateway)
    await gateway.start()
    assert gateway.client is not None
    await wait_until(lambda: gateway.client.uuid in fake.callbacks, what="the login call")
    return rec


def message(wa_id: str) -> Any:
    return protos_messages.message_event(
        protos_messages.content({"text": "hi"}), ALICE, ALICE, mid=wa_id
    )


async def connect(fake: FakeGo, gateway: NeonizeGateway) -> None:
    await fake.deliver(gateway.client.uuid, protos.simple("connected"))
    await gateway.drain()
    assert gateway.state == ConnectionState.CONNECTED


async def test_accounts_on_sqlite_have_their_own_store_and_key(go, tmp_path: Path) -> None:
    fake, made = go
    one = NeonizeGateway(tmp_path, session_store(tmp_path, None, 1))
    two = NeonizeGateway(tmp_path, session_store(tmp_path, None, 2), account_id=2)
    await start(made, fake, one)
    await start(made, fake, two)
    assert one.client.uuid != two.client.uuid and two.client.uuid == b"account-2"
    [login1], [login2] = fake.logins[one.client.uuid], fake.logins[two.client.uuid]
    assert login1["name"].endswith("whatsapp/session.db")
    assert login2["name"].endswith("whatsapp/accounts/2/session.db")
    # each file holds its account's device alone: the first device, as before
    assert not login1["new_device"] and not login2["new_device"]
    assert login1["jid"] is None and login2["jid"] is None


async def test_accounts_sharing_postgres_pick_their_own_device(go, tmp_path: Path) -> None:
    fake, made = go
    one = NeonizeGateway(tmp_path, PG)
    new = NeonizeGateway(tmp_path, PG, account_id=2)
    known = NeonizeGateway(tmp_path, PG, account_id=3, device_jid=WORK_DEVICE)
    for gateway in (one, new, known):
        await start(made, fake, gateway)
    assert len({one.client.uuid, new.client.uuid, known.client.uuid}) == 3
    assert one.client.uuid == PG.encode()  # account 1: as a single-account install
    assert new.client.uuid == b"account-2"
    assert fake.logins[one.client.uuid][0]["jid"] is None
    assert not fake.logins[one.client.uuid][0]["new_device"]
    # never logged in: a blank device, not the first one (another account's)
    assert fake.logins[new.client.uuid][0]["new_device"]
    # logged in before: its own stored device
    resumed = fake.logins[known.client.uuid][0]
    assert protos.jid(WORK_DEVICE) == resumed["jid"] and not resumed["new_device"]


async def test_a_paired_device_is_resumed_and_forgotten_at_logout(go, tmp_path: Path) -> None:
    fake, made = go
    clock = FakeClock()
    two = NeonizeGateway(tmp_path, PG, clock, account_id=2)
    await start(made, fake, two)
    uuid = two.client.uuid
    me = N.Device(JID=protos.jid(WORK_DEVICE), Platform="", BussinessName="", PushName="")
    me.Initialized = True
    await fake.deliver(uuid, me)  # whatsmeow's device event after pairing
    await connect(fake, two)
    assert two.device_jid == WORK_DEVICE  # to store for the next start
    await two._force_reconnect()  # the connection dropped: the supervisor connects again

    async def reconnected() -> bool:
        await clock.advance(60)  # past the supervisor's backoff
        return len(fake.logins[uuid]) == 2

    await wait_until(reconnected, what="the reconnect")
    again = fake.logins[uuid][1]
    assert again["jid"] == protos.jid(WORK_DEVICE) and not again["new_device"]
    await connect(fake, two)
    await two.logout()
    assert fake.logged_out == [uuid]
    assert two.client.jid is None and two.client.new_device  # a new login: a blank device


async def test_events_reach_only_their_account_and_a_logout_leaves_the_other(
    go, tmp_path: Path
) -> None:
    fake, made = go
    one = NeonizeGateway(tmp_path, PG)
    two = NeonizeGateway(tmp_path, PG, account_id=2)
    rec1, rec2 = await start(made, fake, one), await start(made, fake, two)
    await connect(fake, one)
    await connect(fake, two)
    await fake.deliver(one.client.uuid, message("3EB0FORONE"))
    await fake.deliver(two.client.uuid, message("3EB0FORTWO"))
    await one.drain()
    await two.drain()
    assert rec1.handled() == ["3EB0FORONE"] and rec2.handled() == ["3EB0FORTWO"]

    # account 2 unlinked on its phone: account 1 stays connected and hears on
    await fake.deliver(two.client.uuid, protos.simple("logged_out"))
    await two.drain()
    assert two.state == ConnectionState.LOGGED_OUT
    await fake.deliver(one.client.uuid, message("3EB0STILL"))
    await one.drain()
    assert one.state == ConnectionState.CONNECTED and rec1.handled()[-1] == "3EB0STILL"
    await wait_until(lambda: fake.stops[two.client.uuid].is_set(), what="account 2 stopped")
    assert not fake.stops[one.client.uuid].is_set()

    # account 1 logged out from Telegram: account 2's session is not touched
    await one.logout()
    assert fake.logged_out == [one.client.uuid]
    assert two.client.uuid not in fake.logged_out


async def test_an_account_that_cannot_connect_does_not_hold_up_another(go, tmp_path: Path) -> None:
    fake, made = go
    fake.failing.add(b"account-2")
    gave_up: list[int] = []
    one = NeonizeGateway(tmp_path, PG)
    two = NeonizeGateway(
        tmp_path, PG, account_id=2, max_failures=1, on_give_up=lambda: gave_up.append(2)
    )
    rec1 = await start(made, fake, one)
    await start(made, fake, two)
    await wait_until(lambda: gave_up == [2], what="account 2 giving up")
    await connect(fake, one)
    heard = range(20)
    for n in heard:
        await fake.deliver(one.client.uuid, message(f"3EB0ONE{n}"))
    await one.drain()
    assert rec1.handled() == [f"3EB0ONE{n}" for n in heard]
    assert [e for e in rec1.events if isinstance(e, MessageReceived)]
    assert one.state == ConnectionState.CONNECTED and two.state != ConnectionState.CONNECTED


# ---------------------------------------------------------------- a shared PostgreSQL store

MINE = "15550001111:7@s.whatsapp.net"


@pytest.fixture
def pg_store():
    """A whatsmeow device table on the local PostgreSQL, in a schema of its own (the URL
    selects it), filled by ``put(*jids)``; the store name is the URL, as with DATABASE_URL."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    psycopg2 = pytest.importorskip("psycopg2")
    schema = f"wa_devices_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"CREATE TABLE {schema}.whatsmeow_device (jid TEXT PRIMARY KEY)")

    def put(*jids: str) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {schema}.whatsmeow_device")
            for jid in jids:
                cur.execute(f"INSERT INTO {schema}.whatsmeow_device VALUES (%s)", [jid])

    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}", put
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA {schema} CASCADE")
    conn.close()


def first_login(fake: FakeGo, gateway: NeonizeGateway) -> dict[str, Any]:
    return fake.logins[gateway.client.uuid][0]


@pytest.mark.parametrize(
    ("stored", "recorded", "taken", "resumed"),
    [
        # a single-account install, upgraded from before devices were recorded: its device
        ((MINE,), None, (), MINE),
        # account 2 recorded its device: account 1 takes the other one, never account 2's
        ((WORK_DEVICE, MINE), None, (WORK_DEVICE,), MINE),
        # account 1 logged out (whatsmeow deleted its device), account 2 stays linked
        ((WORK_DEVICE,), None, (WORK_DEVICE,), None),
        ((WORK_DEVICE,), MINE, (WORK_DEVICE,), None),
        # its recorded device, wherever the store lists it
        ((WORK_DEVICE, MINE), MINE, (WORK_DEVICE,), MINE),
        # an empty store: a blank device, as whatsmeow's first-device pick would make
        ((), None, (), None),
    ],
)
async def test_account_one_never_resumes_another_accounts_device(
    go, tmp_path: Path, pg_store, stored, recorded, taken, resumed
) -> None:
    fake, made = go
    url, put = pg_store
    put(*stored)
    one = NeonizeGateway(tmp_path, url, device_jid=recorded, taken=taken)
    await start(made, fake, one)
    login = first_login(fake, one)
    if resumed is None:  # a new login: a blank device (a JID the store lacks aborts Go)
        assert login["jid"] is None and login["new_device"]
    else:
        assert login["jid"] == protos.jid(resumed) and not login["new_device"]
    assert is_paired(url, 1, recorded, taken) == (resumed is not None)


async def test_a_recorded_device_gone_from_the_store_means_a_new_login(
    go, tmp_path: Path, pg_store
) -> None:
    fake, made = go
    url, put = pg_store
    put(MINE)  # account 2 logged out: its device row is gone, its record stays
    two = NeonizeGateway(tmp_path, url, account_id=2, device_jid=WORK_DEVICE)
    await start(made, fake, two)
    assert first_login(fake, two)["jid"] is None and first_login(fake, two)["new_device"]
    assert not is_paired(url, 2, WORK_DEVICE)


async def test_account_one_logged_out_asks_for_a_blank_device_next(
    go, tmp_path: Path, pg_store
) -> None:
    """Account 1 started alone (the store's first device), account 2 was linked meanwhile:
    after account 1's logout its new login must not resume account 2's device."""
    fake, made = go
    url, put = pg_store
    put(MINE)
    one = NeonizeGateway(tmp_path, url)
    await start(made, fake, one)
    uuid_ = one.client.uuid
    me = N.Device(JID=protos.jid(MINE), Platform="", BussinessName="", PushName="")
    me.Initialized = True
    await fake.deliver(uuid_, me)
    await connect(fake, one)
    put(MINE, WORK_DEVICE)  # account 2 paired in the same store
    await one.logout()
    put(WORK_DEVICE)
    await one.request_login()
    await wait_until(lambda: len(fake.logins[uuid_]) == 2, what="the new login")
    again = fake.logins[uuid_][1]
    assert again["jid"] is None and again["new_device"]
