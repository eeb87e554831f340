"""Pages of Telegram HTML: however the input is made, every page obeys Telegram's rules
(tests/fakes/telegram_html_rules.py) and together they keep every word."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render, render_messages, telegram_html
from core.ids import MessageKind
from storage.domain import Chat, StoredMessage
from tests.fakes.telegram_html_rules import problems

TAGS = st.sampled_from([None, "b", "i", "code", "u", "s", "tg-spoiler"])
WORDS = st.text(alphabet=st.characters(codec="utf-8"), max_size=700) | st.sampled_from(
    ["<b>&amp;</b>", "a & b < c > d", "😀" * 900, "x" * 5000, "\n\n" * 100]
)
SEGMENTS = st.lists(st.tuples(TAGS, TAGS, WORDS), max_size=25)


def build(segments) -> str:
    out = []
    for outer, inner, words in segments:
        piece = html.escape(words)
        if inner:
            piece = f"<{inner}>{piece}</{inner}>"
        if outer:
            piece = (
                f'<a href="https://x.example/?a=1&amp;b=2">{piece}</a>'
                if outer == "u"
                else f"<{outer}>{piece}</{outer}>"
            )
        out.append(piece)
    return "\n".join(out)


def words_of(page: str) -> str:
    return re.sub(r"\s+", "", telegram_html.to_plain(page))


def check(text: str, limit: int) -> None:
    pages = telegram_html.split(text, limit)
    for page in pages:
        assert problems(page, limit) == [], (problems(page, limit), page[:200])
    assert "".join(words_of(p) for p in pages) == words_of(text)  # nothing lost or doubled


@settings(max_examples=300, deadline=None)
@given(SEGMENTS, st.sampled_from([4096, 1024, 200]))
def test_every_page_is_valid_telegram_html(segments, limit) -> None:
    check(build(segments), limit)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None)
@given(SEGMENTS, st.sampled_from([4096, 1024, 200, 64]))
def test_every_page_is_valid_telegram_html_fuzz(segments, limit) -> None:
    check(build(segments), limit)


def test_a_cut_never_falls_inside_a_tag_or_an_entity() -> None:
    text = "<b>" + "&amp;" * 2000 + "</b>"
    pages = telegram_html.split(text, 4096)
    assert len(pages) > 1 and all(problems(p) == [] for p in pages)
    assert telegram_html.truncate(text, 1024).endswith("…")
    assert problems(telegram_html.truncate(text, 1024)) == []


def test_a_long_forward_shows_3500_characters_and_says_where_the_rest_is() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    chat = Chat(id=1, jid="1@s.whatsapp.net", name="A & B", is_group=False)
    msg = StoredMessage(
        id=1,
        chat_id=1,
        wa_id="X",
        sender="1@s.whatsapp.net",
        sender_name="A",
        text="<&>" * 21_000,
        kind=MessageKind.TEXT,
        caption="",
        from_me=False,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )
    text = render_messages.forward_text(chat, msg, "urgent", ZoneInfo("UTC"))
    pages = render.split(text)
    assert len(pages) <= 4  # not 60 messages
    assert "59500 more characters" in text and all(problems(p) == [] for p in pages)
