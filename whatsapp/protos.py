"""Builders of real neonize 0.5.2 protobuf events (all proto2 required fields filled).

Used by the simulator backend and by tests, so both exercise the same conversion code as
the live client. Importing this module loads neonize (and its Go library).
"""

from __future__ import annotations

import time
from typing import Any

from neonize.proto import Neonize_pb2 as N
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E
from neonize.proto.waHistorySync import WAWebProtobufsHistorySync_pb2 as HS
from neonize.proto.waWeb.WAWebProtobufsWeb_pb2 import WebMessageInfo

EMPTY_JID = N.JID(User="", Server="", Device=0, RawAgent=0, Integrator=0, IsEmpty=True)

#: Event type names as the gateway dispatches them, mapped to neonize's protobuf classes.
EVENT_TYPES: dict[str, type[Any]] = {
    "message": N.Message,
    "receipt": N.Receipt,
    "connected": N.Connected,
    "disconnected": N.Disconnected,
    "logged_out": N.LoggedOut,
    "stream_replaced": N.StreamReplaced,
    "client_outdated": N.ClientOutdated,
    "temporary_ban": N.TemporaryBan,
    "connect_failure": N.ConnectFailure,
    "pair_status": N.PairStatus,
    "keepalive_timeout": N.KeepAliveTimeout,
    "keepalive_restored": N.KeepAliveRestored,
    "history_sync": N.HistorySync,
    "joined_group": N.JoinedGroup,
    "group_info": N.GroupInfoEvent,
    "stream_error": N.StreamError,
    "picture": N.Picture,
    "offline_sync_completed": N.OfflineSyncCompleted,
    "call_offer": N.CallOffer,
    "call_offer_notice": N.CallOfferNotice,
    "call_accept": N.CallAccept,
    "call_terminate": N.CallTerminate,
    "undecryptable": N.UndecryptableMessage,
}


def jid(value: str) -> Any:
    """Build a JID protobuf from ``user[:device]@server``."""
    user, _, server = value.partition("@")
    user, _, device = user.partition(":")
    return N.JID(
        User=user,
        Server=server or "s.whatsapp.net",
        Device=int(device or 0),
        RawAgent=0,
        Integrator=0,
        IsEmpty=False,
    )


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
    chat_jid, sender_jid = jid(chat), jid(sender)
    src = N.MessageSource(
        Chat=chat_jid,
        Sender=sender_jid,
        IsFromMe=from_me,
        IsGroup=chat_jid.Server == "g.us",
        AddressingMode=N.AddressingMode.LID if sender_jid.Server == "lid" else N.AddressingMode.PN,
        SenderAlt=jid(sender_alt) if sender_alt else EMPTY_JID,
        RecipientAlt=EMPTY_JID,
        BroadcastListOwner=EMPTY_JID,
    )
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


def web_message(fields: dict[str, Any], msg: Any) -> Any:
    """Build a history-sync ``WebMessageInfo`` (timestamps in seconds)."""
    chat = str(fields["chat"])
    sender = str(fields.get("sender", chat))
    ts = int(fields.get("timestamp", time.time()))
    key = MessageKey(
        remoteJID=chat, fromMe=bool(fields.get("from_me", False)), ID=str(fields["id"])
    )
    if chat.endswith("@g.us"):
        key.participant = sender
    return WebMessageInfo(
        key=key, message=msg, messageTimestamp=ts, pushName=str(fields.get("push_name", ""))
    )


def history_sync(
    conversations: dict[str, list[Any]],
    names: dict[str, str] | None = None,
    *,
    progress: int = 100,
    pushnames: dict[str, str] | None = None,
    lid_links: dict[str, str] | None = None,
    sync_type: int = HS.HistorySync.RECENT,
) -> Any:
    """Build a ``HistorySyncEv`` from ``{chat: [WebMessageInfo, ...]}``."""
    data = HS.HistorySync(syncType=sync_type, progress=progress, chunkOrder=1)
    for order, (chat, messages) in enumerate(conversations.items()):
        conv = data.conversations.add(ID=chat)
        if names and chat in names:
            conv.name = names[chat]
        for i, web in enumerate(messages):
            conv.messages.add(msgOrderID=order * 1_000_000 + i).message.CopyFrom(web)
    for jid_, name in (pushnames or {}).items():
        data.pushnames.add(ID=jid_, pushname=name)
    for pn, lid in (lid_links or {}).items():
        data.phoneNumberToLidMappings.add(pnJID=pn, lidJID=lid)
    return N.HistorySync(Data=data)


def group_info(
    group: str,
    name: str,
    participants: list[str] | None = None,
    promote: list[str] | None = None,
    demote: list[str] | None = None,
) -> Any:
    """Build a ``GroupInfoEvent`` announcing a group's name (joins, admins promoted/demoted)."""
    ev = N.GroupInfoEvent(
        JID=jid(group),
        Notify="",
        Timestamp=int(time.time()),
        Name=N.GroupName(Name=name, NameSetAt=int(time.time()), NameSetBy=EMPTY_JID),
        PrevParticipantsVersionID="",
        ParticipantVersionID="",
        JoinReason="",
    )
    ev.Join.extend(jid(p) for p in participants or [])
    ev.Promote.extend(jid(p) for p in promote or [])
    ev.Demote.extend(jid(p) for p in demote or [])
    if not name:
        ev.ClearField("Name")
    return ev


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
    sender_jid = jid(sender)
    src = N.MessageSource(
        Chat=jid(chat),
        Sender=sender_jid,
        IsFromMe=from_me,
        IsGroup=chat.endswith("@g.us"),
        AddressingMode=N.AddressingMode.LID if sender_jid.Server == "lid" else N.AddressingMode.PN,
        SenderAlt=EMPTY_JID,
        RecipientAlt=EMPTY_JID,
        BroadcastListOwner=EMPTY_JID,
    )
    when = int(time.time()) if ts is None else ts
    return N.Receipt(MessageSource=src, MessageIDs=ids, Timestamp=when, Type=kind)


def simple(name: str, **fields: Any) -> Any:
    """Build a connection event by gateway name, e.g. ``simple("logged_out")``."""
    defaults: dict[str, dict[str, Any]] = {
        "connected": {"status": True},
        "disconnected": {"status": True},
        "logged_out": {"OnConnect": False, "Reason": N.ConnectFailureReason.LOGGED_OUT},
        "temporary_ban": {"Code": 1, "Expire": 3600},
        "keepalive_timeout": {"ErrorCount": 1, "LastSuccess": int(time.time())},
        "connect_failure": {
            "Reason": N.ConnectFailureReason.GENERIC,
            "Message": "",
            "Raw": N.Node(Tag="failure"),
        },
    }
    return EVENT_TYPES[name](**{**defaults.get(name, {}), **fields})


def media_message(field: str, payload: bytes) -> Any:
    """Rebuild the ``waE2E.Message`` holding one media field from a convert.py media ref."""
    if field not in E2E.Message.DESCRIPTOR.fields_by_name:
        raise ValueError("unknown media field")
    msg = E2E.Message()
    getattr(msg, field).MergeFromString(payload)
    return msg


def roundtrip(ev: Any) -> Any:
    """Serialize and parse again, exactly as neonize's dispatcher does with Go's bytes."""
    return type(ev).FromString(ev.SerializeToString())


def contact(jid_: str, full: str = "", first: str = "", push: str = "", business: str = "") -> Any:
    """Build one entry of the session's contact store (``Contact``), as
    ``client.contact.get_all_contacts()`` returns them."""
    info = N.ContactInfo(
        Found=True,
        FirstName=first,
        FullName=full,
        PushName=push,
        BusinessName=business,
        RedactedPhone="",
    )
    return N.Contact(JID=jid(jid_), Info=info)


def contact_of(jid_: str, info: Any) -> Any:
    """Wrap the ``ContactInfo`` of ``client.contact.get_contact(jid)`` into a ``Contact``."""
    return N.Contact(JID=jid(jid_), Info=info)


def _call_meta(call_id: str, chat: str, caller: str, ts: int) -> Any:
    return N.BasicCallMeta(
        **{"from": jid(chat)},
        timestamp=ts,
        callCreator=jid(caller),
        callCreatorAlt=EMPTY_JID,
        callID=call_id,
    )


def call_events(
    call_id: str,
    chat: str,
    caller: str,
    *,
    video: bool = False,
    group: bool = False,
    missed: bool = True,
    ts: int | None = None,
) -> list[tuple[str, Any]]:
    """The events of one incoming call as whatsmeow delivers them, by gateway name: the
    offer (a notice for a group call), its acceptance on another device unless it was
    missed, and its end."""
    ts = int(time.time()) if ts is None else ts
    meta = _call_meta(call_id, chat, caller, ts)
    remote = N.CallRemoteMeta(remotePlatform="android", remoteVersion="2.25")
    media = "video" if video else "audio"
    if group:
        offer: tuple[str, Any] = (
            "call_offer_notice",
            N.CallOfferNotice(
                basicCallMeta=meta, media=media, type="group", data=N.Node(Tag="offer_notice")
            ),
        )
    else:
        node = N.Node(Tag="offer", Nodes=[N.Node(Tag=media)])
        offer = ("call_offer", N.CallOffer(basicCallMeta=meta, callRemoteMeta=remote, data=node))
    events = [offer]
    if not missed:
        accept = N.CallAccept(basicCallMeta=meta, callRemoteMeta=remote, data=N.Node(Tag="accept"))
        events.append(("call_accept", accept))
    end = N.CallTerminate(basicCallMeta=meta, reason="timeout", data=N.Node(Tag="terminate"))
    events.append(("call_terminate", end))
    return events


def undecryptable(chat: str, sender: str, *, mid: str, ts_ms: int | None = None) -> Any:
    """Build an ``UndecryptableMessage`` (the phone shows "Waiting for this message")."""
    info = message_event(E2E.Message(), chat, sender, mid=mid, ts_ms=ts_ms).Info
    return N.UndecryptableMessage(
        Info=info,
        IsUnavailable=False,
        DecryptFailMode=N.UndecryptableMessage.DECRYPT_FAIL_SHOW,
    )
