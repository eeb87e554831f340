"""The address book and the joined groups read through the real neonize client: only the Go
functions are replaced (GetAllContacts, GetContact, GetJoinedGroups, GetGroupInfo, at the
ctypes boundary), so neonize's own calls and parsing run as in production; the entries then
go through the gateway's conversion and the real storage, as with the live client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from neonize.aioze import client as neonize_client
from neonize.aioze.client import NewAClient
from neonize.proto import Neonize_pb2 as N

from assistant.pipeline import IngestService
from core.events import AddressBookRead, GroupSeen
from core.ids import ConnectionState
from storage import Storage
from tests.support import wait_until
from whatsapp import protos, protos_sync
from whatsapp.neonize_backend import NeonizeGateway

MOM = "4915112345678@s.whatsapp.net"
SHOP = "4930111222333@s.whatsapp.net"
GROUP = "120363000000000101@g.us"


def filled(cls: Any, **fields: Any) -> Any:
    """A proto2 message with every required field not given set to its zero value."""
    msg = cls(**fields)
    for f in cls.DESCRIPTOR.fields:
        if not f.is_required or msg.HasField(f.name):
            continue
        if f.message_type is not None:
            sub = protos.EMPTY_JID if f.message_type.name == "JID" else None
            getattr(msg, f.name).CopyFrom(sub or filled(getattr(N, f.message_type.name)))
        else:
            setattr(msg, f.name, f.default_value)
    return msg


def group_info(jid: str, subject: str, admins: list[str], members: list[str]) -> Any:
    participants = [
        filled(N.GroupParticipant, JID=protos.jid(m), IsAdmin=m in admins) for m in members
    ]
    return filled(
        N.GroupInfo,
        JID=protos.jid(jid),
        GroupName=filled(N.GroupName, Name=subject),
        Participants=participants,
    )


class FakeGo:
    """The session store and WhatsApp's group answers; records what it was asked."""

    def __init__(self) -> None:
        self.contacts = [
            protos_sync.contact(MOM, full="Mom", first="Mom", push="Linda"),
            protos_sync.contact(SHOP, push="Berlin Bikes", business="Berlin Bikes GmbH"),
            protos_sync.contact("nobody@broadcast", full="not a person"),
        ]
        self.groups = [group_info(GROUP, "Familie 🏡", [MOM], [MOM, SHOP])]
        self.asked: list[str] = []
        self.error = ""

    def GetAllContacts(self, _uuid: bytes) -> bytes:
        self.asked.append("GetAllContacts")
        if self.error:
            return N.ContactsGetAllContactsReturnFunction(Error=self.error).SerializeToString()
        return N.ContactsGetAllContactsReturnFunction(Contact=self.contacts).SerializeToString()

    def GetContact(self, _uuid: bytes, jid: bytes, _n: int) -> bytes:
        who = N.JID.FromString(jid)
        self.asked.append(f"GetContact {who.User}")
        info = filled(N.ContactInfo, Found=True, FullName="Mama", PushName="Linda")
        return N.ContactsGetContactReturnFunction(ContactInfo=info).SerializeToString()

    def GetJoinedGroups(self, _uuid: bytes) -> bytes:
        self.asked.append("GetJoinedGroups")
        if self.error:
            return N.GetJoinedGroupsReturnFunction(Error=self.error).SerializeToString()
        return N.GetJoinedGroupsReturnFunction(Group=self.groups).SerializeToString()

    def GetGroupInfo(self, _uuid: bytes, jid: bytes, _n: int) -> bytes:
        self.asked.append(f"GetGroupInfo {N.JID.FromString(jid).User}")
        info = group_info(GROUP, "Familie & Co", [], [MOM])
        return N.GetGroupInfoReturnFunction(GroupInfo=info).SerializeToString()


@pytest.fixture
async def live(tmp_path: Path, monkeypatch):
    go = FakeGo()
    for name in ("GetAllContacts", "GetContact", "GetJoinedGroups", "GetGroupInfo"):
        monkeypatch.setattr(neonize_client.gocode, name, getattr(go, name), raising=False)
    store = str(tmp_path / "session.db")
    # A client as after a connect attempt: the store may be read.
    gateway = NeonizeGateway(tmp_path, store, client=NewAClient(store))
    events: list[Any] = []

    async def record(event: Any) -> None:
        events.append(event)

    gateway.subscribe(record)
    gateway.start_consumer()
    yield gateway, go, events
    await gateway.stop_consumer()


async def test_connecting_reads_saved_contacts_and_group_subjects(live) -> None:
    gateway, go, events = live
    await gateway.receive("connected", protos.roundtrip(protos.simple("connected")))
    await wait_until(lambda: any(isinstance(e, GroupSeen) for e in events))
    assert go.asked == ["GetAllContacts", "GetJoinedGroups"]
    [book] = [e for e in events if isinstance(e, AddressBookRead)]
    by_jid = {c.jid: c for c in book.contacts}
    assert set(by_jid) == {MOM, SHOP}  # the broadcast entry is no person
    assert (by_jid[MOM].name, by_jid[MOM].first_name, by_jid[MOM].push_name) == (
        "Mom",
        "Mom",
        "Linda",
    )
    assert by_jid[SHOP].business_name == "Berlin Bikes GmbH" and not by_jid[SHOP].name
    [group] = [e for e in events if isinstance(e, GroupSeen)]
    assert (group.jid, group.name, group.admins) == (GROUP, "Familie 🏡", (MOM,))
    assert set(group.participants) == {MOM, SHOP}


async def test_a_picture_change_reads_that_contact_or_group_again(live) -> None:
    gateway, go, events = live
    gateway.connection.reset(ConnectionState.CONNECTED)
    for jid in (MOM, GROUP):
        pic = N.Picture(
            JID=protos.jid(jid), Author=protos.EMPTY_JID, Timestamp=1_780_000_000, Remove=False
        )
        await gateway.receive("picture", protos.roundtrip(pic))
    await wait_until(lambda: any(isinstance(e, GroupSeen) for e in events))
    await wait_until(lambda: any(isinstance(e, AddressBookRead) for e in events))
    assert go.asked == ["GetContact 4915112345678", "GetGroupInfo 120363000000000101"]
    [book] = [e for e in events if isinstance(e, AddressBookRead)]
    assert [(c.jid, c.name) for c in book.contacts] == [(MOM, "Mama")]
    assert [g.name for g in events if isinstance(g, GroupSeen)] == ["Familie & Co"]


async def test_store_errors_and_offline_groups_are_logged_not_fatal(live, caplog) -> None:
    gateway, go, events = live
    go.error = "store is closed"
    gateway.connection.reset(ConnectionState.CONNECTED)
    assert await gateway.refresh_address_book() == 0
    gateway.connection.reset(ConnectionState.RECONNECTING)  # groups need WhatsApp: not asked now
    go.error = ""
    assert await gateway.refresh_address_book() == 3  # read; the broadcast one is dropped
    await wait_until(lambda: any(isinstance(e, AddressBookRead) for e in events))
    [book] = [e for e in events if isinstance(e, AddressBookRead)]
    assert len(book.contacts) == 2
    assert go.asked == ["GetAllContacts", "GetJoinedGroups", "GetAllContacts"]
    assert "could not read the address book" in caplog.text


async def test_names_from_the_store_reach_the_chats(live, storage: Storage) -> None:
    gateway, _go, _events = live
    ingest = IngestService(storage, gateway, frozenset({1}))
    gateway.subscribe(ingest.on_event)
    mom_chat = await storage.chats.ensure(MOM, name="Linda")  # first seen by push name
    gateway.connection.reset(ConnectionState.CONNECTED)
    await gateway.refresh_address_book()
    await gateway.drain()
    assert (await storage.chats.get(mom_chat.id)).name == "Mom"
    shop = await storage.chats.ensure(SHOP, name="Berlin Bikes")  # its push name
    assert shop.name == "Berlin Bikes GmbH"  # the business name outranks it
    group = await storage.chats.by_jid(GROUP)
    assert group is not None and group.name == "Familie 🏡" and group.is_group
    contact = await storage.chats.contact(MOM)
    assert (contact.full_name, contact.first_name, contact.push_name) == ("Mom", "Mom", "Linda")
