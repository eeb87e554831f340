"""Pure conversion from neonize protobuf events to domain events.

Works on the protobuf objects by attribute (no neonize import, so it is cheap to test and
to run in a worker thread). Live ``MessageEv`` payloads arrive unwrapped by whatsmeow;
history-sync ``WebMessageInfo`` payloads do not, so ``unwrap`` runs on those first (see
history.py, which converts history-sync chunks with the readers here).
Protocol noise (key distribution, poll votes, app-state) returns None; anything else we
cannot read becomes an ``other`` message with a short description, never an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.events import (
    CallSeen,
    CallState,
    ContactSeen,
    GatewayEvent,
    GroupSeen,
    MediaInfo,
    MessageEdited,
    MessageReceived,
    MessageRevoked,
    ReactionReceived,
    ReceiptReceived,
    WaMessage,
)
from core.ids import (
    GROUP_SERVER,
    LID_SERVER,
    PERSON_SERVER,
    ChatJid,
    MessageKind,
    ReceiptKind,
    WaMessageId,
    is_group_jid,
    jid_server,
    jid_user,
)

logger = logging.getLogger(__name__)

DECRYPT_FAIL_HIDE = 2  # UndecryptableMessage.DecryptFailMode: not shown on phones either
PROTOCOL_REVOKE = 0
PROTOCOL_EDIT = 14
RECEIPT_KINDS = {1: ReceiptKind.DELIVERED, 4: ReceiptKind.READ, 6: ReceiptKind.PLAYED}
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
#: Fields that carry no user content: skipped (logged at DEBUG), not stored.
NOISE = frozenset(
    {
        "senderKeyDistributionMessage",
        "fastRatchetKeySenderKeyDistributionMessage",
        "messageContextInfo",
        "pollUpdateMessage",
        "keepInChatMessage",
        "encReactionMessage",
        "pinInChatMessage",
        "stickerSyncRmrMessage",
        "deviceSentMessage",
    }
)
MEDIA_FIELDS = {
    "imageMessage": MessageKind.IMAGE,
    "videoMessage": MessageKind.VIDEO,
    "ptvMessage": MessageKind.VIDEO,
    "documentMessage": MessageKind.DOCUMENT,
    "stickerMessage": MessageKind.STICKER,
    "lottieStickerMessage": MessageKind.STICKER,
}
MAX_DESCRIPTION = 200


def jid_str(jid: Any) -> str:
    """Return ``user@server`` without device or agent; "" for Go's empty JID."""
    if jid is None or getattr(jid, "IsEmpty", False) or not getattr(jid, "User", ""):
        return ""
    user = jid.User if jid.Server == GROUP_SERVER else jid.User.partition(".")[0]
    return f"{user.partition(':')[0]}@{jid.Server}"


def from_s(seconds: float, now: datetime | None = None) -> datetime:
    """Return the aware UTC time of a second timestamp (history, receipts); an impossible
    one (missing, negative, or more than a day ahead) becomes "now" rather than a lost message."""
    now = now or datetime.now(UTC)
    if seconds <= 0:
        return now
    try:
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now
    return now if when > now + timedelta(days=1) else when


def from_ms(ms: int) -> datetime:
    """Return the aware UTC time of a millisecond timestamp (MessageEv)."""
    return from_s(ms / 1000)


@dataclass(frozen=True, slots=True)
class Body:
    """What a ``waE2E.Message`` says, before we know who sent it where."""

    kind: MessageKind
    text: str = ""
    caption: str = ""
    media: MediaInfo | None = None
    mentions: tuple[str, ...] = ()
    quoted_id: WaMessageId | None = None


def set_fields(msg: Any) -> list[str]:
    """Return the names of the populated top-level fields of a protobuf."""
    return [field.name for field, _ in msg.ListFields()]


def unwrap(msg: Any) -> tuple[Any, bool, bool]:
    """Strip wrapper messages; return (inner message, view_once, ephemeral)."""
    if msg.HasField("conversation"):
        return msg, False, False  # plain text, most of any history: nothing to strip
    view_once = ephemeral = False
    for _ in range(6):
        for name in WRAPPERS:
            if msg.HasField(name) and getattr(msg, name).HasField("message"):
                view_once |= name.startswith("viewOnce")
                ephemeral |= name == "ephemeralMessage"
                msg = getattr(msg, name).message
                break
        else:
            break
    return msg, view_once, ephemeral


def _context(sub: Any) -> tuple[tuple[str, ...], WaMessageId | None]:
    if sub is None or not sub.HasField("contextInfo"):
        return (), None
    ctx = sub.contextInfo
    mentions = tuple(dict.fromkeys(m for m in ctx.mentionedJID if m))
    return mentions, WaMessageId(ctx.stanzaID) if ctx.stanzaID else None


def _media(sub: Any, field: str) -> MediaInfo:
    # Keep only what a later download needs (not the JPEG thumbnail): the message with this
    # one media field, serialized. The gateway turns it back into a download.
    copy = type(sub)()
    copy.CopyFrom(sub)
    for heavy in ("JPEGThumbnail", "contextInfo", "waveform", "streamingSidecar"):
        if copy.DESCRIPTOR.fields_by_name.get(heavy) is not None:
            copy.ClearField(heavy)
    return MediaInfo(
        mimetype=getattr(sub, "mimetype", "") or "",
        file_name=getattr(sub, "fileName", "") or "",
        size=int(getattr(sub, "fileLength", 0) or 0),
        ref=field.encode() + b"\0" + copy.SerializeToString(),
    )


def _poll_text(poll: Any) -> str:
    options = "\n".join(f"• {o.optionName}" for o in poll.options)
    return f"📊 {poll.name}\n{options}".strip()


def _location_text(loc: Any) -> str:
    label = " — ".join(p for p in (loc.name, loc.address) if p)
    coords = f"{loc.degreesLatitude:.5f}, {loc.degreesLongitude:.5f}"
    return f"📍 {label} ({coords})" if label else f"📍 {coords}"


def _vcard_phone(vcard: str) -> str:
    for line in vcard.splitlines():
        if line.upper().startswith("TEL") and ":" in line:
            return line.split(":", 1)[1].strip()
    return ""


def read_body(msg: Any) -> Body | None:
    """Return the content of an unwrapped message, or None for protocol noise."""
    if msg.HasField("conversation"):
        return Body(MessageKind.TEXT, text=msg.conversation)
    if msg.HasField("extendedTextMessage"):
        ext = msg.extendedTextMessage
        mentions, quoted = _context(ext)
        return Body(MessageKind.TEXT, text=ext.text, mentions=mentions, quoted_id=quoted)
    for field, kind in MEDIA_FIELDS.items():
        if msg.HasField(field):
            sub = getattr(msg, field)
            mentions, quoted = _context(sub)
            caption = getattr(sub, "caption", "") or ""
            return Body(
                kind,
                caption=caption,
                media=_media(sub, field),
                mentions=mentions,
                quoted_id=quoted,
            )
    if msg.HasField("audioMessage"):
        sub = msg.audioMessage
        _, quoted = _context(sub)
        kind = MessageKind.VOICE if sub.PTT else MessageKind.AUDIO
        return Body(kind, media=_media(sub, "audioMessage"), quoted_id=quoted)
    for field in ("locationMessage", "liveLocationMessage"):
        if msg.HasField(field):
            loc = getattr(msg, field)
            _, quoted = _context(loc)
            return Body(MessageKind.LOCATION, text=_location_text(loc), quoted_id=quoted)
    if msg.HasField("contactMessage"):
        card = msg.contactMessage
        phone = _vcard_phone(card.vcard)
        text = f"👤 {card.displayName}" + (f" ({phone})" if phone else "")
        return Body(MessageKind.CONTACT, text=text)
    if msg.HasField("contactsArrayMessage"):
        cards = msg.contactsArrayMessage.contacts
        names = ", ".join(c.displayName for c in cards if c.displayName)
        return Body(MessageKind.CONTACT, text=f"👥 {len(cards)} contacts: {names}")
    for field in ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3"):
        if msg.HasField(field):
            return Body(MessageKind.POLL, text=_poll_text(getattr(msg, field)))
    present = set_fields(msg)
    if present and set(present) <= NOISE:
        return None
    content = [f for f in present if f not in NOISE]
    label = content[0] if content else "empty message"
    return Body(
        MessageKind.OTHER, text=f"[unsupported WhatsApp message: {label}]"[:MAX_DESCRIPTION]
    )


def _alts(src: Any, chat: str, from_me: bool) -> tuple[ChatJid | None, ChatJid | None]:
    sender_alt = jid_str(src.SenderAlt) or None
    if is_group_jid(chat):
        return (ChatJid(sender_alt) if sender_alt else None), None
    chat_alt = jid_str(src.RecipientAlt) if from_me else sender_alt
    return (
        ChatJid(sender_alt) if sender_alt else None,
        ChatJid(chat_alt) if chat_alt and chat_alt != chat else None,
    )


def message_event(ev: Any) -> GatewayEvent | None:
    """Convert a live ``MessageEv``; None for protocol noise and messages without a chat."""
    info = ev.Info
    src = info.MessageSource
    chat, sender = jid_str(src.Chat), jid_str(src.Sender)
    if not chat or not info.ID:
        logger.warning("message event without chat or id skipped")
        return None
    sender = sender or chat
    when = from_ms(info.Timestamp)
    msg = ev.Message
    if msg.HasField("reactionMessage"):
        r = msg.reactionMessage
        return ReactionReceived(
            ChatJid(chat), ChatJid(sender), WaMessageId(r.key.ID), r.text, when
        )
    if msg.HasField("protocolMessage"):
        proto = msg.protocolMessage
        if proto.type == PROTOCOL_REVOKE and proto.key.ID:
            by_admin = info.Edit == "8" or bool(
                proto.key.participant and jid_user(proto.key.participant) != jid_user(sender)
            )
            return MessageRevoked(
                ChatJid(chat),
                ChatJid(sender),
                WaMessageId(proto.key.ID),
                by_admin,
                when,
                from_me=src.IsFromMe,
            )
        if proto.type == PROTOCOL_EDIT and proto.key.ID:
            inner, _, _ = unwrap(proto.editedMessage)
            body = read_body(inner)
            text = (body.text or body.caption) if body else ""
            return MessageEdited(
                ChatJid(chat),
                ChatJid(sender),
                WaMessageId(proto.key.ID),
                text,
                when,
                from_me=src.IsFromMe,
            )
        return None
    inner, view_once, ephemeral = unwrap(msg)
    body = read_body(inner)
    if body is None:
        return None
    sender_alt, chat_alt = _alts(src, chat, src.IsFromMe)
    return MessageReceived(
        WaMessage(
            id=WaMessageId(info.ID),
            chat=ChatJid(chat),
            sender=ChatJid(sender),
            timestamp=when,
            kind=body.kind,
            text=body.text,
            caption=body.caption,
            push_name="" if src.IsFromMe else info.Pushname,
            from_me=src.IsFromMe,
            sender_alt=sender_alt,
            chat_alt=chat_alt,
            media=body.media,
            mentions=body.mentions,
            quoted_id=body.quoted_id,
            view_once=view_once or ev.IsViewOnce or ev.IsViewOnceV2,
            ephemeral=ephemeral or ev.IsEphemeral,
        )
    )


def receipt_event(ev: Any) -> ReceiptReceived | None:
    """Convert a ``Receipt``; None for receipt types we do not track."""
    kind = RECEIPT_KINDS.get(int(ev.Type))
    chat = jid_str(ev.MessageSource.Chat)
    if kind is None or not chat or not ev.MessageIDs:
        return None
    ids = tuple(WaMessageId(i) for i in ev.MessageIDs)
    return ReceiptReceived(ChatJid(chat), ids, kind, from_s(ev.Timestamp))


CALL_STATES = {
    "call_offer": CallState.RINGING,
    "call_offer_notice": CallState.RINGING,
    "call_accept": CallState.ANSWERED,
    "call_terminate": CallState.MISSED,  # unless it was answered: storage keeps that
}


def _has_tag(node: Any, tag: str, depth: int = 3) -> bool:
    """Whether a ``Node`` or one of its children (a few levels down) has this tag."""
    if node.Tag == tag:
        return True
    return depth > 0 and any(_has_tag(child, tag, depth - 1) for child in node.Nodes)


def call_event(name: str, ev: Any) -> CallSeen | None:
    """Convert ``CallOffer`` / ``CallOfferNotice`` (a group call) / ``CallAccept`` /
    ``CallTerminate``; None when the event names no call or no chat."""
    meta = ev.basicCallMeta
    origin = jid_str(getattr(meta, "from"))
    caller = jid_str(meta.callCreator) or origin
    group = is_group_jid(origin) or (name == "call_offer_notice" and ev.type == "group")
    chat = origin if is_group_jid(origin) else caller
    if not meta.callID or not chat or not caller or is_group_jid(caller):
        logger.warning("call event without call id or caller skipped")
        return None
    video = False
    if name == "call_offer_notice":
        video = ev.media == "video"
    elif name == "call_offer":
        video = _has_tag(ev.data, "video")
    stamp = int(meta.timestamp)
    when = from_ms(stamp) if stamp > 100_000_000_000 else from_s(stamp)
    alt = jid_str(meta.callCreatorAlt)
    return CallSeen(
        id=meta.callID[:128],
        chat=ChatJid(chat),
        caller=ChatJid(caller),
        timestamp=when,
        state=CALL_STATES[name],
        video=video,
        group=group,
        caller_alt=ChatJid(alt) if alt and alt != caller else None,
    )


def undecryptable_event(ev: Any) -> MessageReceived | None:
    """Convert ``UndecryptableMessage`` (the phone shows "Waiting for this message") into a
    placeholder message that the retry, with the same id, replaces; None for one WhatsApp
    says to hide (a reaction, a poll vote) or without chat or id."""
    if int(ev.DecryptFailMode) == DECRYPT_FAIL_HIDE:
        return None
    info = ev.Info
    src = info.MessageSource
    chat, sender = jid_str(src.Chat), jid_str(src.Sender)
    if not chat or not info.ID:
        logger.warning("undecryptable message without chat or id skipped")
        return None
    sender_alt, chat_alt = _alts(src, chat, src.IsFromMe)
    return MessageReceived(
        WaMessage(
            id=WaMessageId(info.ID),
            chat=ChatJid(chat),
            sender=ChatJid(sender or chat),
            timestamp=from_ms(info.Timestamp),
            kind=MessageKind.WAITING,
            push_name="" if src.IsFromMe else info.Pushname,
            from_me=src.IsFromMe,
            sender_alt=sender_alt,
            chat_alt=chat_alt,
        )
    )


def group_info(info: Any) -> GroupSeen | None:
    """Convert a ``GroupInfo`` (a joined group, or one of ``get_joined_groups``): subject,
    members and admins."""
    members = tuple(ChatJid(jid_str(p.JID)) for p in info.Participants if jid_str(p.JID))
    admins = tuple(
        ChatJid(jid_str(p.JID))
        for p in info.Participants
        if jid_str(p.JID) and (p.IsAdmin or p.IsSuperAdmin)
    )
    jid = jid_str(info.JID)
    if not is_group_jid(jid):
        logger.warning("group info for a JID that is not a group skipped")
        return None
    return GroupSeen(ChatJid(jid), info.GroupName.Name[:256], members, admins)


def contact_entry(entry: Any) -> ContactSeen | None:
    """Convert one entry of the session's contact store (``Contact``: JID and ``ContactInfo``
    with the saved full and first name, push name and business name); None for an entry
    that is not a person or names nobody."""
    jid = jid_str(entry.JID)
    if jid_server(jid) not in {PERSON_SERVER, LID_SERVER}:
        return None
    info = entry.Info
    found = ContactSeen(
        ChatJid(jid),
        name=info.FullName[:256],
        push_name=info.PushName[:256],
        first_name=info.FirstName[:256],
        business_name=info.BusinessName[:256],
    )
    if not (found.name or found.push_name or found.first_name or found.business_name):
        return None
    return found


def group_event(ev: Any) -> GroupSeen | None:
    """Convert ``JoinedGroup`` (name, members, admins) or ``GroupInfoEvent`` (a new name,
    admins promoted or demoted)."""
    admins: tuple[ChatJid, ...] | None = None
    promoted: tuple[ChatJid, ...] = ()
    demoted: tuple[ChatJid, ...] = ()
    if ev.DESCRIPTOR.name == "JoinedGroup":
        return group_info(ev.GroupInfo)
    else:
        jid, members = jid_str(ev.JID), ()
        name = ev.Name.Name if ev.HasField("Name") else ""
        promoted = tuple(ChatJid(s) for j in ev.Promote if (s := jid_str(j)))
        demoted = tuple(ChatJid(s) for j in ev.Demote if (s := jid_str(j)))
        if not name and not promoted and not demoted:
            return None
    if not is_group_jid(jid):
        logger.warning("group event for a JID that is not a group skipped")
        return None
    return GroupSeen(ChatJid(jid), name[:256], members, admins, promoted, demoted)
