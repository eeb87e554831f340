"""What an owner's Telegram message becomes on WhatsApp (a reply to a forward).

Text, photo, file, voice message (a push-to-talk voice note), audio, video, video note, GIF,
still sticker, location (or venue) and contact each map to a WhatsApp kind; anything else
(poll, dice, game, ...) is refused with the list of kinds that work. Sizes are checked
against Telegram's declared ``file_size`` before anything is downloaded, and again after.
Only PTB objects are read here; sending is ``assistant.sending``'s job.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from telegram import Message
from telegram.error import TelegramError

from core.events import OutgoingMessage
from core.ids import ChatJid, MessageKind
from core.media import webp_info

MB = 1024 * 1024
#: The public Bot API hands a bot files up to this size.
BOT_DOWNLOAD_LIMIT = 20 * MB
#: WhatsApp's limit for photos, videos and audio (documents may be larger, up to the above).
WHATSAPP_MEDIA_LIMIT = 16 * MB
#: Telegram's own limit for a still sticker; anything larger is not a sticker.
STICKER_LIMIT = 512 * 1024
MAX_PLACE = 256  # characters of a venue title or address

WORKS = (
    "text, photos, files, voice messages, audio files, videos, video notes, GIFs, "
    "still stickers, locations and contacts"
)
NOT_SENDABLE = {
    "poll": "A poll",
    "checklist": "A checklist",
    "dice": "A dice",
    "game": "A game",
    "invoice": "An invoice",
    "story": "A story",
    "giveaway": "A giveaway",
    "paid_media": "Paid media",
}
WHATSAPP_AUDIO = {
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/mp4": "audio/mp4",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/aac": "audio/aac",
    "audio/amr": "audio/amr",
    "audio/ogg": "audio/ogg",
}
WHATSAPP_VIDEO = frozenset({"video/mp4", "video/3gpp"})
#: Kinds WhatsApp shows without a caption: a Telegram caption follows as its own text.
NO_CAPTION = frozenset({MessageKind.VOICE, MessageKind.AUDIO, MessageKind.STICKER})


class Refused(ValueError):
    """The message cannot go to WhatsApp; the text says why, in plain words (not escaped)."""


@dataclass
class Pick:
    """The WhatsApp kind chosen for a Telegram attachment, before it is downloaded."""

    kind: MessageKind
    source: Any  # the PTB PhotoSize / Voice / Audio / ... with file_size and get_file()
    label: str  # "voice message", for answers
    limit: int
    fields: dict[str, Any] = field(default_factory=dict)


async def from_telegram(
    message: Message, to: ChatJid, quote: dict[str, Any]
) -> list[OutgoingMessage]:
    """Return what ``message`` sends to the chat ``to``: one message, or two when WhatsApp
    has no caption for the kind (the caption follows as a text). ``quote`` holds the
    ``quoted_*`` fields of a reply.

    Raises Refused with the reason when it cannot be sent.
    """
    text = message.caption or ""
    pick = _pick(message)
    if pick is None:
        body = _place(message) or _contact(message)
        if body is None:
            if message.text is None:
                raise Refused(f"{_what(message)} cannot be sent to WhatsApp. What works: {WORKS}.")
            body = {"text": message.text}
        return [OutgoingMessage(to=to, **body, **quote)]
    data = await _download(pick)
    kind, mimetype = _sticker_kind(data) if pick.kind == MessageKind.STICKER else (pick.kind, "")
    fields = {"mimetype": mimetype, **pick.fields} if mimetype else pick.fields
    caption = "" if kind in NO_CAPTION else text
    first = OutgoingMessage(to=to, kind=kind, media=data, text=caption, **fields, **quote)
    if text and kind in NO_CAPTION:
        return [first, OutgoingMessage(to=to, text=text)]
    return [first]


def _pick(message: Message) -> Pick | None:
    """Choose the WhatsApp kind for the attachment (None: no file to download)."""
    media = WHATSAPP_MEDIA_LIMIT
    if message.photo:
        return Pick(
            MessageKind.IMAGE, message.photo[-1], "photo", media, {"mimetype": "image/jpeg"}
        )
    if message.animation:  # checked before document: Telegram sets both for a GIF
        gif = message.animation
        if gif.mime_type in WHATSAPP_VIDEO:
            fields = {"mimetype": gif.mime_type, "seconds": _seconds(gif.duration), "gif": True}
            return Pick(MessageKind.VIDEO, gif, "GIF", media, fields)
        return _as_file(gif, gif.file_name or "animation.gif")
    if message.voice:
        voice = message.voice
        if (voice.mime_type or "audio/ogg") in {"audio/ogg", "audio/opus"}:
            fields = {"mimetype": "audio/ogg", "seconds": _seconds(voice.duration)}
            return Pick(MessageKind.VOICE, voice, "voice message", media, fields)
        mime = WHATSAPP_AUDIO.get(voice.mime_type or "", "")
        if mime:
            fields = {"mimetype": mime, "seconds": _seconds(voice.duration)}
            return Pick(MessageKind.AUDIO, voice, "voice message", media, fields)
        return _as_file(voice, "voice")
    if message.audio:
        audio = message.audio
        mime = WHATSAPP_AUDIO.get(audio.mime_type or "", "")
        if not mime:
            return _as_file(audio, audio.file_name or "audio")
        fields = {
            "mimetype": mime,
            "seconds": _seconds(audio.duration),
            "file_name": audio.file_name or "",
        }
        return Pick(MessageKind.AUDIO, audio, "audio file", media, fields)
    if message.video:
        video = message.video
        if video.mime_type not in WHATSAPP_VIDEO:
            return _as_file(video, video.file_name or "video")
        fields = {"mimetype": video.mime_type, "seconds": _seconds(video.duration)}
        return Pick(MessageKind.VIDEO, video, "video", media, fields)
    if message.video_note:
        note = message.video_note
        fields = {"mimetype": "video/mp4", "seconds": _seconds(note.duration)}
        return Pick(MessageKind.VIDEO, note, "video note", media, fields)
    if message.sticker:
        return _sticker(message)
    if message.document:
        doc = message.document
        return _as_file(doc, doc.file_name or "file")
    return None


def _seconds(duration: Any) -> int:
    """Telegram's length in whole seconds (PTB gives an int, or a timedelta when asked to)."""
    if isinstance(duration, dt.timedelta):
        return int(duration.total_seconds())
    return int(duration or 0)


def _as_file(source: Any, name: str) -> Pick:
    """Send as a WhatsApp document: what WhatsApp would not play inline still arrives."""
    fields = {"file_name": name, "mimetype": getattr(source, "mime_type", None) or ""}
    return Pick(MessageKind.DOCUMENT, source, "file", BOT_DOWNLOAD_LIMIT, fields)


def _sticker(message: Message) -> Pick:
    sticker = message.sticker
    if sticker.is_animated:
        raise Refused(
            "That is an animated sticker (Telegram's Lottie .tgs format). WhatsApp cannot show "
            "it, and converting it needs a Lottie renderer this bot does not include. "
            "Still stickers work."
        )
    if sticker.is_video:
        raise Refused(
            "That is a video sticker (WebM). Turning it into a WhatsApp animated sticker needs "
            "ffmpeg video conversion, which this bot does not do. Still stickers work."
        )
    return Pick(MessageKind.STICKER, sticker, "sticker", STICKER_LIMIT)


def _sticker_kind(data: bytes) -> tuple[MessageKind, str]:
    """A still WebP goes as a sticker; a PNG or JPEG as a photo; anything else is refused."""
    info = webp_info(data)
    if info is not None and not info[2]:
        return MessageKind.STICKER, "image/webp"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MessageKind.IMAGE, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return MessageKind.IMAGE, "image/jpeg"
    raise Refused("That sticker is not a still image WhatsApp can show. Still stickers work.")


async def _download(pick: Pick) -> bytes:
    _check_size(pick, pick.source.file_size or 0)
    try:
        file = await pick.source.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        if "too big" in exc.message.lower():  # Telegram knew a size the message did not say
            raise Refused(
                f"That {pick.label} is larger than the {_mb(BOT_DOWNLOAD_LIMIT)} a Telegram "
                "bot may download, so it cannot pass it on. Nothing was sent."
            ) from exc
        raise Refused(f"Telegram did not hand over the {pick.label}: {exc.message}") from exc
    _check_size(pick, len(data))
    if not data:
        raise Refused(f"That {pick.label} is empty.")
    return data


def _check_size(pick: Pick, size: int) -> None:
    if size > BOT_DOWNLOAD_LIMIT:
        raise Refused(
            f"That {pick.label} is {_mb(size)}; a Telegram bot may download at most "
            f"{_mb(BOT_DOWNLOAD_LIMIT)}, so it cannot pass it on. Nothing was sent."
        )
    if size > pick.limit:
        raise Refused(
            f"That {pick.label} is {_mb(size)}; WhatsApp takes a {pick.label} of at most "
            f"{_mb(pick.limit)}. Nothing was sent."
        )


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB // 10 else f"{math.ceil(size / 1024)} KB"


def _place(message: Message) -> dict[str, Any] | None:
    """A location or venue (a live location goes as where it is now)."""
    venue = message.venue
    location = venue.location if venue else message.location
    if location is None:
        return None
    lat, lon = location.latitude, location.longitude
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        raise Refused("That location has impossible coordinates. Nothing was sent.")
    name = _clean(venue.title) if venue else ""
    address = _clean(venue.address) if venue else ""
    return {
        "kind": MessageKind.LOCATION,
        "latitude": lat,
        "longitude": lon,
        "name": name,
        "address": address,
    }


def _contact(message: Message) -> dict[str, Any] | None:
    """A contact card built from the name and number Telegram shows (never Telegram's own
    vCard: it can carry another number, several cards or a whole address-book entry)."""
    contact = message.contact
    if contact is None:
        return None
    name = _clean(" ".join(p for p in (contact.first_name, contact.last_name) if p))
    digits = "".join(ch for ch in contact.phone_number or "" if "0" <= ch <= "9")
    if not digits:
        raise Refused("That contact has no phone number, so WhatsApp cannot use it.")
    vcard = vcard_for(name or f"+{digits}", contact.first_name, contact.last_name, digits)
    return {"kind": MessageKind.CONTACT, "name": name or f"+{digits}", "vcard": vcard}


def vcard_for(full: str, first: str, last: str | None, digits: str) -> str:
    """Return a vCard 3.0 as WhatsApp writes one (``waid`` makes the card's Message button)."""
    return "\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:{_vesc(last or '')};{_vesc(first or '')};;;",
            f"FN:{_vesc(full)}",
            f"TEL;type=CELL;waid={digits}:+{digits}",
            "END:VCARD",
        ]
    )


def _vesc(value: str) -> str:
    out = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return out.replace("\r", "").replace("\n", "\\n")


def _clean(value: str | None) -> str:
    return (value or "").replace("\x00", "").strip()[:MAX_PLACE]


def _what(message: Message) -> str:
    for attribute, words in NOT_SENDABLE.items():
        if getattr(message, attribute, None):
            return words
    return "This kind of message"
