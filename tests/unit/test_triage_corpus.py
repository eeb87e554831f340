"""The triage corpus: the frozen test part is unchanged since the README's figures were taken,
only blind messages are tested on, and the shipped model was trained on the dev part alone."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from importlib import resources

from assistant import train_triage

#: The test part when the README's figures were taken (python -m bench.triage_quality).
TEST_MESSAGES = 575
TEST_FINGERPRINT = "68f49f4356883932aea7f447f5caba84f1d0f89d462c42c05b424a2624588fe6"


def test_the_test_part_is_frozen_and_blind() -> None:
    everything = train_triage.load()
    dev, test = train_triage.split(everything)
    assert len(test) == TEST_MESSAGES
    assert train_triage.fingerprint(test) == TEST_FINGERPRINT
    assert all(e.source == "blind" for e in test)  # our own messages are never tested on
    blind = [e for e in everything if e.source == "blind"]
    assert len(test) >= 0.3 * len(blind)
    assert {e.id for e in dev}.isdisjoint(e.id for e in test)
    # No copy across the split (a few one-word texts, "ok", "👍", occur in several languages).
    assert {e.text for e in dev}.isdisjoint(e.text for e in test if len(e.text) > 15)


def test_the_corpus_covers_every_label_in_each_language() -> None:
    everything = train_triage.load()
    assert len([e for e in everything if e.source == "blind"]) >= 1_500
    per_language = Counter(e.lang for e in everything if e.source == "blind")
    assert set(per_language) == {"en", "de", "es", "pt", "ru"}
    assert min(per_language.values()) >= 200  # blind messages alone, in every language
    for lang in per_language:
        labels = Counter(e.label for e in everything if e.lang == lang)
        assert min(labels[label] for label in train_triage.CLASSES) >= 40, (lang, labels)
    assert all(e.label == "noise" for e in everything if e.scam)


def test_the_shipped_model_was_trained_on_the_dev_part_only() -> None:
    raw = resources.files("assistant.data").joinpath("triage-model.json.gz").read_bytes()
    meta = json.loads(gzip.decompress(raw))["trained_on"]
    dev, _ = train_triage.split(train_triage.load())
    assert meta == {"messages": len(dev), "fingerprint": train_triage.fingerprint(dev)}
