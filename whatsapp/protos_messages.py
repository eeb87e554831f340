"""Builders of real neonize message events: a message's content from the simulator feed's
fields, the live ``MessageEv`` around it, reactions, edits, revocations, undecryptable
messages and receipts. Importing this module loads neonize."""

from __future__ import annotations

import time
from typing import Any

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E

from whatsapp.protos import source


def _context(mentions: list[str] | None, quoted_id: str | None) -> Any | None:
    if not mentions and not quoted_id:
        return None
    ctx = E2E.ContextInfo(mentionedJID=list(mentions or []))
    if quoted_id:
        ctx.stanzaID = quoted_id
        ctx.quotedMessage.CopyFrom(E2E.Message(conversation=""))
    return ctx


def content(fields: dict[str, Any]) -> Any:
    """Build a ``waE2E.Message`` from the simulator feed's message fields."""
    kind = fields.get("kind", "text")
    text = str(fields.get("text", "") or "")
    caption = str(fields.get("caption", "") or text)
    ctx = _context(fields.get("mentions"), fields.get("quoted_id"))
    url = f"file://{fields['media_file']}" if fields.get("media_file") else ""
    mimetype = str(fields.get("mimetype", "") or "")
    size = int(fields.get("file_size", 0) or 0)
    media = {"URL": url, "mimetype": mimetype, "fileLength": size, "directPath": url}
    if kind == "text":
        if ctx is None:
            return E2E.Message(conversation=text)
        return E2E.Message(extendedTextMessage=E2E.ExtendedTextMessage(text=text, contextInfo=ctx))
    if kind == "image":
        sub = E2E.ImageMessage(caption=caption, **media)
        field = "imageMessage"
    elif kind == "video":
        sub = E2E.VideoMessage(caption=caption, **media)
        field = "videoMessage"
    elif kind in {"audio", "voice"}:
        sub = E2E.AudioMessage(PTT=kind == "voice", **media)
        field = "audioMessage"
    elif kind == "document":
        sub = E2E.DocumentMessage(
            caption=caption, fileName=str(fields.get("file_name", "")), **media
        )
        field = "documentMessage"
    elif kind == "sticker":
        sub = E2E.StickerMessage(**media)
        field = "stickerMessage"
    elif kind == "location":
        return E2E.Message(
            locationMessage=E2E.LocationMessage(
                degreesLatitude=float(fields.get("latitude", 0.0)),
                degreesLongitude=float(fields.get("longitude", 0.0)),
                name=text,
            )
        )
    elif kind == "contact":
        vcard = f"BEGIN:VCARD\nVERSION:3.0\nFN:{text}\nTEL:{fields.get('phone', '')}\nEND:VCARD"
        return E2E.Message(contactMessage=E2E.ContactMessage(displayName=text, vcard=vcard))
    elif kind == "poll":
        options = [
            E2E.PollCreationMessage.Option(optionName=str(o)) for o in fields.get("options", [])
        ]
        return E2E.Message(pollCreationMessage=E2E.PollCreationMessage(name=text, options=options))
    else:
        raise ValueError(f"unknown message kind {kind!r}")
    if ctx is not None:
        sub.contextInfo.CopyFrom(ctx)
    return E2E.Message(**{field: sub})


def message_event(
    msg: Any,
    chat: str,
    sender: str,
    *,
    mid: str,
    ts_ms: int | None = None,
    push: str = "",
    from_me: bool = False,
    sender_alt: str | None = None,
    edit: str = "",
) -> Any:
    """Wrap a ``waE2E.Message`` into a live ``MessageEv`` as whatsmeow delivers it."""
    src = source(chat, sender, from_me=from_me, sender_alt=sender_alt)
    info = N.MessageInfo(
        MessageSource=src,
        ID=mid,
        ServerID=0,
        Type="text",
        Pushname=push,
        Timestamp=ts_ms if ts_ms is not None else int(time.time() * 1000),
        Category="",
        Multicast=False,
        MediaType="",
        Edit=edit,
    )
    return N.Message(
        Info=info,
        Message=msg,
        Raw=msg,
        IsEphemeral=False,
        IsViewOnce=False,
        IsViewOnceV2=False,
        IsViewOnceV2Extension=False,
        IsDocumentWithCaption=False,
        IsLottieSticker=False,
        IsEdit=False,
        UnavailableRequestID="",
        RetryCount=0,
    )


def reaction(chat: str, sender: str, target_id: str, emoji: str) -> Any:
    """Build a reaction ``waE2E.Message``."""
    key = MessageKey(remoteJID=chat, fromMe=False, ID=target_id)
    return E2E.Message(
        reactionMessage=E2E.ReactionMessage(
            key=key, text=emoji, senderTimestampMS=int(time.time() * 1000)
        )
    )


def edit(chat: str, target_id: str, text: str) -> Any:
    """Build a MESSAGE_EDIT protocol message."""
    proto = E2E.ProtocolMessage(
        key=MessageKey(remoteJID=chat, fromMe=False, ID=target_id),
        type=E2E.ProtocolMessage.MESSAGE_EDIT,
        editedMessage=E2E.Message(conversation=text),
    )
    return E2E.Message(protocolMessage=proto)


def revoke(chat: str, target_id: str, participant: str = "") -> Any:
    """Build a REVOKE protocol message."""
    key = MessageKey(remoteJID=chat, fromMe=False, ID=target_id, participant=participant)
    return E2E.Message(
        protocolMessage=E2E.ProtocolMessage(key=key, type=E2E.ProtocolMessage.REVOKE)
    )


def undecryptable(chat: str, sender: str, *, mid: str, ts_ms: int | None = None) -> Any:
    """Build an ``UndecryptableMessage`` (the phone shows "Waiting for this message")."""
    info = message_event(E2E.Message(), chat, sender, mid=mid, ts_ms=ts_ms).Info
    return N.UndecryptableMessage(
        Info=info,
        IsUnavailable=False,
        DecryptFailMode=N.UndecryptableMessage.DECRYPT_FAIL_SHOW,
    )


def receipt(
    chat: str,
    sender: str,
    ids: list[str],
    kind: int = 4,
    *,
    ts: int | None = None,
    from_me: bool = False,
) -> Any:
    """Build a ``Receipt`` event (``kind`` is neonize's ``ReceiptType``: 1 delivered,
    4 read, 6 played; ``ts`` in seconds, as whatsmeow sends it)."""
    src = source(chat, sender, from_me=from_me)
    when = int(time.time()) if ts is None else ts
    return N.Receipt(MessageSource=src, MessageIDs=ids, Timestamp=when, Type=kind)
