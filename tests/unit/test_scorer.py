"""The learned scorer: the fast per-word-cached sum equals the sum over every feature, with
and without the owner's corrections, for any text; the model file round-trips."""

from __future__ import annotations

import random
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.features import Facts, features, structural, tokens
from assistant.scorer import CLASSES, Scorer, save, softmax

TEXTS = [
    "water is coming through the ceiling, can you call the landlord",
    "Mamá está en urgencias, llámame cuando puedas 🙏",
    "Папа упал, перезвони мне срочно!!",
    "Kannst du die Kinder um 15:30 abholen? Ich stecke im Stau",
    "hahaha 😂😂 boa noite pessoal",
]


def model_for(texts: list[str], seed: int = 1) -> Scorer:
    """A scorer with random weights for every feature of ``texts`` (some left out)."""
    rng = random.Random(seed)
    feats = {
        f
        for t in texts
        for facts in (Facts(), Facts(True, False, True, 3))
        for f in features(t, facts)
    }
    weights = {
        f: tuple(rng.uniform(-1, 1) for _ in CLASSES) for f in sorted(feats) if rng.random() < 0.8
    }
    return Scorer(weights, (0.1, -0.2, 0.3, 0.0))  # type: ignore[arg-type]


def slow_logits(scorer: Scorer, text: str, facts: Facts) -> list[float]:
    out = list(scorer.bias)
    for f in features(text, facts):
        w = scorer.weight(f)
        for k in range(4):
            out[k] += w[k]
    return out


facts_strategy = st.builds(
    Facts,
    group=st.booleans(),
    known=st.booleans(),
    mentions_me=st.booleans(),
    hour=st.one_of(st.none(), st.integers(0, 23)),
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    facts=facts_strategy,
    words=st.lists(st.sampled_from(TEXTS), max_size=3),
)
def test_fast_sum_equals_sum_over_features(text: str, facts: Facts, words: list[str]) -> None:
    text = " ".join([*words, text])
    scorer = model_for([*TEXTS, text])
    for _ in range(2):  # cold and warm word cache
        fast = scorer.logits(text, facts)
        assert all(
            abs(a - b) < 1e-9 for a, b in zip(fast, slow_logits(scorer, text, facts), strict=True)
        )
    corrections = {f: (0.5, -0.5, 0.0, 0.25) for f in features(text, facts)[::3]}
    scorer.with_extra(corrections)  # corrections apply to cached words at once
    fast = scorer.logits(text, facts)
    assert all(
        abs(a - b) < 1e-9 for a, b in zip(fast, slow_logits(scorer, text, facts), strict=True)
    )
    v = softmax(fast)
    assert abs(v.urgent + v.important + v.normal + v.noise - 1) < 1e-9


def test_model_file_round_trips(tmp_path: Path) -> None:
    scorer = model_for(TEXTS)
    path = tmp_path / "m.json.gz"
    save(path, scorer.weights, scorer.bias, {"forward_at": 6.5})
    again = Scorer.load(path)
    assert again.forward_at == 6.5
    for text in TEXTS:
        a, b = scorer.logits(text, Facts()), again.logits(text, Facts())
        assert all(abs(x - y) < 1e-3 * (1 + len(text)) for x, y in zip(a, b, strict=True))
    save(tmp_path / "again.json.gz", again.weights, again.bias, {"forward_at": 6.5})
    assert (tmp_path / "again.json.gz").read_bytes() == path.read_bytes()  # same model, same bytes


def test_the_shipped_model_loads_and_is_small() -> None:
    from importlib import resources

    raw = resources.files("assistant.data").joinpath("triage-model.json.gz").read_bytes()
    assert len(raw) <= 5 * 1024 * 1024
    scorer = Scorer.load()
    assert len(scorer.weights) > 1000
    v = scorer.verdict("hi", Facts())
    assert 0 < v.urgent < 1


# The facts as first written (and as the shipped model was trained on them); features.py
# spells them to be fast, and must mean the same.
PLAIN_CLOCK = re.compile(
    r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,3} ?(?:min|mins|minutes|minuten|minutos|мин)"
)
PLAIN_MONEY = re.compile(r"[€$£₽]|\d ?(?:eur|euro|usd|rub|руб|reais|r\$)")
PLAIN_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:[a-z]{2,6})/\S", re.ASCII)
PLAIN_TOKEN = re.compile(r"\w+|[^\w\s]")


@settings(max_examples=2000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("09 1:.h,mineurs$€£₽r/wthps?é٣")), max_size=30)
    | st.text(max_size=60)
)
def test_fast_facts_mean_what_the_plain_patterns_say(text: str) -> None:
    low, toks = tokens(text)
    assert toks == PLAIN_TOKEN.findall(low)
    found = set(structural(low, Facts()))
    digit = re.search(r"\d", low) is not None
    assert ("s:clock" in found) == (digit and PLAIN_CLOCK.search(low) is not None)
    assert ("s:money" in found) == (digit and PLAIN_MONEY.search(low) is not None)
    assert ("s:link" in found) == (PLAIN_LINK.search(low) is not None)
