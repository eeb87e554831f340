"""Importance triage: a score 0–10 and a one-line reason for every incoming message.

Heuristics only here (English, German, Spanish, Portuguese, Russian). They are cheap enough
to run on every history message. Scores in the middle band are "undecided": an LLM, when
configured, may refine those later; without one the heuristic score stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from assistant.lexicon import Lexicon, words_of
from storage.domain import Chat
from whatsapp.types import MessageKind, jid_user

DEFAULT_THRESHOLD = 7
UNDECIDED = range(4, 7)

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
    def sender(self) -> str: ...
    @property
    def kind(self) -> MessageKind: ...
    @property
    def from_me(self) -> bool: ...
    @property
    def mentions(self) -> tuple[str, ...]: ...
    @property
    def body(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Importance:
    """A message's score and why."""

    score: int
    reason: str

    @property
    def undecided(self) -> bool:
        return self.score in UNDECIDED


@dataclass
class TriageRules:
    """What the admin told the secretary matters (editable in /settings)."""

    own_jids: set[str] = field(default_factory=set)
    own_names: set[str] = field(default_factory=set)
    vip: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)
    threshold: int = DEFAULT_THRESHOLD


def mentions_me(msg: Scorable, rules: TriageRules) -> bool:
    """Return True when the message mentions the account owner (JID or name)."""
    return _mentions(msg, msg.body.lower(), rules)


def _mentions(msg: Scorable, low: str, rules: TriageRules) -> bool:
    if not rules.own_jids and not rules.own_names:
        return False
    own_users = {jid_user(j) for j in rules.own_jids if j}
    if msg.mentions and any(jid_user(m) in own_users for m in msg.mentions):
        return True
    if "@" in low and any(f"@{u}" in low for u in own_users):
        return True
    return any(re.search(rf"(^|\W)@?{re.escape(n.lower())}\b", low) for n in rules.own_names if n)


def is_question(text: str) -> bool:
    """Return True for something that reads like a question."""
    return "?" in text or "¿" in text or bool(QUESTION_WORDS.match(text))


SENT_BY_ME = Importance(0, "sent by me")
STATUS_UPDATE = Importance(0, "status update")


def score_message(msg: Scorable, chat: Chat, rules: TriageRules) -> Importance:
    """Score one message with heuristics only (on every history message: kept lean)."""
    if msg.from_me:
        return SENT_BY_ME
    if chat.jid.endswith("@broadcast"):  # status@broadcast and broadcast lists
        return STATUS_UPDATE
    text = msg.body
    low = text.lower()
    reasons: list[tuple[int, str]] = []
    if _mentions(msg, low, rules):
        reasons.append((6, "mentions you"))
    if text:
        words = words_of(low)
        if URGENT.found(low, words):
            reasons.append((4, "sounds urgent"))
        if CALL_ME.found(low, words):
            reasons.append((3, "asks for a call"))
        if not chat.is_group and is_question(text):
            reasons.append((2, "direct question"))
        if DEADLINE.found(low, words):
            reasons.append((2, "date or deadline"))
        if MONEY.found(low, words):
            reasons.append((2, "money or payment"))
        if rules.keywords:
            hits = [k for k in rules.keywords if k and k.lower() in low]
            if hits:
                reasons.append((3, f"keyword “{hits[0]}”"))
    elif msg.kind in {MessageKind.STICKER, MessageKind.OTHER}:
        reasons.append((-3, "sticker or noise"))
    else:
        reasons.append((-1, f"{msg.kind.value} without text"))
    if chat.trusted:
        reasons.append((3, "trusted chat"))
    if rules.vip and (msg.sender in rules.vip or chat.jid in rules.vip or chat.name in rules.vip):
        reasons.append((3, "VIP"))
    if chat.score_bias:
        reasons.append((chat.score_bias, "your feedback on this chat"))
    base = 1 if chat.is_group else 4
    score = max(0, min(10, base + sum(p for p, _ in reasons)))
    # Strongest first; sort is stable, so equal points keep the order they were found in.
    positive = [why for p, why in sorted(reasons, key=_points, reverse=True) if p > 0]
    reason = ", ".join(positive[:3]) or ("group chatter" if chat.is_group else "ordinary message")
    return Importance(score, reason)


def _points(reason: tuple[int, str]) -> int:
    return reason[0]
