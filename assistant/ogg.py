"""Ogg voice notes read and cut byte by byte (no ffmpeg): the length of an Ogg Opus or Vorbis
stream, and the stream cut to its first N seconds at a page boundary (whole pages kept, the
last one marked end-of-stream, its checksum recomputed)."""

from __future__ import annotations

import struct

#: Every Ogg page starts with this; its header is 27 bytes plus one lacing byte a segment.
CAPTURE = b"OggS"
HEADER = 27
EOS = 0x04


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def page_crc(page: bytes) -> int:
    """The Ogg checksum of a page (CRC-32, polynomial 0x04C11DB7, over the page with its
    checksum field zeroed)."""
    crc = 0
    for byte in page[:22] + b"\0\0\0\0" + page[26:]:
        crc = ((crc << 8) ^ _TABLE[((crc >> 24) ^ byte) & 0xFF]) & 0xFFFFFFFF
    return crc


def codec(first_page: bytes) -> tuple[int, int] | None:
    """(samples a second, samples to skip at the start) of the stream whose first page this
    is; None when it is not Ogg Opus or Ogg Vorbis."""
    if len(first_page) < 28 or not first_page.startswith(CAPTURE):
        return None
    body = first_page[HEADER + first_page[26] :]
    if body.startswith(b"OpusHead") and len(body) >= 12:
        return 48_000, int.from_bytes(body[10:12], "little")
    if body.startswith(b"\x01vorbis") and len(body) >= 16:
        rate = int.from_bytes(body[12:16], "little")
        return (rate, 0) if rate > 0 else None
    return None


def ogg_seconds(head: bytes, tail: bytes) -> float | None:
    """The length of an Ogg Opus or Ogg Vorbis stream from its first bytes (the codec
    header: sample rate, Opus pre-skip) and its last bytes (the granule position of the last
    page of the same stream); None when the bytes are not such a stream."""
    found = codec(head)
    if found is None:
        return None
    rate, skip = found
    serial = head[14:18]
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        page = tail[pos : pos + 18]
        if len(page) == 18 and page[14:18] == serial:
            granule = int.from_bytes(page[6:14], "little", signed=True)
            if granule >= 0:  # -1: no packet ends on this page
                return max(0.0, (granule - skip) / rate)
        pos = tail.rfind(b"OggS", 0, pos)
    return None


def pages(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each whole page from the start of ``data``; stops at the first byte
    that does not begin a whole page."""
    out, pos = [], 0
    while len(data) - pos >= HEADER and data.startswith(CAPTURE, pos):
        segments = data[pos + 26]
        table = data[pos + HEADER : pos + HEADER + segments]
        end = pos + HEADER + segments + sum(table)
        if len(table) < segments or end > len(data):
            break
        out.append((pos, end))
        pos = end
    return out


def cut(data: bytes, seconds: float) -> bytes | None:
    """The stream's first ``seconds`` (whole pages of its first stream, the last one marked
    end-of-stream); None when ``data`` is not an Ogg Opus/Vorbis stream with audio that
    short a cut keeps."""
    found = codec(data)
    if found is None:
        return None
    rate, skip = found
    limit = skip + seconds * rate
    serial = data[14:18]
    kept: list[bytes] = []
    audio = False
    for start, end in pages(data):
        page = data[start:end]
        if page[14:18] != serial:
            continue  # another stream multiplexed in: not ours to keep
        granule = struct.unpack_from("<q", page, 6)[0]
        if granule > limit:
            break
        kept.append(page)
        audio = audio or granule > 0
    while kept and struct.unpack_from("<q", kept[-1], 6)[0] < 0:
        kept.pop()  # a page on which no packet ends: its packet would be cut in half
    if not audio or not kept:
        return None
    last = bytearray(kept[-1])
    last[5] |= EOS
    last[22:26] = struct.pack("<I", page_crc(bytes(last)))
    kept[-1] = bytes(last)
    return b"".join(kept)
