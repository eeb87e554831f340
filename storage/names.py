"""Names of people and groups: which one is shown, how numbers read, and how a name is found.

A person is shown by the name saved in the owner's address book (full name, else first
name), else the verified business name, else the push name they chose, else their phone
number formatted for reading. Every name ever seen stays findable: a chat keeps a search key,
``|``-separated folded names and phone digits, that only grows. Folding drops case, accents,
emoji and punctuation, so "sofia" finds "Sofía Ramírez 🌻" and "mom" finds "Mom".
The ``phonenumbers`` library is imported here only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import phonenumbers

from core.ids import PERSON_SERVER, jid_server, jid_user

# How sure a chat's name is; a name is only replaced by one at least as sure.
NAME_FALLBACK, NAME_PUSH, NAME_BUSINESS, NAME_CONTACT, NAME_GROUP = 0, 1, 2, 3, 4
#: The search key is rebuilt from the current names when it grows past this.
KEY_LIMIT = 2000


def fold(text: str) -> str:
    """Lowercase, strip accents, keep letters and digits (anything else becomes a space),
    collapse spaces: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        out.append(ch if ch.isalnum() else " ")
    return " ".join("".join(out).casefold().split())


def phone_digits(jid: str) -> str:
    """The digits of a phone-number JID ("" for a LID, a group or anything else)."""
    if jid_server(jid) != PERSON_SERVER:
        return ""
    user = jid_user(jid)
    return user if user.isascii() and user.isdigit() else ""


def format_phone(digits: str) -> str:
    """``4915112345678`` → ``+49 1511 2345678``; digits no numbering plan knows → ``+<digits>``."""
    if not digits:
        return ""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return "+" + digits
    if not phonenumbers.is_possible_number(number):
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def fallback_name(jid: str, phone_jid: str | None = None) -> str:
    """The name of a chat nobody named: the formatted number of a person, else "Group …1234"
    or "Contact …1234" (a hidden id whose number is not known yet)."""
    digits = phone_digits(phone_jid or "") or phone_digits(jid)
    if digits:
        return format_phone(digits)
    prefix = "Group" if jid_server(jid) == "g.us" else "Contact"
    return f"{prefix} …{jid_user(jid)[-4:]}"


def best_name(
    full: str = "", first: str = "", business: str = "", push: str = ""
) -> tuple[str, int]:
    """The name to show for a person and its rank, by the precedence above ("", FALLBACK
    when none is known)."""
    for name, rank in (
        (full, NAME_CONTACT),
        (first, NAME_CONTACT),
        (business, NAME_BUSINESS),
        (push, NAME_PUSH),
    ):
        if name.strip():
            return name.strip(), rank
    return "", NAME_FALLBACK


def key_parts(names: Iterable[str], jids: Iterable[str] = ()) -> list[str]:
    """The folded names and the phone digits of the JIDs, as search-key parts."""
    parts = [fold(n) for n in names]
    parts += [phone_digits(j) for j in jids]
    return [p for p in dict.fromkeys(parts) if p]


def extend_key(key: str, parts: Iterable[str]) -> str:
    """Add the parts a key lacks: ``|a|b|`` + [b, c] → ``|a|b|c|``. A key past KEY_LIMIT keeps
    its newest parts."""
    have = [p for p in key.split("|") if p]
    for part in parts:
        if part and part not in have:
            have.append(part)
    while len(have) > 1 and sum(len(p) + 1 for p in have) + 1 > KEY_LIMIT:
        have.pop(0)
    return "|" + "|".join(have) + "|" if have else ""


def needles(query: str) -> list[str]:
    """What to look for in search keys: the folded words, or, for something that looks like
    a phone number (``+49 151 …``, ``0151…``), its digits without a trunk zero."""
    text = query.strip()
    stripped = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    digits = stripped.lstrip("+")
    if digits.isascii() and digits.isdigit() and len(digits) >= 3:
        return [digits.lstrip("0") or digits]
    folded = fold(text)
    return [folded] if folded else []


#: A phone number is never longer than this as typed (15 digits plus spaces and signs).
TYPED_NUMBER_LIMIT = 40


def is_region(code: str) -> bool:
    """Whether ``code`` is a region the numbering plans know ("DE", "us")."""
    return code.strip().upper() in phonenumbers.SUPPORTED_REGIONS


def region_for(digits: str) -> str | None:
    """The main region of a number's country code (``4915…`` → ``DE``); None when unknown."""
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return None if region == phonenumbers.UNKNOWN_REGION else region


def parse_phone(text: str, region: str | None = None) -> str | None:
    """The international digits (``4915112345678``) of a phone number written in any common
    notation — ``+49 151 1234 5678``, ``+49-151-1234-5678``, ``004915112345678``, or
    ``0151 12345678`` read in ``region`` (e.g. ``DE``); None when it is no valid number."""
    text = text.strip()
    if not text or len(text) > TYPED_NUMBER_LIMIT or "\x00" in text:
        return None
    if text.startswith("00"):  # the international prefix most of the world dials
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
