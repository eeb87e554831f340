"""The account label rule (issue 21): one key for every layer, invisible characters, mixed
scripts, look-alikes and the words commands read before a label — as the owner would type
them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.labels import COMMAND_WORDS, label_key, skeleton
from core.setting_keys import EDITABLE
from storage.accounts import check_label
from whatsapp.simulator_feed import AccountRoute

#: Letters that look alike across Latin, Cyrillic and Greek, and the invisible ones.
TRICKY = "mainworkpeсаоірМаІΑΟΡεν\u200b\u200d\u3164\u115f\u1160\u0301\u0338ß İ_-1"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Work Phone ", "work phone"),
        ("ＷＯＲＫ", "work"),  # fullwidth
        ("ﬁles", "files"),  # a ligature
        ("Straße", "strasse"),
        ("my   work", "my work"),
        ("e\u0301quipe", "équipe"),  # composed by NFKC
        ("работа", "работа"),
        ("Δουλειά", "δουλειά"),
        ("お仕事", "お仕事"),  # Hiragana with Han: Japanese writing
        ("मेरा काम", "मेरा काम"),
        ("work-2", "work-2"),
        ("office_2", "office_2"),
    ],
)
def test_a_good_label_is_stored_normalised(typed: str, stored: str) -> None:
    assert check_label(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("ma\u200bin", "invisible or control character (U+200B)"),
        ("wo\u200drk", "invisible or control character (U+200D)"),
        ("\u3164", "invisible or control character (U+3164)"),
        ("work\u115f", "invisible or control character (U+115F)"),
        ("work\u1160", "invisible or control character (U+1160)"),
        ("\u202ekrow", "invisible or control character (U+202E)"),
        ("tab\there", "invisible or control character (U+0009)"),
        ("mаin", "mixes Cyrillic and Latin letters"),  # Cyrillic а
        ("wοrk", "mixes Greek and Latin letters"),  # Greek ο
        ("a\u0338b", "combining mark (U+0338)"),
        ("\u0301work", "combining mark (U+0301)"),
        ("\u02bcwork", "modifier letter (U+02BC)"),
        ("a/b", "letters, digits, spaces"),
        ("x" * 21, "1 to 20"),
        ("  ", "1 to 20"),
        ("__", "needs a letter"),
        ("last", "cannot start with “last”"),
        ("Last week", "cannot start with “last”"),
        ("digest_time", "cannot start with “digest_time”"),
        ("TRIAGE_RESET", "cannot start with “triage_reset”"),
        ("team 2", "/pair would read it as the phone number"),
    ],
)
def test_a_confusing_label_is_refused_with_its_reason(typed: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        check_label(typed)


@pytest.mark.parametrize(
    ("typed", "taken", "reason"),
    [
        ("mаin", "main", "“mаin” looks like the account “main”; choose another label"),
        ("maın", "main", "looks like the account “main”"),  # dotless i, Latin only
        ("рор", "pop", "looks like the account “pop”"),  # all Cyrillic
        ("ΑΟ", "ao", "looks like the account “ao”"),  # Greek capitals
        ("MAIN", "main", "“main” is already used"),
        ("ｍａｉｎ", "Main", "“main” is already used"),  # an old label kept as typed
    ],
)
def test_a_label_like_another_accounts_is_refused(typed: str, taken: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        check_label(typed, [taken])


def test_every_word_a_command_reads_before_a_label_is_refused() -> None:
    assert {"last", "triage_reset", *EDITABLE} <= COMMAND_WORDS
    for word in COMMAND_WORDS:
        with pytest.raises(InvalidInput, match="cannot start with"):
            check_label(word.upper())


def test_the_simulator_routes_feed_lines_by_the_stored_key() -> None:
    route = AccountRoute("Straße", first=False)
    for typed in ("STRASSE", "strasse", " ｓｔｒａｓｓｅ "):
        assert route.mine({"account": typed})
        assert label_key(typed) == check_label("Straße")
    assert not route.mine({"account": "strаsse"})  # Cyrillic а


@settings(max_examples=300)
@given(st.text(max_size=30) | st.text(alphabet=TRICKY, max_size=12))
def test_the_key_and_the_rule_are_idempotent(text: str) -> None:
    key = label_key(text)
    assert label_key(key) == key
    assert skeleton(skeleton(key)) == skeleton(key)
    try:
        stored = check_label(text)
    except InvalidInput:
        return
    assert stored == key
    assert check_label(stored) == stored
    assert 1 <= len(stored) <= 20
    with pytest.raises(InvalidInput):
        check_label(text, [stored])  # never twice
