"""Pure parts of sending from Telegram: WebP sniffing and the vCard built for a contact."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from bot.outgoing import vcard_for
from core.media import webp_info


@given(st.binary(max_size=200))
def test_webp_info_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    info = webp_info(data)
    assert info is None or (info[0] > 0 and info[1] > 0)


@given(st.binary(max_size=40))
def test_a_riff_webp_header_with_garbage_after_it_is_safe(tail: bytes) -> None:
    for chunk in (b"VP8X", b"VP8 ", b"VP8L"):
        webp_info(b"RIFF\x00\x00\x00\x00WEBP" + chunk + tail)


def test_webp_sizes_for_each_encoding() -> None:
    for options in ({}, {"lossless": True}):
        out = io.BytesIO()
        Image.new("RGBA", (320, 200), (1, 2, 3, 255)).save(out, format="WEBP", **options)
        assert webp_info(out.getvalue()) == (320, 200, False)
    assert webp_info(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40) is None


def test_vcard_escapes_what_would_break_its_lines() -> None:
    card = vcard_for("Bob; Jr, \\ the\nBuilder", "Bob;", "Build,er", "15550000009")
    lines = card.split("\n")
    assert lines[0] == "BEGIN:VCARD" and lines[-1] == "END:VCARD" and len(lines) == 6
    assert lines[2] == "N:Build\\,er;Bob\\;;;;"
    assert lines[3] == "FN:Bob\\; Jr\\, \\\\ the\\nBuilder"
    assert lines[4] == "TEL;type=CELL;waid=15550000009:+15550000009"
