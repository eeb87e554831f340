"""Is a text one emoji? For the ➕ reaction prompt: WhatsApp reacts with one emoji, and a
reply that is anything else must not become a reaction (or a message)."""

from __future__ import annotations

import re

ZWJ = "\u200d"
VS16 = "\ufe0f"
#: Skin tones, and the tag characters of subdivision flags (🏴󠁧󠁢󠁳󠁣󠁴󠁿).
MODIFIERS = (range(0x1F3FB, 0x1F400), range(0xE0020, 0xE0080))
REGIONAL = range(0x1F1E6, 0x1F200)
#: Where emoji live (Unicode's Extended_Pictographic, near enough).
PICTOGRAPHIC = (
    range(0x1F000, 0x1FB00),
    range(0x2600, 0x27C0),
    range(0x2300, 0x2400),
    range(0x2B00, 0x2C00),
    range(0x2190, 0x2200),
    range(0x25A0, 0x2600),
)
PICTOGRAPHIC_SINGLES = frozenset(
    {0xA9, 0xAE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299}
)
KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")
#: A family of four with skin tones stays under this many code points.
MAX_LENGTH = 32


def _pictographic(ch: str) -> bool:
    code = ord(ch)
    if code in REGIONAL:  # a letter of a flag, not an emoji alone
        return False
    return code in PICTOGRAPHIC_SINGLES or any(code in r for r in PICTOGRAPHIC)


def one_emoji(text: str) -> str | None:
    """The text, stripped, when it is exactly one emoji — with its skin tone, variation
    selector, joined parts (👩‍👩‍👧), a flag (two regional letters) or a keycap (1️⃣) —
    else None."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        return None
    if len(text) == 2 and all(ord(c) in REGIONAL for c in text):
        return text
    if KEYCAP.fullmatch(text):
        return text
    for part in text.split(ZWJ):
        if not part or not _pictographic(part[0]):
            return None
        for ch in part[1:]:
            if ch != VS16 and not any(ord(ch) in r for r in MODIFIERS):
                return None
    return text
