"""Train the local triage model from the dev part of the labelled corpus.

    python -m assistant.train_triage            # writes assistant/data/triage-model.json.gz

The labelled messages (one a line) come from two places:

- ``corpus/triage/blind/`` — the evaluation corpus, written by authors who never saw this
  project's rules or code. It is split once, by a fixed seed over each message's id, into a dev
  part and a frozen test part (a third); ``python -m bench.triage_quality`` reports on the test
  part, and a test checks it is unchanged.
- ``corpus/triage/own/`` — messages written by this project's engineers, after the rules:
  training data only, never in the test part.

Training and every rule change may look at the dev part only. The same corpus and seed give
the same model file, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.features import Facts, features
from assistant.scorer import CLASSES, MODEL_FILE, Vector, save

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "triage"
MODEL_PATH = Path(__file__).resolve().parent / "data" / MODEL_FILE
SPLIT_SEED = "wa-secretary-triage-2026"
TEST_SHARE = 0.34
SOURCES = ("blind", "own")
#: Training settings, chosen by 5-fold cross-validation on the dev part only: epochs, AdaGrad
#: step, L2, features seen fewer times drop.
EPOCHS, STEP, L2, MIN_COUNT = 30, 0.1, 1e-4, 2
#: The model's worth (urgent 10, important 6, normal 3) from which a message is forwarded:
#: on the dev part's out-of-fold scores it forwards 0.94 of urgent messages, 0.52 of important
#: ones and 0.05 of the rest (before the scam check).
FORWARD_AT = 6.0
#: Extra weight of each label's examples in training: a missed emergency costs more than a
#: forward that was not needed.
CLASS_WEIGHT = (1.6, 1.0, 1.0, 1.2)
LABELS = set(CLASSES)


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message of the corpus."""

    id: str
    lang: str
    label: str
    scam: bool
    text: str
    facts: Facts
    kind: str = ""
    #: "blind" (the evaluation corpus) or "own" (training only).
    source: str = "blind"


def in_test(example: Example) -> bool:
    """Whether a message belongs to the frozen test part: a blind message whose id, hashed
    with the seed, falls in the first third."""
    if example.source != "blind":
        return False
    digest = hashlib.sha256(f"{SPLIT_SEED}:{example.id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < TEST_SHARE


def load(paths: Iterable[Path] | None = None) -> list[Example]:
    """Read every corpus file (sorted by name); a malformed line is an error."""
    out = []
    for path in sorted(paths or CORPUS.glob("*/*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                if path.parent.name not in SOURCES:
                    raise ValueError(f"corpus files live in {' or '.join(SOURCES)}/")
                row = json.loads(line)
                if row["label"] not in LABELS:
                    raise ValueError(f"unknown label {row['label']!r}")
                out.append(
                    Example(
                        id=str(row["id"]),
                        lang=str(row["lang"]),
                        label=row["label"],
                        scam=bool(row.get("scam", False)),
                        text=str(row["text"]),
                        kind=str(row.get("kind", "")),
                        source=path.parent.name,
                        facts=Facts(
                            group=row["chat"] == "group",
                            known=bool(row["known"]),
                            mentions_me=bool(row.get("mentions_me", False)),
                            hour=int(row["hour"]) if row.get("hour") is not None else None,
                        ),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}:{number}: {exc}") from exc
    return out


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(dev, test) by the fixed seed."""
    dev = [e for e in examples if not in_test(e)]
    test = [e for e in examples if in_test(e)]
    return dev, test


def fingerprint(examples: Sequence[Example]) -> str:
    """A hash of the messages themselves, to prove a part unchanged."""
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        h.update(json.dumps([e.id, e.label, e.scam, e.text, list(_facts(e))]).encode())
    return h.hexdigest()


def _facts(e: Example) -> tuple:
    f = e.facts
    return (f.group, f.known, f.mentions_me, f.hour)


def train(
    examples: Sequence[Example],
    seed: int = 7,
    epochs: int = EPOCHS,
    step: float = STEP,
    l2: float = L2,
    min_count: int = MIN_COUNT,
) -> tuple[dict[str, Vector], Vector]:
    """Multinomial logistic regression by AdaGrad over the examples' features."""
    rows = [(Counter(features(e.text, e.facts)), CLASSES.index(e.label)) for e in examples]
    seen = Counter(f for counts, _ in rows for f in counts)
    keep = {f for f, n in seen.items() if n >= min_count or f.startswith("s:")}
    rows = [({f: c for f, c in counts.items() if f in keep}, y) for counts, y in rows]
    weights: dict[str, list[float]] = {f: [0.0] * 4 for f in sorted(keep)}
    squares: dict[str, list[float]] = {f: [1e-8] * 4 for f in keep}
    bias, bias_sq = [0.0] * 4, [1e-8] * 4
    order = list(range(len(rows)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            counts, y = rows[index]
            logits = list(bias)
            for f, c in counts.items():
                w = weights[f]
                for k in range(4):
                    logits[k] += w[k] * c
            top = max(logits)
            exps = [math.exp(v - top) for v in logits]
            total = sum(exps)
            grad = [
                CLASS_WEIGHT[y] * (exps[k] / total - (1.0 if k == y else 0.0)) for k in range(4)
            ]
            for k in range(4):
                bias_sq[k] += grad[k] ** 2
                bias[k] -= step * grad[k] / math.sqrt(bias_sq[k])
            for f, c in counts.items():
                w, sq = weights[f], squares[f]
                for k in range(4):
                    g = grad[k] * c + l2 * w[k]
                    sq[k] += g * g
                    w[k] -= step * g / math.sqrt(sq[k])
    pruned = {f: tuple(w) for f, w in weights.items() if max(abs(v) for v in w) >= 0.005}
    return pruned, tuple(bias)  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> None:
    """Train the model on the dev part of the corpus and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    dev, test = split(load())
    weights, bias = train(dev)
    meta = {
        "forward_at": FORWARD_AT,
        "trained_on": {"messages": len(dev), "fingerprint": fingerprint(dev)},
    }
    save(args.out, weights, bias, meta)
    size = args.out.stat().st_size
    print(f"trained on {len(dev)} dev messages ({len(test)} held out): {len(weights)} features,")
    print(f"{size / 1024:.0f} KB → {args.out}")


if __name__ == "__main__":
    main()
