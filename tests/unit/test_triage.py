"""Triage: the precise rules on top of the model, scams held back, the word rules that stand in
when the model file cannot be read, and the transport tests' urgent text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from assistant import triage
from assistant.triage import is_scam_reason, score_message
from assistant.triage_rules import DEFAULT_THRESHOLD, TriageRules
from core.ids import ChatJid, MessageKind, WaMessageId
from storage.domain import Chat, StoredMessage
from tests.fixtures.triage_labelled import IMPORTANT, ORDINARY
from tests.texts import quiet, urgent

ME = "15550001111@s.whatsapp.net"
RULES = TriageRules(own_jids={ME})


def stored(text: str, group: bool, mention: bool, **kw) -> tuple[StoredMessage, Chat]:
    chat = Chat(1, ChatJid("1@g.us" if group else "15550000002@s.whatsapp.net"), "X", group, **kw)
    body = text.replace("@me", "@15550001111")
    msg = StoredMessage(
        1,
        1,
        WaMessageId("A"),
        ChatJid("15550000002@s.whatsapp.net"),
        "A",
        MessageKind.TEXT,
        body,
        "",
        False,
        datetime(2026, 5, 1, tzinfo=UTC),
        mentions=(ME,) if mention else (),
    )
    return msg, chat


def test_word_rules_alone_on_the_fixture_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a readable model file triage falls back to the word rules. (This set was
    written together with those rules: it shows they work as meant, not how well they judge;
    bench/triage_quality.py measures that on messages written blind.)"""
    monkeypatch.setattr(triage, "_DEFAULT", [None])
    assert len(IMPORTANT) + len(ORDINARY) >= 100
    tp = sum(score_message(*stored(*c), RULES).score >= DEFAULT_THRESHOLD for c in IMPORTANT)
    fp = sum(score_message(*stored(*c), RULES).score >= DEFAULT_THRESHOLD for c in ORDINARY)
    precision, recall = tp / max(1, tp + fp), tp / len(IMPORTANT)
    print(
        f"triage heuristics: precision {precision:.2f}, recall {recall:.2f} "
        f"({tp} of {len(IMPORTANT)} important, {fp} of {len(ORDINARY)} ordinary forwarded)"
    )
    assert precision >= 0.95 and recall >= 0.85


def test_own_messages_status_and_stickers_score_low_and_trust_and_vip_raise() -> None:
    msg, chat = stored(urgent(1), False, False)
    assert score_message(replace(msg, from_me=True), chat, RULES).score == 0
    status = Chat(2, ChatJid("status@broadcast"), "Status", False)
    assert score_message(msg, status, RULES).score == 0
    sticker = StoredMessage(
        1,
        1,
        WaMessageId("S"),
        ChatJid("1@s.whatsapp.net"),
        "",
        MessageKind.STICKER,
        "",
        "",
        False,
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert score_message(sticker, Chat(1, ChatJid("1@g.us"), "G", True), RULES).score == 0
    plain, person = stored("see you at the park", False, False, known=True)
    base = score_message(plain, person, RULES).score
    trusted = replace(person, trusted=True)  # a trusted chat is a known one, 3 points up
    assert score_message(plain, trusted, RULES).score == min(10, base + 3)
    vip = TriageRules(own_jids={ME}, vip={"15550000002@s.whatsapp.net"})
    assert score_message(plain, person, vip).score > base
    kw = TriageRules(own_jids={ME}, keywords={"park"})
    assert "keyword" in score_message(plain, person, kw).reason


def test_shouting_scores_like_lower_case_in_every_language() -> None:
    for text in [
        "urgent, call me back",
        "dringend: rückruf bitte",
        "срочно перезвони",
        "invoice of €50 due tomorrow",
        "pagamento até amanhã",
    ]:
        quiet = score_message(*stored(text, True, False), RULES)
        loud = score_message(*stored(text.upper(), True, False), RULES)
        assert loud == quiet, text


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("known", [False, True])
def test_the_transport_tests_urgent_text_is_forwarded(group: bool, known: bool) -> None:
    for tag in ("U1", "#7", "live 3", "item 44", "one", "P1"):
        importance = score_message(*stored(urgent(tag), group, False, known=known), RULES)
        assert importance.score >= DEFAULT_THRESHOLD, (tag, importance)


def test_a_scam_is_never_forwarded_even_from_a_trusted_vip_chat() -> None:
    text = "Your PayPal account is suspended! URGENT: verify now at paypal-secure-login.com"
    msg, chat = stored(text, False, False, trusted=True)
    vip = TriageRules(own_jids={ME}, vip={"15550000002@s.whatsapp.net"}, keywords={"paypal"})
    importance = score_message(msg, chat, vip)
    assert importance.score < DEFAULT_THRESHOLD and is_scam_reason(importance.reason)
    assert importance.reason.startswith("⚠️ looks like a scam (")
    assert importance.look  # an LLM, when there is one, sees it with the verdict


def test_mentions_add_points_and_groups_ask_an_llm_only_when_i_am_mentioned() -> None:
    text = "can someone bring chairs on saturday"
    plain = score_message(*stored(text, True, False), RULES)
    mentioned = score_message(*stored("@me " + text, True, True), RULES)
    assert mentioned.score >= plain.score and "mentions you" in mentioned.reason
    assert mentioned.look
    if plain.score < DEFAULT_THRESHOLD:
        assert not plain.look or plain.undecided


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("we are all meeting by the lake at noon, bring snacks", False),
        ("bitte alle bis 11:30 die Kinder abholen, die Schule schließt", True),
        ("пожалуйста заберите детей до 11:30", True),
        ("does anyone know when the school closes today?", True),
    ],
)
def test_groups_show_an_llm_questions_and_requests_not_chatter(
    text: str, asks: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.scorer import Verdict

    chatter = Verdict(urgent=0.0, important=0.0, normal=0.99, noise=0.01)
    monkeypatch.setattr(triage.Scorer, "verdict", lambda self, text, facts: chatter)
    importance = score_message(*stored(text, True, False), RULES)
    assert not importance.undecided and importance.score < DEFAULT_THRESHOLD, importance
    assert importance.look is asks, importance


def test_a_person_asking_to_be_called_back_reaches_an_llm_whatever_the_model_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.scorer import Verdict

    sure_noise = Verdict(urgent=0.0, important=0.0, normal=0.01, noise=0.99)
    monkeypatch.setattr(triage.Scorer, "verdict", lambda self, text, facts: sure_noise)
    cases = {
        "Ward 3 of the city hospital, please call the duty doctor on +44 20 7946 0958": True,
        "did you buy something with the joint card": True,
        "Weekly newsletter: our best deals of the season": False,
    }
    for text, looks in cases.items():
        importance = score_message(*stored(text, False, False, known=False), RULES)
        assert importance.look is looks or importance.undecided, (text, importance)


@pytest.mark.parametrize("known", [False, True])
def test_the_quiet_text_waits_for_the_digest_and_an_llm_looks_at_it(known: bool) -> None:
    for tag in ("", 1, 59, "and the car thing", "and the car thing again"):
        importance = score_message(*stored(quiet(tag), False, False, known=known), RULES)
        assert importance.score < DEFAULT_THRESHOLD and importance.look, (tag, importance)


def test_an_llm_overrules_a_local_scam_verdict_only_when_sure() -> None:
    from assistant.llm_triage import SURE, _merge
    from assistant.triage import Importance

    scam = Importance(2, "⚠️ looks like a scam (look-alike link)", look=True)
    assert _merge(scam, Importance(8, "LLM: bank asks to verify")) is scam
    sure = Importance(SURE, "LLM: the owner's own bank, expected")
    assert _merge(scam, sure) is sure
    plain = Importance(4, "ordinary message", look=True)
    lower = Importance(1, "LLM: newsletter")
    assert _merge(plain, lower) is lower and _merge(plain, None) is plain
