"""Is a number on WhatsApp? Asked through the real neonize client with only the Go function
(IsOnWhatsApp, and SendMessage for the send that follows) replaced at the ctypes boundary,
so neonize's own call and parsing run as in production; then /send's recipient lookup and
the outbox on real storage, as with the live client."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from neonize.aioze import client as neonize_client
from neonize.aioze.client import NewAClient
from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message

from assistant.chats import ChatService
from assistant.recipients import NotOnWhatsApp, RecipientService
from assistant.sending import SendingService, SendStatus
from core.errors import GatewayError, NotConnected
from core.events import OutgoingMessage
from core.ids import ChatJid, ConnectionState
from storage import Storage
from tests.fakes.clock import FakeClock
from whatsapp import protos
from whatsapp.neonize_backend import NeonizeGateway

TIMINGS = N.MessageDebugTimings(**{f.name: 0 for f in N.MessageDebugTimings.DESCRIPTOR.fields})
# WhatsApp knows this São Paulo number under its old form, without the ninth digit.
ON_WHATSAPP = {
    "+4915112345678": "4915112345678",
    "+5511987654321": "551187654321",
}


class FakeGo:
    """WhatsApp's answers to "is this number registered?"; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.sent: list[tuple[str, Message]] = []
        self.error = ""

    def IsOnWhatsApp(self, _uuid: bytes, numbers: bytes, _n: int) -> bytes:
        self.asked.append(numbers.decode())
        if self.error:
            return N.IsOnWhatsAppReturnFunction(Error=self.error).SerializeToString()
        answers = []
        for query in numbers.decode().split(" "):
            user = ON_WHATSAPP.get(query, query.lstrip("+"))
            answers.append(
                N.IsOnWhatsAppResponse(
                    Query=query,
                    JID=protos.jid(f"{user}@s.whatsapp.net"),
                    IsIn=query in ON_WHATSAPP,
                )
            )
        return N.IsOnWhatsAppReturnFunction(IsOnWhatsAppResponse=answers).SerializeToString()

    def SendMessage(self, _uuid: bytes, to: bytes, _n: int, msg: bytes, _m: int) -> bytes:
        jid = N.JID.FromString(to)
        self.sent.append((f"{jid.User}@{jid.Server}", Message.FromString(msg)))
        response = N.SendResponse(
            Timestamp=1_767_225_600,
            ID=f"3EB0SENT{len(self.sent)}",
            ServerID=0,
            DebugTimings=TIMINGS,
        )
        return N.SendMessageReturnFunction(SendResponse=response).SerializeToString()


@pytest.fixture
def live(tmp_path: Path, monkeypatch) -> tuple[NeonizeGateway, FakeGo]:
    go = FakeGo()
    monkeypatch.setattr(neonize_client.gocode, "IsOnWhatsApp", go.IsOnWhatsApp, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "SendMessage", go.SendMessage, raising=False)
    store = str(tmp_path / "session.db")
    # A client as after a successful connect.
    gateway = NeonizeGateway(tmp_path, store, client=NewAClient(store))
    gateway.connection.reset(ConnectionState.CONNECTED)
    gateway.connection.learn_own_jid(ChatJid("4930901820@s.whatsapp.net"))
    return gateway, go


async def test_whatsapp_is_asked_once_for_every_readable_number(live) -> None:
    gateway, go = live
    found = await gateway.is_on_whatsapp("4915112345678", "4915199999999", "12", "4915112345678")
    assert go.asked == ["+4915112345678 +4915199999999"]  # "12" is no number; asked once
    assert found == {
        "4915112345678": "4915112345678@s.whatsapp.net",
        "4915199999999": None,
    }


async def test_a_failed_question_is_an_error_not_a_no(live) -> None:
    gateway, go = live
    go.error = "failed to send usync query: websocket not connected"
    with pytest.raises(NotConnected):
        await gateway.is_on_whatsapp("4915112345678")
    go.error = "info query timed out"
    with pytest.raises(GatewayError, match="could not ask WhatsApp"):
        await gateway.is_on_whatsapp("4915112345678")
    gateway.connection.reset(ConnectionState.RECONNECTING)
    asked = len(go.asked)
    with pytest.raises(NotConnected):
        await gateway.is_on_whatsapp("4915112345678")
    assert len(go.asked) == asked  # no Go call while not connected


async def test_send_to_a_new_number_writes_to_the_jid_whatsapp_gives(
    live, storage: Storage, tmp_path: Path
) -> None:
    gateway, go = live
    clock = FakeClock()
    chats = ChatService(storage, clock, ZoneInfo("Europe/Berlin"))
    recipients = RecipientService(storage, gateway, chats)
    sending = SendingService(storage, gateway, tmp_path, clock)

    chat, body = await recipients.split("+55 11 98765-4321 Olá, tudo bem?")
    assert go.asked == ["+5511987654321"]
    assert chat.jid == "551187654321@s.whatsapp.net" and body == "Olá, tudo bem?"
    outcome = await sending.send(OutgoingMessage(to=chat.jid, text=body))
    assert outcome.status == SendStatus.SENT
    assert go.sent[0][0] == "551187654321@s.whatsapp.net"
    assert go.sent[0][1].extendedTextMessage.text == "Olá, tudo bem?"

    # The local notation (the owner's number is German) finds the same chat with no question.
    chat_de, _ = await recipients.split("0151 12345678 Hallo")
    again, _ = await recipients.split("+49 151 1234 5678 Hallo")
    assert chat_de.id == again.id and go.asked[-1] == "+4915112345678"
    assert len(go.asked) == 2  # the second time the chat existed
    with pytest.raises(NotOnWhatsApp, match="is not on WhatsApp"):
        await recipients.split("+49 151 9999 9999 Hallo")
    assert await storage.chats.count() == 2


async def test_default_region_reads_local_numbers_whatever_the_own_number(
    live, storage: Storage
) -> None:
    gateway, go = live
    # a US account, living in Germany
    gateway.connection.learn_own_jid(ChatJid("15550001111@s.whatsapp.net"))
    chats = ChatService(storage, FakeClock(), ZoneInfo("Europe/Berlin"))
    assert RecipientService(storage, gateway, chats).region == "US"
    recipients = RecipientService(storage, gateway, chats, default_region="de")
    chat, body = await recipients.split("0151 12345678 Hallo")
    assert chat.jid == "4915112345678@s.whatsapp.net" and body == "Hallo"
    assert go.asked == ["+4915112345678"]
