"""Reading what kind of media some bytes are, without an image library (standard library only)."""

from __future__ import annotations


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
        return (width, height, False) if width and height else None
    if chunk == b"VP8L" and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF), False
    return None
