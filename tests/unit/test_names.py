"""Names: the precedence, numbers for reading, and finding a chat by any name it had —
property-tested over arbitrary Unicode."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import names
from storage.chat_search import MATCH_EXACT, MATCH_WORD, match_rank


def test_the_saved_name_wins_then_business_then_push() -> None:
    assert names.best_name("Sofía Ramírez", "Sofía", "Shop", "Sofi") == (
        "Sofía Ramírez",
        names.NAME_CONTACT,
    )
    assert names.best_name("", "Sofía", "Shop", "Sofi") == ("Sofía", names.NAME_CONTACT)
    assert names.best_name("", "", "Shop", "Sofi") == ("Shop", names.NAME_BUSINESS)
    assert names.best_name("", " ", "", "Sofi") == ("Sofi", names.NAME_PUSH)
    assert names.best_name() == ("", names.NAME_FALLBACK)


def test_numbers_read_as_people_write_them() -> None:
    assert names.format_phone("4915112345678") == "+49 1511 2345678"
    assert names.fallback_name("4915112345678@s.whatsapp.net") == "+49 1511 2345678"
    assert names.fallback_name("201000000000001@lid") == "Contact …0001"
    assert names.fallback_name("201000000000001@lid", "34612345678@s.whatsapp.net") == (
        "+34 612 34 56 78"
    )
    assert names.format_phone("12") == "+12"  # no numbering plan knows it: as it is


def test_folding_ignores_case_accents_and_emoji() -> None:
    assert names.fold("Sofía Ramírez 🌻") == "sofia ramirez"
    assert names.fold("JOÃO P.") == "joao p"
    assert names.needles("+49 151 1234-5678") == ["4915112345678"]
    assert names.needles("0151 12345678") == ["15112345678"]  # the trunk zero goes


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=6), st.integers(0, 5))
def test_a_chat_is_found_by_every_name_it_had(found: list[str], pick: int) -> None:
    key = ""
    for name in found:
        key = names.extend_key(key, names.key_parts([name]))
    assert len(key) <= names.KEY_LIMIT + 1
    typed = found[pick % len(found)]
    needle = (names.needles(typed) or [""])[0]
    if needle and not needle.isdigit() and len(key) < names.KEY_LIMIT - 500:
        assert needle in key
        assert match_rank(needle, found[0], key) == MATCH_EXACT


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_folding_is_stable_and_never_raises(text: str) -> None:
    once = names.fold(text)
    assert names.fold(once) == once and "|" not in once
    assert all("|" not in n and "%" not in n and "_" not in n for n in names.needles(text))


def test_a_word_of_a_name_is_a_clear_match_a_prefix_is_not() -> None:
    key = names.extend_key("", names.key_parts(["Sofía Ramírez 🌻", "Sofi"]))
    assert match_rank("sofia", "Sofía Ramírez 🌻", key) == MATCH_WORD
    assert match_rank("ram", "Sofía Ramírez 🌻", key) > MATCH_WORD
