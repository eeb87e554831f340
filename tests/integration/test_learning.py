"""Learning from the owner: a correction moves messages like the corrected one, is bounded,
survives a restart (stored with the owner's data) and is undone by a reset."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant.features import Facts
from assistant.learning import CAP, TriageLearner
from assistant.triage_rules import TriageRules
from core.ids import ChatJid, MessageKind, WaMessageId
from storage import Storage
from storage.domain import Chat, StoredMessage
from tests.unit.test_scorer import TEXTS, model_for

ALICE = ChatJid("15550000002@s.whatsapp.net")
CHAT = Chat(1, ALICE, "Alice", False, known=True)
RULES = TriageRules(timezone=UTC)
WHEN = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
FACTS = Facts(False, True, False, 9)


def message(text: str) -> StoredMessage:
    return StoredMessage(
        1, 1, WaMessageId("A1"), ALICE, "Alice", MessageKind.TEXT, text, "", False, WHEN
    )


async def test_a_correction_moves_like_messages_boundedly_persists_and_resets(
    storage: Storage,
) -> None:
    corrected = "the dog got out again, can you come home"
    similar = "the dog got out, come home please"
    other = "Ваша карта заблокирована"
    scorer = model_for([*TEXTS, corrected, similar, other])
    learner = TriageLearner(storage, scorer, RULES)
    assert (await learner.load()).corrections == 0
    before = {t: scorer.verdict(t, FACTS) for t in (corrected, similar, other)}

    state = await learner.learn(message(corrected), CHAT, "urgent")
    after = {t: scorer.verdict(t, FACTS) for t in (corrected, similar, other)}
    assert state.corrections == 1 and state.features > 0
    assert after[corrected].urgent > before[corrected].urgent
    assert after[similar].urgent > before[similar].urgent  # what is like it moves too
    assert abs(after[other].urgent - before[other].urgent) < 0.02  # the rest does not

    # One click is bounded: the corrected message's urgent logit rises by at most ~STEP.
    lb = scorer.logits(corrected, FACTS)
    await learner.learn(message(corrected), CHAT, "urgent")
    la = scorer.logits(corrected, FACTS)
    assert 0 < (la[0] - la[2]) - (lb[0] - lb[2]) <= 4.0
    for _ in range(40):  # many clicks: every correction stays within its cap
        await learner.learn(message(corrected), CHAT, "urgent")
    assert all(abs(x) <= CAP for w in learner._extra.values() for x in w)

    # Stored with the owner's data: a new process (new scorer, new learner) scores the same.
    fresh = model_for([*TEXTS, corrected, similar, other])
    again = TriageLearner(storage, fresh, RULES)
    assert (await again.load()).corrections == 42
    assert fresh.logits(similar, FACTS) == scorer.logits(similar, FACTS)

    assert (await again.reset()).corrections == 0
    plain = model_for([*TEXTS, corrected, similar, other])
    assert fresh.logits(similar, FACTS) == plain.logits(similar, FACTS)
    assert (await TriageLearner(storage, plain, RULES).load()).corrections == 0


async def test_not_important_lowers_and_a_damaged_store_is_ignored(storage: Storage) -> None:
    text = "can you call me about the invoice"
    scorer = model_for([*TEXTS, text])
    learner = TriageLearner(storage, scorer, RULES)
    await learner.load()
    before = scorer.verdict(text, FACTS)
    await learner.learn(message(text), CHAT, "not_important")
    after = scorer.verdict(text, FACTS)
    assert after.normal > before.normal and after.urgent < before.urgent
    # A hand-edited or damaged value loads as "no corrections" instead of failing.
    await storage.settings.set(
        "triage_corrections", {"count": 3, "weights": {"w:x": ["nan", 1e300, None, 1]}}
    )
    state = await TriageLearner(storage, model_for(TEXTS), RULES).load()
    assert state.corrections == 3 and state.features == 1
