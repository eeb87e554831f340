"""Attachments on disk: where a downloaded file goes, how it is written, and the media
reference that convert.py stores so a download can be retried later, and the download
itself (``fetch_media``) the gateway does with its backend's ``download``."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from core.errors import GatewayError
from core.events import MediaDownloaded
from core.ids import ChatJid, WaMessageId

MEDIA_LIMIT_BYTES = 64 * 1024 * 1024
SAFE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".webp",
        ".mp4",
        ".3gp",
        ".mov",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".m4a",
        ".aac",
        ".wav",
        ".pdf",
        ".txt",
        ".csv",
        ".doc",
        ".docx",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".zip",
        ".vcf",
        ".json",
        ".odt",
        ".ods",
    }
)


def media_file(media_dir: Path, chat: str, sender: str, message_id: str, mimetype: str) -> Path:
    """Return where an attachment is stored: a hash of its ids plus a safe extension (never
    a name or extension chosen by the sender)."""
    digest = hashlib.sha256(f"{chat}|{sender}|{message_id}".encode()).hexdigest()[:32]
    ext = mimetypes.guess_extension(mimetype.split(";")[0].strip()) or ""
    if mimetype.startswith("audio/ogg"):
        ext = ".ogg"
    if ext.lower() not in SAFE_EXTENSIONS:
        ext = ".bin"
    return media_dir / f"{digest}{ext}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: the same attachment may be fetched twice at once (the automatic
    # download and a tap on ⬇️ Download), and the two must not rename each other's file.
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.part")
    tmp.write_bytes(data)
    tmp.replace(path)


def split_media_ref(ref: bytes) -> tuple[str, bytes]:
    """Split a media ref (from convert) into the message field name and its serialized bytes."""
    field, sep, payload = ref.partition(b"\0")
    if not sep or not field:
        raise ValueError("malformed media reference")
    return field.decode(), payload


async def fetch_media(
    download: Callable[[bytes], Awaitable[bytes]],
    media_dir: Path,
    limit: int,
    ids: tuple[ChatJid, ChatJid, WaMessageId],
    ref: bytes,
    mimetype: str,
) -> MediaDownloaded:
    """Download an attachment (``ids``: chat, sender, message id) into ``media_dir`` with
    ``download``; failures and files over ``limit`` bytes are returned, not raised."""
    chat, sender, message_id = ids
    path = media_file(media_dir, chat, sender, message_id, mimetype)
    try:
        data = await download(ref)
    except (GatewayError, OSError, ValueError) as exc:
        return MediaDownloaded(chat, sender, message_id, None, 0, str(exc)[:200])
    if len(data) > limit:
        return MediaDownloaded(chat, sender, message_id, None, len(data), "too large")
    await asyncio.to_thread(write_atomic, path, data)
    return MediaDownloaded(chat, sender, message_id, str(path), len(data))
