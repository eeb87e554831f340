"""The ➕ reaction prompt takes exactly one emoji, in every shape WhatsApp reacts with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.emoji import one_emoji


@pytest.mark.parametrize(
    "text",
    ["👍", " ❤️ ", "🤦🏽‍♀️", "👩‍👩‍👧‍👦", "🇩🇪", "1️⃣", "#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "⭐"],
)
def test_one_emoji_is_taken(text: str) -> None:
    assert one_emoji(text) == text.strip()


@pytest.mark.parametrize(
    "text",
    ["", "ok", "👍👍", "👍 ❤️", "😀" * 8, "👍<>", "👍&", "👍\u202e", "1", "🇩", "👍a", "‍👍", "👍‍"],
)
def test_anything_else_is_refused(text: str) -> None:
    assert one_emoji(text) is None


@given(st.text(max_size=40))
def test_a_taken_text_has_no_letters_digits_markup_or_space(text: str) -> None:
    taken = one_emoji(text)
    if taken is not None and len(taken) > 1 and taken[0] not in "0123456789#*":
        assert not any(c.isalnum() or c.isspace() or c in "<>&" for c in taken)
