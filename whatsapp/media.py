"""Attachments on disk: where a downloaded file goes, how it is written, and the media
reference that convert.py stores so a download can be retried later."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from pathlib import Path

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


def webp_info(data: bytes) -> tuple[int, int, bool] | None:
    """Return ``(width, height, animated)`` of a WebP image, or None when ``data`` is not one.

    Reads only the RIFF header (VP8, VP8L or VP8X chunk): no image library, no decoding.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X":
        animated = bool(body[0] & 0x02)
        width = 1 + int.from_bytes(body[4:7], "little")
        height = 1 + int.from_bytes(body[7:10], "little")
        return width, height, animated
    if chunk == b"VP8 " and body[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(body[6:8], "little") & 0x3FFF
        height = int.from_bytes(body[8:10], "little") & 0x3FFF
        return width, height, False
    if chunk == b"VP8L" and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF), False
    return None
