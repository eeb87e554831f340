"""Importance triage: a score 0–10 and a one-line reason for every incoming message.

The learned local model (``assistant/scorer.py``) judges the text in English, German,
Spanish, Portuguese and Russian; the precise rules the owner sets (VIPs, keywords, trusted
chats, feedback) and mentions of the owner add to it; the scam detector (``assistant/scam.py``)
holds frauds and chain letters below any forward. The word lists (``assistant/triage_rules.py``,
with the owner's rules) give the reasons in words, and carry the score alone when the model
file cannot be read. Cheap enough for every history message. Scores in the middle band are
"undecided": an LLM, when configured, may refine those later; without one the local score
stands.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from assistant import scam
from assistant.features import PHONE_NUMBER, Facts
from assistant.lexicon import words_of
from assistant.scorer import ModelError, Scorer, Verdict
from assistant.triage_rules import (
    CALL_ME,
    DEADLINE,
    DEFAULT_THRESHOLD,
    MONEY,
    PLEASE,
    SAYS_URGENT,
    URGENT,
    Scorable,
    TriageRules,
    is_question,
    mentions_me,
)
from core.ids import MessageKind
from storage.domain import Chat

logger = logging.getLogger(__name__)

UNDECIDED = range(4, 7)
MENTION_POINTS = 2
#: The model's noise probability from which a person-chat message is not shown to an LLM.
CLEAR_NOISE = 0.8
#: A scam never scores above this: never forwarded, last in the digest.
SCAM_CAP = 2
SCAM_MARK = "⚠️ looks like a scam"
#: Points a precise rule adds to the model's score.
RULE_POINTS = 2


@dataclass(frozen=True, slots=True)
class Importance:
    """A message's score and why."""

    score: int
    reason: str
    #: An LLM, when there is one, should look at it: a person-chat message the model does
    #: not call clearly noise, a group message that mentions me, a scam (to confirm), or a
    #: score in the undecided band.
    look: bool = False

    @property
    def undecided(self) -> bool:
        """Whether the score is in the band where an LLM should decide."""
        return self.score in UNDECIDED


SENT_BY_ME = Importance(0, "sent by me")
STATUS_UPDATE = Importance(0, "status update")


def score_message(
    msg: Scorable,
    chat: Chat,
    rules: TriageRules,
    scorer: Scorer | None = None,
    check_scam: bool = True,
) -> Importance:
    """Score one message (on every history message too: kept lean). The learned model judges
    the text; the precise rules (mentions, VIPs, keywords, trusted chats, the owner's
    feedback) add to it; a scam is held below any forward. History messages, which are never
    forwarded, skip the scam check (``check_scam``): the digest checks what it shows."""
    if msg.from_me:
        return SENT_BY_ME
    if chat.jid.endswith("@broadcast"):  # status@broadcast and broadcast lists
        return STATUS_UPDATE
    text = msg.body
    low = text.lower()
    reasons: list[tuple[int, str]] = []
    facts = facts_of(msg, chat, rules, low)
    mentioned, known = facts.mentions_me, facts.known
    scorer = scorer if scorer is not None else default_scorer()
    look = False
    if text and scorer is not None:
        verdict = scorer.verdict(text, facts)
        points, why = model_points(verdict, scorer.forward_at)
        base = 0
        reasons.append((points, why))
        if mentioned:
            reasons.append((MENTION_POINTS, "mentions you"))
        words = words_of(low)
        if SAYS_URGENT.found(low, words):
            reasons.append((RULE_POINTS, "says it is urgent"))
        elif CALL_ME.found(low, words):
            reasons.append((RULE_POINTS, "asks for a call"))
        if chat.is_group:
            # A question or a request to the group may be to me without an @mention.
            look = mentioned or is_question(text) or PLEASE.found(low, words)
        else:
            look = asks_in_person(verdict, text)
    elif text:
        base = 1 if chat.is_group else 4
        reasons += _heuristic_reasons(msg, chat, text, low, mentioned)
    elif msg.kind in {MessageKind.STICKER, MessageKind.OTHER}:
        base = 1 if chat.is_group else 4
        reasons.append((-3, "sticker or noise"))
    else:
        base = 1 if chat.is_group else 4
        reasons.append((-1, f"{msg.kind.value} without text"))
    if rules.keywords:
        hits = [k for k in rules.keywords if k and k.lower() in low]
        if hits:
            reasons.append((3, f"keyword “{hits[0]}”"))
    if chat.trusted:
        reasons.append((3, "trusted chat"))
    if rules.vip and (msg.sender in rules.vip or chat.jid in rules.vip or chat.name in rules.vip):
        reasons.append((3, "VIP"))
    if chat.score_bias:
        reasons.append((chat.score_bias, "your feedback on this chat"))
    score = max(0, min(10, base + sum(p for p, _ in reasons)))
    if check_scam and text and (found := scam.check(text, known)).is_scam:
        signals = ", ".join(found.signals[:2])
        return Importance(min(score, SCAM_CAP), f"{SCAM_MARK} ({signals})", look=True)
    # Strongest first; sort is stable, so equal points keep the order they were found in.
    positive = [why for p, why in sorted(reasons, key=_points, reverse=True) if p > 0 and why]
    reason = ", ".join(positive[:3]) or ("group chatter" if chat.is_group else "ordinary message")
    return Importance(score, reason, look=look or score in UNDECIDED)


def asks_in_person(verdict: Verdict, text: str) -> bool:
    """Whether an LLM should see a person-chat message: anything the model does not call
    clearly noise, and, whatever the model says, a question to me or a number to call back
    (a relative's hospital or bank calling looks like a scam to the model; the LLM decides)."""
    return verdict.noise < CLEAR_NOISE or is_question(text) or bool(PHONE_NUMBER.search(text))


def facts_of(msg: Scorable, chat: Chat, rules: TriageRules, low: str | None = None) -> Facts:
    """What the model reads of a message besides its text."""
    low = msg.body.lower() if low is None else low
    hour = msg.timestamp.astimezone(rules.timezone).hour if rules.timezone else None
    return Facts(chat.is_group, chat.known or chat.trusted, mentions_me(msg, rules, low), hour)


def model_points(verdict: Verdict, forward_at: float) -> tuple[int, str]:
    """The model's part of the score: the expected worth of the message (urgent 10,
    important 6, normal 3, noise 0), moved so that the model's forward point lands on the
    default threshold; and a reason in words."""
    worth = 10 * verdict.urgent + 6 * verdict.important + 3 * verdict.normal
    points = math.floor(max(0.0, min(10.0, worth + DEFAULT_THRESHOLD - forward_at)))
    label = verdict.label
    why = {
        "urgent": "sounds urgent",
        "important": "needs you today",
        "normal": "",
        "noise": "",
    }[label]
    return points, why


def _heuristic_reasons(
    msg: Scorable, chat: Chat, text: str, low: str, mentioned: bool
) -> list[tuple[int, str]]:
    """The word rules, used when no model can be loaded."""
    reasons: list[tuple[int, str]] = []
    if mentioned:
        reasons.append((6, "mentions you"))
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
    return reasons


def _points(reason: tuple[int, str]) -> int:
    return reason[0]


def is_scam_reason(reason: str) -> bool:
    """Whether a stored reason says the message looks like a scam."""
    return reason.startswith(SCAM_MARK) or reason.startswith("LLM: " + SCAM_MARK)


_DEFAULT: list[Scorer | None] = []


def load_scorer() -> Scorer | None:
    """A scorer over the shipped model; None (with a warning) when it cannot be read."""
    try:
        return Scorer.load()
    except ModelError as exc:
        logger.warning("%s; triage uses the word rules only", exc)
        return None


def default_scorer() -> Scorer | None:
    """The shipped model without corrections, for callers that bring no scorer."""
    if not _DEFAULT:
        _DEFAULT.append(load_scorer())
    return _DEFAULT[0]
