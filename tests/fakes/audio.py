"""Ogg Opus files built byte by byte, as WhatsApp records voice notes: an ``OpusHead`` page,
an ``OpusTags`` page, then audio pages whose granule positions count 48 kHz samples. The
Opus packets are filler (no test decodes them); the pages, lacing and CRCs are real."""

from __future__ import annotations

import struct

PRE_SKIP = 312
PACKETS_PER_SECOND = 50  # 20 ms frames
PACKET = bytes([0x78]) + bytes(19)  # a TOC byte (SILK wideband, 20 ms) and filler


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) ^ _TABLE[((crc >> 24) ^ byte) & 0xFF]) & 0xFFFFFFFF
    return crc


def page(packets: list[bytes], granule: int, seq: int, flags: int = 0, serial: int = 7) -> bytes:
    """One Ogg page holding whole ``packets`` (each under 255 bytes)."""
    lacing = bytes(len(p) for p in packets)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(lacing))
    raw = header + lacing + b"".join(packets)
    return raw[:22] + struct.pack("<I", _crc(raw)) + raw[26:]


def ogg_opus(seconds: int, tag: str = "") -> bytes:
    """A voice note ``seconds`` long; ``tag`` (in the comment header) tells files apart."""
    head = struct.pack("<8sBBHIhB", b"OpusHead", 1, 1, PRE_SKIP, 16_000, 0, 0)
    vendor = b"wa-secretary tests"
    comment = f"TITLE={tag}".encode()
    tags = (
        b"OpusTags"
        + struct.pack("<I", len(vendor))
        + vendor
        + struct.pack("<II", 1, len(comment))
        + comment
    )
    out = [page([head], 0, 0, flags=0x02), page([tags], 0, 1)]
    for second in range(seconds):
        last = second == seconds - 1
        granule = PRE_SKIP + (second + 1) * 48_000
        out.append(page([PACKET] * PACKETS_PER_SECOND, granule, second + 2, 0x04 if last else 0))
    return b"".join(out)
