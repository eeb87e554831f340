"""Account labels compared the one way every layer uses: ``label_key`` (the form a label is
stored and looked up in), ``skeleton`` (what it looks like), the script of a character, and
the characters that show as nothing. The rule that refuses a label, with its reasons, is
``storage.accounts.check_label``; this module only answers questions about text.

Standard library only (``unicodedata``). The look-alike map is deliberately small: the Latin,
Cyrillic and Greek letters that look like a Latin letter (in lower case or, as labels are
shown with a capital first letter, in upper case), plus a few Latin letters that look like
another one (dotless i, small capitals). It is not the full Unicode confusables table (UTS
#39); labels of one script with letters outside the map are told apart by their key only.
"""

from __future__ import annotations

import unicodedata

from core.setting_keys import EDITABLE

#: The words a command reads before an account's label: a label starting with one would make
#: that command unreachable (``/digest last``, ``/settings threshold 5``, ``/settings
#: triage_reset``) or take the command's meaning away.
COMMAND_WORDS = frozenset({"last", "triage_reset", *EDITABLE})

#: Characters that are letters or marks to ``str.isalnum`` and friends but show as nothing
#: (Hangul fillers, Khmer inherent vowels, the grapheme joiner, variation selectors, the
#: blank Braille pattern); every format, control, private-use, surrogate or unassigned
#: character is invisible too (see ``invisible``).
_INVISIBLE = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0),
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
_HIDDEN_CATEGORIES = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zl", "Zp"})

#: The first word of a character's name → its script, where they differ.
_SCRIPT_ALIASES = {
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "KATAKANA-HIRAGANA": "Katakana",
    "ARABIC-INDIC": "Arabic",
    "EXTENDED": "Arabic",  # EXTENDED ARABIC-INDIC DIGIT …
}
#: Scripts written together (UTS #39 "highly restrictive"): Japanese, Chinese, Korean.
_WRITTEN_TOGETHER = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)

_LOOK_ALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "г": "r", "е": "e", "ё": "ë", "з": "3", "и": "u", "і": "i",
    "ї": "ï", "ј": "j", "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ь": "b",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k",
    "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "ϳ": "j",
    # Latin letters that look like another Latin letter
    "ı": "i", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ɑ": "a", "ʏ": "y", "ĸ": "k", "ǀ": "l", "ᴀ": "a",
    "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ᴊ": "j", "ᴋ": "k",
    "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z",
}  # fmt: skip


def label_key(text: str) -> str:
    """Return the form ``text`` is stored and compared in: NFKC-normalised and case-folded
    (repeated until stable), spaces around it dropped and runs of whitespace made one space.
    ``label_key(label_key(x)) == label_key(x)``."""
    key = text
    for _ in range(4):  # casefold can undo NFKC's form in rare cases; settle in a few rounds
        again = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", key).casefold())
        again = " ".join(again.split())
        if again == key:
            break
        key = again
    return key


def skeleton(key: str) -> str:
    """What a label (in ``label_key`` form) looks like: each look-alike letter replaced by
    the Latin letter it resembles; two labels with one skeleton cannot be told apart."""
    return "".join(_LOOK_ALIKES.get(c, c) for c in key)


def invisible(c: str) -> bool:
    """Whether ``c`` shows as nothing (or steers the text around it) but is not a space."""
    return ord(c) in _INVISIBLE or unicodedata.category(c) in _HIDDEN_CATEGORIES


def script(c: str) -> str | None:
    """The script of a letter, mark or digit, from its Unicode name ("Latin", "Cyrillic",
    "Han", …; "Combining" for a mark of no script, "Modifier" for a spacing modifier
    letter); None for an ASCII digit, a space, '_' or '-' (they go with any script)."""
    if c in " _-" or "0" <= c <= "9":
        return None
    word = unicodedata.name(c, "UNKNOWN").split(" ")[0]
    return _SCRIPT_ALIASES.get(word, word.title())


def mixed(scripts: set[str]) -> bool:
    """Whether letters of these scripts in one label mix scripts (Japanese, Chinese and
    Korean writing combine Han with kana, bopomofo or hangul, and with Latin)."""
    return len(scripts) > 1 and not any(scripts <= ok for ok in _WRITTEN_TOGETHER)
