"""Whole-word vocabularies for triage, matched through a set of words instead of a regex scan.

A regex alternation of thirty words tries every word at every position of the text; triage
runs on each history message, so that was most of its cost. A ``Lexicon`` splits its terms
by shape and checks each the cheap way: single words by set intersection with the text's
words, ``word*`` prefixes with ``startswith``, and phrases or non-word patterns with a regex
only when a necessary part (the phrase's first word, a required character) is present.
``pattern`` is the same signal as one regex: the definition the fast path must agree with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"\w+")


def words_of(low: str) -> list[str]:
    """Return the words of a lowercased text, as ``\\b…\\b`` sees them (a list: building a
    set costs more than the few lookups it would save)."""
    return WORD.findall(low)


class Lexicon:
    """One triage signal: ``|``-separated terms — whole words (``word``), prefixes (``word*``),
    phrases (``two words``) — and an optional non-word regex ``extra`` that cannot match
    unless one of the ``needs`` substrings occurs. Terms and texts are lowercase."""

    __slots__ = ("extra", "needs", "pattern", "phrases", "prefixes", "starters", "words")

    def __init__(self, terms: str, extra: str = "", needs: tuple[str, ...] = ()) -> None:
        words: set[str] = set()
        prefixes: list[str] = []
        phrases: list[str] = []
        alternatives: list[str] = []
        for term in terms.split("|"):
            if " " in term:
                phrases.append(term)
                alternatives.append(re.escape(term))
            elif term.endswith("*"):
                prefixes.append(term[:-1])
                alternatives.append(re.escape(term[:-1]) + r"\w*")
            else:
                words.add(term)
                alternatives.append(re.escape(term))
        if extra and not needs:
            raise ValueError("an extra pattern needs the substrings it cannot match without")
        self.words = frozenset(words)
        self.prefixes = tuple(prefixes)
        self.starters = frozenset(p.split(" ", 1)[0] for p in phrases)
        self.phrases = re.compile(_bounded(map(re.escape, phrases))) if phrases else None
        self.extra = re.compile(extra) if extra else None
        self.needs = needs
        whole = _bounded(alternatives)
        self.pattern = re.compile(f"{whole}|{extra}" if extra else whole)

    def found(self, low: str, words: list[str]) -> bool:
        """Return True when the lowercased text (and its ``words_of``) has one of the terms."""
        if not self.words.isdisjoint(words):
            return True
        for prefix in self.prefixes:  # loops, not any(…): no generator on the hot path
            if prefix in low:
                for word in words:
                    if word.startswith(self.prefixes):
                        return True
                break
        if (
            self.phrases is not None
            and not self.starters.isdisjoint(words)
            and self.phrases.search(low)
        ):
            return True
        if self.extra is not None:
            for need in self.needs:
                if need in low:
                    return self.extra.search(low) is not None
        return False


def _bounded(alternatives: Iterable[str]) -> str:
    """Return a regex matching any of ``alternatives`` as whole words."""
    return r"\b(" + "|".join(alternatives) + r")\b"
