"""Building the WhatsApp protobuf of an outgoing message (neonize 0.5.2), one kind each.

Images and documents use neonize's own builders. Voice notes, audio, video and stickers are
uploaded with ``client.upload`` and built here: neonize's ``build_audio_message`` and
``build_video_message`` run ffmpeg/ffprobe only to learn the length (and a video frame),
which Telegram already told us, and its sticker builder re-encodes the WebP and stamps a
third-party sticker-pack id into it. Locations and contacts need no upload.
Nothing here sends: ``NeonizeGateway.send`` does.
"""

from __future__ import annotations

from typing import Any

from neonize.aioze.client import NewAClient
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E
from neonize.utils.enum import MediaType

from core.events import OutgoingMessage
from core.ids import MessageKind
from core.media import webp_info

#: What WhatsApp's own apps put on a push-to-talk voice note.
VOICE_MIMETYPE = "audio/ogg; codecs=opus"


async def build(client: NewAClient, message: OutgoingMessage) -> Any:
    """Build the protobuf for ``message`` (media is uploaded here) and attach its quote."""
    built, context = await _content(client, message)
    if message.quoted_id:
        context.stanzaID = message.quoted_id
        if message.quoted_sender:
            context.participant = message.quoted_sender
        # What the phone shows in the quote bubble until it finds the original.
        context.quotedMessage.CopyFrom(E2E.Message(conversation=message.quoted_text))
    return built


async def _content(client: NewAClient, message: OutgoingMessage) -> tuple[Any, Any]:
    """Return the message and the ContextInfo inside it that carries the quote."""
    caption = message.text or None
    kind = message.kind
    if kind == MessageKind.IMAGE:
        built = await client.build_image_message(message.media, caption=caption)
        return built, built.imageMessage.contextInfo
    if kind == MessageKind.DOCUMENT:
        built = await client.build_document_message(
            message.media,
            caption=caption,
            filename=message.file_name or "file",
            mimetype=message.mimetype or None,
        )
        return built, built.documentMessage.contextInfo
    if kind in (MessageKind.VOICE, MessageKind.AUDIO):
        up = await client.upload(message.media, MediaType.MediaAudio)
        voice = kind == MessageKind.VOICE
        audio = E2E.AudioMessage(
            **_uploaded(up),
            mimetype=VOICE_MIMETYPE if voice else (message.mimetype or "audio/mpeg"),
            seconds=max(0, message.seconds),
            PTT=voice,
        )
        built = E2E.Message(audioMessage=audio)
        return built, built.audioMessage.contextInfo
    if kind == MessageKind.VIDEO:
        up = await client.upload(message.media, MediaType.MediaVideo)
        video = E2E.VideoMessage(
            **_uploaded(up),
            mimetype=message.mimetype or "video/mp4",
            seconds=max(0, message.seconds),
            gifPlayback=message.gif,
            contextInfo=E2E.ContextInfo(mentionedJID=list(message.mentions)),
        )
        if caption:
            video.caption = caption
        built = E2E.Message(videoMessage=video)
        return built, built.videoMessage.contextInfo
    if kind == MessageKind.STICKER:
        return await _sticker(client, message)
    if kind == MessageKind.LOCATION:
        location = E2E.LocationMessage(
            degreesLatitude=message.latitude, degreesLongitude=message.longitude
        )
        if message.name:
            location.name = message.name
        if message.address:
            location.address = message.address
        built = E2E.Message(locationMessage=location)
        return built, built.locationMessage.contextInfo
    if kind == MessageKind.CONTACT:
        card = E2E.ContactMessage(displayName=message.name, vcard=message.vcard)
        built = E2E.Message(contactMessage=card)
        return built, built.contactMessage.contextInfo
    built = E2E.Message(
        extendedTextMessage=E2E.ExtendedTextMessage(
            text=message.text,
            contextInfo=E2E.ContextInfo(mentionedJID=list(message.mentions)),
        )
    )
    return built, built.extendedTextMessage.contextInfo


async def _sticker(client: NewAClient, message: OutgoingMessage) -> tuple[Any, Any]:
    info = webp_info(message.media)
    if info is None or info[2]:
        raise ValueError("a WhatsApp sticker must be a still WebP image")
    width, height, _ = info
    up = await client.upload(message.media, MediaType.MediaImage)
    sticker = E2E.StickerMessage(
        **_uploaded(up), mimetype="image/webp", width=width, height=height, isAnimated=False
    )
    built = E2E.Message(stickerMessage=sticker)
    return built, built.stickerMessage.contextInfo


def _uploaded(up: Any) -> dict[str, Any]:
    """The fields of an UploadResponse that every media message repeats."""
    return {
        "URL": up.url,
        "directPath": up.DirectPath,
        "mediaKey": up.MediaKey,
        "fileEncSHA256": up.FileEncSHA256,
        "fileSHA256": up.FileSHA256,
        "fileLength": up.FileLength,
    }
