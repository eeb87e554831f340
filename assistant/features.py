"""What the learned scorer reads of a message: its words, their character 4-grams, word pairs,
and a few facts about it (person or group chat, known sender, a mention of the owner, a link,
money, a clock time, length, hour of day).

Features are plain strings ("w:call", "c:<cal", "b:call me", "s:group"), so the model file
stays readable and needs no hashing scheme. ``features`` lists them all (training and the
owner's corrections use it); ``Scorer`` in ``assistant/scorer.py`` computes the same sum
faster with a per-word cache, and a test checks the two agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Only this much of a text is read: the start of a message carries its point, and a
#: 60 000-character chain letter must not cost more than a long text.
TEXT_LIMIT = 500
#: A word, or one other non-space character (a mark or an emoji).
TOKEN = re.compile(r"\w+|\S")
LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:[a-z]{2,6})/\S", re.ASCII)
#: A clock time (9:30, 14h00) or minutes (20 min). It means "\b\d{1,2}[:.h]\d{2}\b" or
#: "\b\d{1,3} ?min…", written to start with a digit: the regex engine then skips to digits.
CLOCK = re.compile(
    r"\d(?<!\w\d)(?:\d?[:.h]\d{2}\b|\d{0,2} ?(?:min|mins|minutes|minuten|minutos|мин))"
)
CURRENCY_SIGNS = ("€", "$", "£", "₽")
MONEY_WORD = re.compile(r"\d ?(?:eur|euro|usd|rub|руб|reais|r\$)")
DIGIT = re.compile(r"\d")
#: A phone number to call back, as people write one: with its country code (+7 495 …) or a
#: trunk zero (0151 …, (030) …), or US style 555-123-4567 — not a date, an amount or a score.
PHONE_NUMBER = re.compile(
    r"(?<![\w.,:/+-])(?:\+\d|\(?0)[\d ()-]{6,}\d(?![\d.,])|\b\d{3}[ -]\d{3}[ -]\d{4}\b"
)
_DIGIT = str.maketrans("0123456789", "0000000000")


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about a message besides its text."""

    group: bool = False
    #: A saved contact or a chat the owner has written in; False for a first message from an
    #: unknown number.
    known: bool = True
    mentions_me: bool = False
    #: Local hour 0–23, None when unknown.
    hour: int | None = None


def fold(word: str) -> str:
    """Lowercase word without accents, digits shown as 0 ("Mañana" → "manana", "15" → "00")."""
    if not word.isascii():
        word = "".join(
            c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)
        )
    return word.translate(_DIGIT)


def is_word(token: str) -> bool:
    """Whether a token is a word (else one punctuation or emoji character)."""
    return token[0].isalnum() or token[0] == "_"


def word_features(token: str) -> list[str]:
    """The features of one token: the folded word and its character 4-grams with edge marks,
    or a punctuation/emoji mark for a one-character non-word token."""
    if not is_word(token):
        return ["p:" + token]
    folded = fold(token)
    padded = f"<{folded}>"
    if len(padded) <= 4:
        return ["w:" + folded, "c:" + padded]
    return ["w:" + folded, *("c:" + padded[i : i + 4] for i in range(len(padded) - 3))]


def structural(low: str, facts: Facts) -> list[str]:
    """Facts about the message as features (``low`` is the lowercased, cut text)."""
    out = ["s:group" if facts.group else "s:person", "s:known" if facts.known else "s:unknown"]
    if facts.mentions_me:
        out.append("s:mention")
    if facts.hour is not None:
        out.append("s:h" + ("night", "morning", "day", "evening")[min(facts.hour, 23) // 6])
    if "?" in low or "¿" in low:
        out.append("s:q_" + out[0][2:])
    if ("/" in low or "www" in low) and LINK.search(low):  # every LINK match has one
        out += ["s:link", "s:link_" + out[1][2:]]
    if DIGIT.search(low) is not None:  # both need a digit: most texts skip two scans
        if CLOCK.search(low):
            out.append("s:clock")
        if any(sign in low for sign in CURRENCY_SIGNS) or MONEY_WORD.search(low):
            out.append("s:money")
    n = len(low)
    out.append("s:len" + ("0" if n < 12 else "1" if n < 40 else "2" if n < 120 else "3"))
    return out


def tokens(text: str) -> tuple[str, list[str]]:
    """The lowercased, cut text and its tokens."""
    low = text[:TEXT_LIMIT].lower()
    return low, TOKEN.findall(low)


def pairs(toks: list[str]) -> list[str]:
    """Word-pair features of adjacent word tokens."""
    out = []
    prev = ""
    for tok in toks:
        if is_word(tok):
            word = fold(tok)
            if prev:
                out.append(f"b:{prev} {word}")  # a space: never inside a token
            prev = word
        else:
            prev = ""
    return out


def features(text: str, facts: Facts) -> list[str]:
    """Every feature of a message (with repeats: a word said twice counts twice)."""
    low, toks = tokens(text)
    out: list[str] = []
    for tok in toks:
        out += word_features(tok)
    return out + pairs(toks) + structural(low, facts)
