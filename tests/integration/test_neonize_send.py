"""Sending through the real neonize client: only the Go functions are replaced (Upload and
SendMessage, at the ctypes boundary), so neonize's own message building, media upload and
serialization run as in production. What "Go" receives is what WhatsApp would get."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from neonize.aioze import client as neonize_client
from neonize.aioze.client import NewAClient
from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
from PIL import Image

from whatsapp.errors import NotConnected, SendFailed
from whatsapp.neonize_backend import NeonizeGateway
from whatsapp.types import ConnectionState, MessageKind, OutgoingMessage

ALICE = "15550000002@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
TIMINGS = N.MessageDebugTimings(**{f.name: 0 for f in N.MessageDebugTimings.DESCRIPTOR.fields})


class FakeGo:
    """Upload and SendMessage as the Go library answers them; records what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.uploads: list[bytes] = []
        self.error = ""

    def Upload(self, _uuid: bytes, data: bytes, _size: int, _kind: int) -> bytes:
        self.uploads.append(bytes(data))
        response = N.UploadResponse(
            url="https://mmg.example/x",
            DirectPath="/v/x",
            Handle="",
            MediaKey=b"k" * 32,
            FileEncSHA256=b"e" * 32,
            FileSHA256=b"s" * 32,
            FileLength=len(data),
        )
        return N.UploadReturnFunction(UploadResponse=response).SerializeToString()

    def SendMessage(self, _uuid: bytes, to: bytes, _n: int, msg: bytes, _m: int) -> bytes:
        if self.error:
            return N.SendMessageReturnFunction(Error=self.error).SerializeToString()
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
    monkeypatch.setattr(neonize_client.gocode, "Upload", go.Upload, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "SendMessage", go.SendMessage, raising=False)
    gateway = NeonizeGateway(tmp_path, str(tmp_path / "session.db"))
    # As after a successful connect (no Go call is made by constructing the client).
    gateway.client = NewAClient(str(tmp_path / "session.db"))
    gateway._attempted = True
    gateway._state = ConnectionState.CONNECTED
    return gateway, go


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def test_text_reply_quotes_the_original_and_keeps_mentions(live) -> None:
    gateway, go = live
    receipt = await gateway.send(
        OutgoingMessage(
            to=GROUP,
            text="On my way @15550000003",
            quoted_id="3EB0ORIG",
            quoted_sender=ALICE,
            quoted_text="Where are you?",
            mentions=("15550000003@s.whatsapp.net",),
        )
    )
    assert receipt.id == "3EB0SENT1" and receipt.timestamp.year == 2026
    to, msg = go.sent[0]
    ctx = msg.extendedTextMessage.contextInfo
    assert to == GROUP and msg.extendedTextMessage.text == "On my way @15550000003"
    assert list(ctx.mentionedJID) == ["15550000003@s.whatsapp.net"]
    assert (ctx.stanzaID, ctx.participant) == ("3EB0ORIG", ALICE)
    assert ctx.quotedMessage.conversation == "Where are you?"


async def test_photo_and_document_replies_are_uploaded_and_quoted(live) -> None:
    gateway, go = live
    image = png()
    quote = {"quoted_id": "3EB0PIC", "quoted_sender": ALICE, "quoted_text": "send a photo"}
    await gateway.send(
        OutgoingMessage(to=ALICE, text="here", kind=MessageKind.IMAGE, media=image, **quote)
    )
    await gateway.send(
        OutgoingMessage(
            to=ALICE,
            kind=MessageKind.DOCUMENT,
            media=b"%PDF-1.4 report",
            file_name="report.pdf",
            mimetype="application/pdf",
            **quote,
        )
    )
    assert go.uploads == [image, b"%PDF-1.4 report"]
    (_, photo), (_, doc) = go.sent
    assert photo.imageMessage.caption == "here" and photo.imageMessage.mimetype == "image/png"
    assert doc.documentMessage.fileName == "report.pdf"
    assert doc.documentMessage.mimetype == "application/pdf"
    for ctx in (photo.imageMessage.contextInfo, doc.documentMessage.contextInfo):
        assert (ctx.stanzaID, ctx.participant) == ("3EB0PIC", ALICE)
        assert ctx.quotedMessage.conversation == "send a photo"


async def test_unquoted_sends_carry_no_quote(live) -> None:
    gateway, go = live
    await gateway.send(OutgoingMessage(to=ALICE, text="hello"))
    await gateway.send(OutgoingMessage(to=ALICE, kind=MessageKind.IMAGE, media=png()))
    (_, text), (_, photo) = go.sent
    assert not text.extendedTextMessage.contextInfo.stanzaID
    assert not photo.imageMessage.contextInfo.HasField("quotedMessage")


async def test_go_errors_become_queued_or_failed(live) -> None:
    gateway, go = live
    go.error = "failed to send usync query: websocket not connected"
    with pytest.raises(NotConnected):  # the outbox keeps it and sends it after reconnecting
        await gateway.send(OutgoingMessage(to=ALICE, text="hello"))
    go.error = "server returned error 479"
    with pytest.raises(SendFailed):  # WhatsApp refused it: the admin is told
        await gateway.send(OutgoingMessage(to=ALICE, text="hello"))
