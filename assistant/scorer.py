"""The learned local scorer: a linear model (multinomial logistic regression) over the features
of ``assistant/features.py``, trained by ``python -m assistant.train_triage`` on the dev part
of the labelled corpus and shipped as ``assistant/data/triage-model.json.gz``.

It answers, for one message, how likely each label is: urgent (interrupt the owner now),
important (today), normal, noise. Scoring is pure Python and fast because a word's whole
contribution (the word and its character 4-grams) is summed once and cached; the owner's
corrections (``assistant/learning.py``) are a small second table added on top of the shipped one.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from assistant.features import Facts, fold, is_word, structural, tokens, word_features

CLASSES = ("urgent", "important", "normal", "noise")
URGENT, IMPORTANT, NORMAL, NOISE = range(4)
MODEL_VERSION = 1
MODEL_FILE = "triage-model.json.gz"
#: Words cached at most; the cache is emptied when full (word frequencies are very skewed,
#: so the common words are back after a few messages).
CACHE_LIMIT = 50_000

Vector = tuple[float, float, float, float]
ZERO: Vector = (0.0, 0.0, 0.0, 0.0)
#: No word pair starts here (after a mark, or a word no pair begins with).
NO_PAIRS: Mapping[str, Vector] = MappingProxyType({})
#: A cached token: its summed weights, its folded word ("" for a mark) and the pair weights
#: of the words that may follow it.
Entry = tuple[float, float, float, float, str, Mapping[str, Vector]]


class ModelError(Exception):
    """The model file is missing, unreadable or of another version."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The scorer's answer: the probability of each label."""

    urgent: float
    important: float
    normal: float
    noise: float

    @property
    def label(self) -> str:
        """The most probable label."""
        probs = (self.urgent, self.important, self.normal, self.noise)
        return CLASSES[probs.index(max(probs))]


def softmax(logits: Vector) -> Verdict:
    """Probabilities from the four logits."""
    top = max(logits)
    e = [math.exp(x - top) for x in logits]
    total = sum(e)
    return Verdict(e[0] / total, e[1] / total, e[2] / total, e[3] / total)


def add(a: Vector, b: Vector) -> Vector:
    """Add two vectors of per-label weights."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


class Scorer:
    """Scores messages with shipped weights plus the owner's corrections (``extra``)."""

    def __init__(
        self,
        weights: Mapping[str, Vector],
        bias: Vector,
        extra: Mapping[str, Vector] | None = None,
        source: str = "",
        forward_at: float = 7.0,
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.source = source
        #: The model's worth (see ``triage.model_points``) from which a message is forwarded,
        #: chosen on the dev part by cross-validation.
        self.forward_at = forward_at
        self._extra: dict[str, Vector] = dict(extra or {})
        self._words: dict[str, Entry] = {}
        self._pairs = _pairs(weights, self._extra)

    @classmethod
    def load(cls, path: Path | None = None) -> Scorer:
        """A scorer over the shipped model (or the file at ``path``). The shipped weights are
        read once and shared; each scorer has its own corrections and cache."""
        key = str(path or "")
        if key not in _LOADED:
            _LOADED[key] = _read(path)
        weights, bias, forward_at, source = _LOADED[key]
        return cls(weights, bias, source=source, forward_at=forward_at)

    def with_extra(self, extra: Mapping[str, Vector]) -> None:
        """Use the owner's corrections from now on (replaces the earlier ones)."""
        self._extra = dict(extra)
        self._pairs = _pairs(self.weights, self._extra)
        self._words.clear()

    def weight(self, feature: str) -> Vector:
        """The shipped weight of a feature plus the owner's correction of it."""
        w = self.weights.get(feature, ZERO)
        e = self._extra.get(feature)
        return add(w, e) if e is not None else w

    def _word(self, token: str) -> Entry:
        """A token's summed weights, its folded form ("" for a mark) and the pair weights of
        the words that may follow it. Every number of a length reads the same ("00"), so
        numbers share one entry."""
        if token.isascii() and token.isdigit():  # fold() turns ASCII digits only into 0
            token = "0" * len(token)
            hit = self._words.get(token)
            if hit is not None:
                return hit
        u = i = n = x = 0.0
        for f in word_features(token):
            w = self.weight(f)
            u += w[0]
            i += w[1]
            n += w[2]
            x += w[3]
        if len(self._words) >= CACHE_LIMIT:
            self._words.clear()
        word = fold(token) if is_word(token) else ""
        after = self._pairs.get(word, NO_PAIRS) if word else NO_PAIRS
        entry = self._words[token] = (u, i, n, x, word, after)
        return entry

    def logits(self, text: str, facts: Facts) -> Vector:
        """The four logits of a message (the same sum as over ``features(text, facts)``)."""
        low, toks = tokens(text)
        u, i, n, x = self.bias
        cache = self._words
        follows: Mapping[str, Vector] = NO_PAIRS  # pair weights after the previous word
        for tok in toks:
            w = cache.get(tok)
            if w is None:
                w = self._word(tok)
            u += w[0]
            i += w[1]
            n += w[2]
            x += w[3]
            if follows and (p := follows.get(w[4])) is not None:
                u += p[0]
                i += p[1]
                n += p[2]
                x += p[3]
            follows = w[5]
        weights, extra = self.weights, self._extra
        for f in structural(low, facts):
            w = weights.get(f)
            if w is not None:
                u += w[0]
                i += w[1]
                n += w[2]
                x += w[3]
            if extra and (w := extra.get(f)) is not None:
                u += w[0]
                i += w[1]
                n += w[2]
                x += w[3]
        return (u, i, n, x)

    def verdict(self, text: str, facts: Facts) -> Verdict:
        """The probability of each label for a message."""
        return softmax(self.logits(text, facts))


def _pairs(
    weights: Mapping[str, Vector], extra: Mapping[str, Vector]
) -> dict[str, dict[str, Vector]]:
    """Word-pair weights (shipped plus corrections) as first word → second word → weight:
    no string to build per pair while scoring."""
    out: dict[str, dict[str, Vector]] = {}
    for table in (weights, extra):
        for feature, w in table.items():
            if feature.startswith("b:"):
                first, _, second = feature[2:].partition(" ")
                after = out.setdefault(first, {})
                after[second] = add(after[second], w) if second in after else w
    return out


_LOADED: dict[str, tuple[Mapping[str, Vector], Vector, float, str]] = {}


def _read(path: Path | None) -> tuple[Mapping[str, Vector], Vector, float, str]:
    try:
        if path is None:
            raw = resources.files("assistant.data").joinpath(MODEL_FILE).read_bytes()
            source = MODEL_FILE
        else:
            raw, source = path.read_bytes(), str(path)
        data = json.loads(gzip.decompress(raw))
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        raise ModelError(f"cannot read the triage model: {exc}") from exc
    if data.get("version") != MODEL_VERSION or list(data.get("classes", ())) != list(CLASSES):
        raise ModelError(
            f"the triage model is version {data.get('version')}, this release reads "
            f"{MODEL_VERSION}"
        )
    weights = {k: tuple(v) for k, v in data["weights"].items()}
    bias = tuple(data["bias"])
    return weights, bias, float(data.get("forward_at", 7.0)), source  # type: ignore[return-value]


def save(path: Path, weights: Mapping[str, Vector], bias: Vector, meta: dict) -> None:
    """Write a model file (sorted, rounded weights: the same training gives the same bytes)."""
    data = {
        "version": MODEL_VERSION,
        "classes": list(CLASSES),
        **meta,
        "bias": [round(b, 4) for b in bias],
        "weights": {k: [round(v, 4) for v in weights[k]] for k in sorted(weights)},
    }
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, mtime=0))
