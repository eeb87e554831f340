"""What a ``waE2E.Message`` says: its kind, text, caption, media, mentions and quote.

Works on the protobuf objects by attribute (no neonize import, so it is cheap to test and
to run in a worker thread). Live ``MessageEv`` payloads arrive unwrapped by whatsmeow;
history-sync ``WebMessageInfo`` payloads do not, so ``unwrap`` runs on those first (see
history.py). Protocol noise (key distribution, poll votes, app-state) reads as None;
anything else we cannot read becomes an ``other`` body with a short description, never an
exception. Who sent it where is not read here (convert_messages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.events import MediaInfo
from core.ids import MessageKind, WaMessageId

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


def _media_body(msg: Any) -> Body | None:
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
    return None


def _card_body(msg: Any) -> Body | None:
    """A location, a contact card (or several) or a poll."""
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
    return None


def read_body(msg: Any) -> Body | None:
    """Return the content of an unwrapped message, or None for protocol noise."""
    if msg.HasField("conversation"):
        return Body(MessageKind.TEXT, text=msg.conversation)
    if msg.HasField("extendedTextMessage"):
        ext = msg.extendedTextMessage
        mentions, quoted = _context(ext)
        return Body(MessageKind.TEXT, text=ext.text, mentions=mentions, quoted_id=quoted)
    found = _media_body(msg) or _card_body(msg)
    if found is not None:
        return found
    present = set_fields(msg)
    if present and set(present) <= NOISE:
        return None
    content = [f for f in present if f not in NOISE]
    label = content[0] if content else "empty message"
    return Body(
        MessageKind.OTHER, text=f"[unsupported WhatsApp message: {label}]"[:MAX_DESCRIPTION]
    )
