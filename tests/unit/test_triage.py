"""Heuristic triage on the labelled set (five languages): precision and recall of forwarding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from assistant.triage import DEFAULT_THRESHOLD, TriageRules, score_message
from storage.domain import Chat, StoredMessage
from tests.fixtures.triage_labelled import IMPORTANT, ORDINARY
from whatsapp.types import ChatJid, MessageKind, WaMessageId

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


def test_labelled_set_precision_and_recall() -> None:
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
    msg, chat = stored("URGENT!!", False, False)
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
    plain, person = stored("see you at the park", False, False)
    base = score_message(plain, person, RULES).score
    trusted = replace(person, trusted=True)
    assert score_message(plain, trusted, RULES).score >= DEFAULT_THRESHOLD > base
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
        assert loud == quiet and quiet.score > 1, text
