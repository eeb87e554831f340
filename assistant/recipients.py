"""Who a ``/send`` goes to: a chat by name, or any phone number in any common notation.

A number is read with the owner's region as the default (``DEFAULT_REGION``, else the
country of the linked WhatsApp number), so ``0151 12345678`` works as the owner would
dial it. A number with no chat yet is first checked with WhatsApp: only a number that has
an account gets a chat (it shows in /chats once the message is sent).
"""

from __future__ import annotations

import re

from assistant.chats import ChatService
from core.errors import InvalidInput, NotConnected, NotFound
from core.ids import PERSON_SERVER, ChatJid
from core.transport import WhatsAppGateway
from storage import Storage, names
from storage.domain import Chat

#: One word of a typed phone number: digits and the signs people write between them.
NUMBER_WORD = re.compile(r"\+?[\d()./-]+")
#: A leading number of at least this many digits is taken as a phone number, not a name.
MIN_DIGITS = 7
EXAMPLE = "/send +49 151 12345678 Hello"


class InvalidNumber(InvalidInput):
    """What was typed looks like a phone number but is none."""


class NotOnWhatsApp(NotFound):
    """The number is valid but has no WhatsApp account."""


class RecipientService:
    """Splits ``/send`` arguments into the chat to write to and the text."""

    def __init__(
        self,
        storage: Storage,
        gateway: WhatsAppGateway,
        chats: ChatService,
        default_region: str | None = None,
    ) -> None:
        self.storage = storage
        self.gateway = gateway
        self.chats = chats
        self.default_region = default_region.upper() if default_region else None

    @property
    def region(self) -> str | None:
        """The region numbers without a country code are read in."""
        own = names.phone_digits(self.gateway.own_jid or "")
        return self.default_region or names.region_for(own)

    async def split(self, text: str) -> tuple[Chat, str]:
        """Return (chat, message) for "/send" arguments. A leading phone number (``+49 151
        1234 5678``, ``0151 12345678``, ``004915…``, ``+49-151-…``) wins; otherwise the chat
        is found by name as ``ChatService.split_target`` does."""
        text = text.strip()
        first, newline, rest = text.partition("\n")
        if newline and rest.strip() and (number := self._number(first)):
            return await self._to_number(number), rest.strip()  # the number alone on its line
        words = text.split()
        typed = 0  # how many leading words could be part of a number
        while typed < len(words) - 1 and NUMBER_WORD.fullmatch(words[typed]):
            typed += 1
        digits = sum("0" <= ch <= "9" for w in words[:typed] for ch in w)
        looks_international = typed > 0 and words[0].startswith(("+", "00"))
        if not typed or (digits < MIN_DIGITS and not looks_international):
            return await self.chats.split_target(text)
        region = self.region
        readings = [  # every count of leading words that reads as a valid number
            (k, number)
            for k in range(typed, 0, -1)
            if (number := names.parse_phone(" ".join(words[:k]), region))
        ]
        if len(readings) > 1:  # "030 1234567 8 Uhr": is the 8 part of the number?
            known = [r for r in readings if await self.storage.chats.by_jid(_jid(r[1]))]
            if len(known) != 1:
                shown = " or ".join(names.format_phone(n) for _, n in sorted(readings))
                raise InvalidInput(
                    f"Is it {shown}? Put the message on a new line after the number."
                )
            readings = known
        if readings:
            k, number = readings[0]
            return await self._to_number(number), text.split(None, k)[k].strip()
        if looks_international:  # a number the plans do not know, but a chat has
            for k in range(typed, 0, -1):
                raw = "".join(ch for w in words[:k] for ch in w if "0" <= ch <= "9")
                raw = raw[2:] if words[0].startswith("00") else raw
                chat = await self.storage.chats.by_jid(_jid(raw))
                if chat is not None:
                    return chat, text.split(None, k)[k].strip()
        try:
            return await self.chats.split_target(text)  # digits of a known chat, as before
        except NotFound as exc:
            if type(exc) is not NotFound:
                raise  # several chats match: the owner picks
        shown = " ".join(words[:typed])
        hint = "" if region else " (with its country code: I do not know your country yet)"
        raise InvalidNumber(
            f"“{shown}” is not a phone number I can read. Write it as you would dial it"
            f"{hint}, e.g. {EXAMPLE}"
        )

    def _number(self, line: str) -> str | None:
        """The number a whole line is, if it is one."""
        words = line.split()
        if not words or not all(NUMBER_WORD.fullmatch(w) for w in words):
            return None
        return names.parse_phone(line, self.region)

    async def _to_number(self, digits: str) -> Chat:
        """The chat of a valid number: the existing one, or — when WhatsApp says the number
        has an account — a new one."""
        chat = await self.storage.chats.by_jid(_jid(digits))
        if chat is not None:
            return chat
        shown = names.format_phone(digits)
        try:
            found = await self.gateway.is_on_whatsapp(digits)
        except NotConnected as exc:
            raise NotConnected(
                f"WhatsApp is not connected, so I cannot check whether {shown} is on "
                "WhatsApp. Try again once it is (/status)."
            ) from exc
        target = found.get(digits)
        if target is None:
            raise NotOnWhatsApp(f"{shown} is not on WhatsApp.")
        existing = await self.storage.chats.by_jid(target)
        return existing or await self.storage.chats.ensure(target)


def _jid(digits: str) -> ChatJid:
    return ChatJid(f"{digits}@{PERSON_SERVER}")
