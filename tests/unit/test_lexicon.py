"""Triage vocabularies: the word-set fast path finds exactly what the whole regex finds."""

from __future__ import annotations

import random

import pytest

from assistant.lexicon import Lexicon, words_of
from assistant.triage_rules import CALL_ME, DEADLINE, MONEY, URGENT
from tests.fixtures.triage_labelled import IMPORTANT, ORDINARY

SIGNALS = {"urgent": URGENT, "deadline": DEADLINE, "money": MONEY, "call": CALL_ME}


def found(lexicon: Lexicon, text: str) -> bool:
    low = text.lower()
    return lexicon.found(low, words_of(low))


def test_shapes_of_terms() -> None:
    lex = Lexicon("help|urgent*|call me", extra=r"!!+", needs=("!!",))
    assert found(lex, "Help.") and found(lex, "so URGENTLY") and found(lex, "pls call me")
    assert found(lex, "what!!")
    assert not found(lex, "helpful")  # whole words only
    assert not found(lex, "nonurgent")  # a prefix starts the word
    assert not found(lex, "call  me") and not found(lex, "recall me")  # the phrase as written
    assert not found(lex, "what!")
    with pytest.raises(ValueError):
        Lexicon("x", extra=r"\d")  # an extra pattern must say what it cannot match without


def corpus(seed: int, n: int) -> list[str]:
    """Texts built from every term of every signal, near misses, and the labelled set."""
    pieces = ["a", "the", "5", "12:30", "3/4", "1.2", "€5", "5 eur", "5euros", "$ 3", "!!"]
    pieces += ["!", "x1", "_", "call", "me", "ruf", "mich", "an", "by", "bis", "liga", "Ü"]
    for lex in SIGNALS.values():
        pieces += [*lex.words, *lex.starters, *lex.prefixes, *(p + "ing" for p in lex.prefixes)]
        pieces += ["call me", "ruf mich an", "by friday", "bis montag", "fecha límite"]
    separators = [" ", ",", ".", "", "_", "-", "  ", "\n", "!", ":", "/", "?"]
    rng = random.Random(seed)
    texts = [text for text, *_ in IMPORTANT + ORDINARY]
    for _ in range(n):
        words = [rng.choice(pieces) for _ in range(rng.randint(1, 6))]
        text = "".join(w + rng.choice(separators) for w in words)
        texts.append(text.upper() if rng.random() < 0.2 else text)
    return texts


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_fast_path_agrees_with_the_whole_pattern(name: str) -> None:
    lexicon = SIGNALS[name]
    hits = 0
    for text in corpus(seed=len(name), n=20_000):
        low = text.lower()
        expected = lexicon.pattern.search(low) is not None
        assert lexicon.found(low, words_of(low)) == expected, text
        hits += expected
    assert 1_000 < hits < 19_000  # the corpus exercises both answers
