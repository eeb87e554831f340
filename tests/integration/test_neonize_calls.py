"""Talking to WhatsApp through the real neonize client: only the Go functions are replaced
(Upload, SendMessage, DownloadAny, MarkRead, at the ctypes boundary), so neonize's own
message building, upload, download and serialization run as in production. What "Go"
receives is what WhatsApp would get."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from neonize.aioze import client as neonize_client
from neonize.aioze.client import NewAClient
from neonize.proto import Neonize_pb2 as N
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
from PIL import Image

from core.errors import GatewayError, NotConnected, SendFailed
from core.events import OutgoingMessage
from core.ids import ConnectionState, MessageKind, WaMessageId
from whatsapp import convert_messages, protos, protos_messages
from whatsapp.neonize_backend import NeonizeGateway

ALICE = "15550000002@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
TIMINGS = N.MessageDebugTimings(**{f.name: 0 for f in N.MessageDebugTimings.DESCRIPTOR.fields})


class FakeGo:
    """The Go library's answers to what these tests use; records what it was asked."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.uploads: list[bytes] = []
        self.downloads: list[Message] = []
        self.read: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}  # directPath → bytes on the media server
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

    def DownloadAny(self, _uuid: bytes, msg: bytes, _n: int) -> bytes:
        message = Message.FromString(msg)
        self.downloads.append(message)
        path = message.imageMessage.directPath or message.documentMessage.directPath
        if self.error or path not in self.files:
            error = self.error or "download failed with status code 410"
            return N.DownloadReturnFunction(Error=error).SerializeToString()
        return N.DownloadReturnFunction(Binary=self.files[path]).SerializeToString()

    def MarkRead(self, _uuid: bytes, ids: bytes, _ts: int, chat: bytes, *_rest: object) -> bytes:
        if self.error:
            return self.error.encode()
        jid = N.JID.FromString(chat)
        self.read.append((ids.decode(), f"{jid.User}@{jid.Server}"))
        return b""


@pytest.fixture
def live(tmp_path: Path, monkeypatch) -> tuple[NeonizeGateway, FakeGo]:
    go = FakeGo()
    monkeypatch.setattr(neonize_client.gocode, "Upload", go.Upload, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "SendMessage", go.SendMessage, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "DownloadAny", go.DownloadAny, raising=False)
    monkeypatch.setattr(neonize_client.gocode, "MarkRead", go.MarkRead, raising=False)
    store = str(tmp_path / "session.db")
    # A client as after a successful connect (no Go call is made by constructing it).
    gateway = NeonizeGateway(tmp_path, store, client=NewAClient(store))
    gateway.connection.reset(ConnectionState.CONNECTED)
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


def received_photo(wa_id: str, direct_path: str):
    """A live photo message through the real conversion: what ingest keeps for downloading."""
    image = E2E.ImageMessage(
        URL="https://mmg.example/p",
        directPath=direct_path,
        mediaKey=b"k" * 32,
        fileSHA256=b"s" * 32,
        fileEncSHA256=b"e" * 32,
        fileLength=10,
        mimetype="image/jpeg",
        caption="look",
        JPEGThumbnail=b"thumbnail" * 100,
    )
    raw = protos_messages.message_event(E2E.Message(imageMessage=image), ALICE, ALICE, mid=wa_id)
    return convert_messages.message_event(protos.roundtrip(raw)).message.media


async def test_a_received_photo_is_downloaded_from_its_stored_reference(live) -> None:
    gateway, go = live
    photo = b"\xff\xd8 a photo"
    go.files["/v/t62/photo"] = photo
    media = received_photo("3EB0IMG", "/v/t62/photo")
    done = await gateway.fetch_media(ALICE, ALICE, "3EB0IMG", media.ref, media.mimetype)
    assert done.error is None and done.size == len(photo) and done.path.endswith(".jpg")
    assert Path(done.path).read_bytes() == photo
    [asked] = go.downloads  # Go got the keys it needs, without the thumbnail ballast
    assert asked.imageMessage.directPath == "/v/t62/photo"
    assert asked.imageMessage.mediaKey == b"k" * 32 and not asked.imageMessage.JPEGThumbnail

    expired = received_photo("3EB0OLD", "/v/t62/expired")
    gone = await gateway.fetch_media(ALICE, ALICE, "3EB0OLD", expired.ref, expired.mimetype)
    assert gone.path is None and "410" in gone.error  # a result to retry later, not a crash


async def test_read_marks_reach_go_and_errors_are_explained(live) -> None:
    gateway, go = live
    await gateway.mark_read(GROUP, ALICE, ["3EB0A", "3EB0B"])
    assert go.read == [("3EB0A 3EB0B", GROUP)]
    go.error = "websocket not connected"
    with pytest.raises(GatewayError):
        await gateway.mark_read(GROUP, ALICE, ["3EB0C"])


async def test_an_edit_goes_out_as_whatsapps_edit_of_the_sent_message(live) -> None:
    gateway, go = live
    await gateway.edit(ALICE, WaMessageId("3EB0MINE1"), "On my way, 10 min")
    to, msg = go.sent[0]
    edit = msg.editedMessage.message.protocolMessage  # as neonize builds a WhatsApp edit
    assert to == ALICE and edit.type == edit.MESSAGE_EDIT
    assert (edit.key.ID, edit.key.fromMe, edit.key.remoteJID) == ("3EB0MINE1", True, ALICE)
    assert edit.editedMessage.conversation == "On my way, 10 min"
    go.error = "not connected"
    with pytest.raises(NotConnected):
        await gateway.edit(ALICE, WaMessageId("3EB0MINE1"), "again")
