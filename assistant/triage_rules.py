"""The triage rule set: what the owner told the secretary matters (``TriageRules``: VIPs,
keywords, the threshold, who "me" is), the word lists that name the reasons, and the plain
tests of a text (does it mention me, is it a question).

The decision — a score and a reason — is ``assistant/triage.py``; nothing here scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from assistant.lexicon import Lexicon
from core.ids import MessageKind, jid_user

DEFAULT_THRESHOLD = 7

# Vocabularies are lowercase and matched against lowercased text, word by word (see
# lexicon.py): triage runs on every history message, and a regex scan per signal was most of
# its cost. ``word*`` is a prefix; a term with a space is a phrase.

URGENT = Lexicon(
    "urgent*|asap|emergency|immediately|important|help|"
    "dringend|eilig|sofort|notfall|wichtig|hilfe|"
    "urgente|emergencia|inmediatamente|importante|ayuda|"
    "emergência|imediatamente|socorro|"
    "срочно|важно|помогите|немедленно",
    extra=r"!!+",
    needs=("!!",),
)
DEADLINE = Lexicon(
    "today|tonight|tomorrow|deadline|due|by monday|by tuesday|by wednesday|by thursday|"
    "by friday|by saturday|by sunday|by eod|by noon|"
    "heute|morgen|frist|bis montag|bis dienstag|bis mittwoch|bis donnerstag|bis freitag|"
    "hoy|mañana|plazo|fecha límite|hoje|amanhã|prazo|"
    "сегодня|завтра|срок|дедлайн",
    extra=r"\b\d{1,2}[./]\d{1,2}\b|\b\d{1,2}:\d{2}\b",
    needs=(".", "/", ":"),
)
MONEY = Lexicon(
    "invoice|payment|pay|paid|bill|refund|transfer|"
    "rechnung|zahlung|überweisung|bezahl*|"
    "factura|pago|transferencia|pagar|"
    "fatura|pagamento|boleto|pix|"
    "оплат*|счет|счёт|деньги|перевод",
    extra=r"[€$£₽]\s?\d|\d\s?(€|eur|usd|\$|руб)",
    needs=("€", "$", "£", "₽", "eur", "usd", "руб"),
)
CALL_ME = Lexicon(
    "call me|call back|ring me|missed call|"
    "ruf an|ruf mich an|rückruf|anrufen|"
    "llámame|llamame|llámanos|me liga|me ligue|ligação|"
    "позвони*|перезвони*|набери",
)
#: Asking the readers of a group to do something: in a group, a request may be to me.
PLEASE = Lexicon(
    "please|pls|plz|bitte|por favor|porfa|pfv|por gentileza|пожалуйста|плиз|просим|прошу"
)
#: Saying outright that it is urgent: a precise rule on top of the model (scams that say it
#: are held back by the scam check).
SAYS_URGENT = Lexicon(
    "urgent|urgently|asap|emergency|dringend|notfall|urgente|urgentemente|emergencia|emergência|"
    "срочно|срочная|срочный|экстренно"
)
#: Words that open a question, at the very start of the text.
QUESTION_WORDS = re.compile(
    r"^\s*(can|could|would|will|do|does|did|are|is|when|where|what|why|how|who|"
    r"kannst|können|wann|wo|was|warum|wie|wer|"
    r"puedes|cuándo|dónde|qué|por qué|cómo|quién|"
    r"pode|podes|quando|onde|o que|porque|como|quem|"
    r"можешь|когда|где|что|почему|как|кто)\b",
    re.IGNORECASE,
)


class Scorable(Protocol):
    """What triage reads of a message: a stored one, or one just received."""

    @property
    def sender(self) -> str:
        """The sender's JID."""

    @property
    def kind(self) -> MessageKind:
        """What kind of message it is."""

    @property
    def from_me(self) -> bool:
        """Whether the owner sent it."""

    @property
    def mentions(self) -> tuple[str, ...]:
        """The JIDs the message mentions."""

    @property
    def body(self) -> str:
        """The text to read: the text, the caption or a voice note's transcript."""

    @property
    def timestamp(self) -> datetime:
        """When it was sent (aware UTC)."""


@dataclass
class TriageRules:
    """What the admin told the secretary matters (editable in /settings)."""

    own_jids: set[str] = field(default_factory=set)
    own_names: set[str] = field(default_factory=set)
    vip: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)
    threshold: int = DEFAULT_THRESHOLD
    #: The owner's time zone (the hour of day is one of the model's facts).
    timezone: tzinfo | None = UTC


def mentions_me(msg: Scorable, rules: TriageRules, low: str | None = None) -> bool:
    """Return True when the message mentions the account owner (JID or name); ``low`` is its
    body lowercased, when the caller has it already."""
    if not rules.own_jids and not rules.own_names:
        return False
    low = msg.body.lower() if low is None else low
    if msg.mentions or "@" in low:
        # Worked out only for a message that mentions someone: every history message
        # passes here, and with several accounts there is a number per account.
        own_users = {jid_user(j) for j in rules.own_jids if j}
        if msg.mentions and any(jid_user(m) in own_users for m in msg.mentions):
            return True
        if "@" in low and any(f"@{u}" in low for u in own_users):
            return True
    return any(re.search(rf"(^|\W)@?{re.escape(n.lower())}\b", low) for n in rules.own_names if n)


def is_question(text: str) -> bool:
    """Return True for something that reads like a question."""
    return "?" in text or "¿" in text or bool(QUESTION_WORDS.match(text))
