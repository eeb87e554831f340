"""Triage quality on the frozen test part of the labelled corpus, and the scorer's speed.

    python -m bench.triage_quality [--part test|dev] [--json]

``--part dev`` scores each blind dev message with a model trained without its fold (5-fold
cross-validation on the dev part): the figure to tune rules against. The test part is scored
by the shipped model, which never saw it.

Every message goes through the real ``score_message`` (the shipped model, the scam detector
and the rules with their defaults, no LLM). A message is *forwarded* when its score reaches
the default threshold. Reported per language and in all: urgent recall, the share of
important and of noise forwarded, precision of forwards (urgent or important), scam
detection, the share of urgent messages that are forwarded at once or shown to an LLM (when
one is configured), and a confusion table label × outcome.

Speed: the scorer alone and the whole ``score_message`` per message, over every corpus
message; baseline in the same run: the word rules that triage used before the model.
Targets (issue 17): urgent recall ≥ 0.90, noise forwarded ≤ 0.10, precision ≥ 0.80, every
language's urgent recall ≥ 0.80, scorer ≤ 20 µs a message.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant import train_triage
from assistant.scorer import Scorer
from assistant.train_triage import Example
from assistant.triage import Importance, _heuristic_reasons, is_scam_reason, score_message
from assistant.triage_rules import DEFAULT_THRESHOLD, TriageRules
from core.ids import ChatJid, MessageKind, WaMessageId
from storage.domain import Chat, StoredMessage

ME = "15550001111@s.whatsapp.net"
RULES = TriageRules(own_jids={ME}, timezone=UTC)


@dataclass(frozen=True)
class Outcome:
    example: Example
    importance: Importance

    @property
    def forwarded(self) -> bool:
        return self.importance.score >= DEFAULT_THRESHOLD

    @property
    def to_llm(self) -> bool:
        return not self.forwarded and self.importance.look

    @property
    def scam(self) -> bool:
        return is_scam_reason(self.importance.reason)


def as_message(e: Example, i: int) -> tuple[StoredMessage, Chat]:
    """The corpus message as the pipeline would see it."""
    sender = ChatJid(f"4915{i:09d}@s.whatsapp.net")
    chat_jid = ChatJid(f"1203630{i:09d}@g.us") if e.facts.group else sender
    hour = e.facts.hour if e.facts.hour is not None else 12
    msg = StoredMessage(
        id=i,
        chat_id=i,
        wa_id=WaMessageId(f"EVAL{i}"),
        sender=sender,
        sender_name="",
        kind=MessageKind.TEXT,
        text=e.text,
        caption="",
        from_me=False,
        timestamp=datetime(2026, 5, 4, hour, 17, tzinfo=UTC),
        mentions=(ME,) if e.facts.mentions_me else (),
    )
    name = "Group" if e.facts.group else "Person"
    return msg, Chat(i, chat_jid, name, e.facts.group, known=e.facts.known)


def judge(examples: list[Example], scorer: Scorer) -> list[Outcome]:
    out = []
    for i, e in enumerate(examples):
        msg, chat = as_message(e, i)
        out.append(Outcome(e, score_message(msg, chat, RULES, scorer)))
    return out


def cross_validated(dev: list[Example], folds: int = 5) -> list[Outcome]:
    """Blind dev messages, each judged by a model trained on the other folds (and the own
    messages), with the shipped model's forward point."""
    shipped = Scorer.load()
    out = []
    for k in range(folds):
        held = [e for i, e in enumerate(dev) if i % folds == k]
        weights, bias = train_triage.train([e for i, e in enumerate(dev) if i % folds != k])
        scorer = Scorer(weights, bias, forward_at=shipped.forward_at)
        out += judge([e for e in held if e.source == "blind"], scorer)
    return out


def figures(outcomes: list[Outcome]) -> dict[str, float | int]:
    """Recall, noise forwarded, precision, LLM coverage and scam detection of a set."""
    by = defaultdict(list)
    for o in outcomes:
        by[o.example.label].append(o)
    forwarded = [o for o in outcomes if o.forwarded]

    def share(items: list[Outcome], pred) -> float:
        return round(sum(map(pred, items)) / len(items), 3) if items else float("nan")

    scams = [o for o in outcomes if o.example.scam]
    honest = [o for o in outcomes if not o.example.scam]
    return {
        "messages": len(outcomes),
        "urgent": len(by["urgent"]),
        "urgent_recall": share(by["urgent"], lambda o: o.forwarded),
        "important_forwarded": share(by["important"], lambda o: o.forwarded),
        "normal_forwarded": share(by["normal"], lambda o: o.forwarded),
        "noise_forwarded": share(by["noise"], lambda o: o.forwarded),
        "forwards": len(forwarded),
        "precision": share(forwarded, lambda o: o.example.label in ("urgent", "important")),
        "precision_urgent_only": share(forwarded, lambda o: o.example.label == "urgent"),
        "urgent_forwarded_or_to_llm": share(by["urgent"], lambda o: o.forwarded or o.to_llm),
        "scam_recall": share(scams, lambda o: o.scam),
        "scam_false_alarms": share(honest, lambda o: o.scam),
    }


def confusion(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        where = "scam-marked" if o.scam else "forwarded" if o.forwarded else "digest"
        table[o.example.label][where] += 1
    return {label: dict(counts) for label, counts in sorted(table.items())}


def speed(examples: list[Example], scorer: Scorer, rounds: int = 5) -> dict[str, float]:
    """µs a message: scorer alone, whole triage, and the word rules as the baseline."""
    pairs = [as_message(e, i) for i, e in enumerate(examples)]
    facts = [(e.text, e.facts) for e in examples]
    for text, f in facts:  # warm the word cache as a running process would have it
        scorer.verdict(text, f)

    def timed(fn) -> float:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return best / len(examples) * 1e6

    model = timed(lambda: [scorer.verdict(t, f) for t, f in facts])
    whole = timed(lambda: [score_message(m, c, RULES, scorer) for m, c in pairs])
    words = timed(
        lambda: [_heuristic_reasons(m, c, m.body, m.body.lower(), False) for m, c in pairs]
    )
    return {
        "scorer_us": round(model, 2),
        "triage_us": round(whole, 2),
        "word_rules_us": round(words, 2),
        "scorer_vs_word_rules": round(model / words, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("test", "dev"), default="test")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    everything = train_triage.load()
    dev, test = train_triage.split(everything)
    part = test if args.part == "test" else [e for e in dev if e.source == "blind"]
    scorer = Scorer.load()
    outcomes = judge(part, scorer) if args.part == "test" else cross_validated(dev)
    langs = sorted({e.lang for e in part})
    report = {
        "part": args.part,
        "fingerprint": train_triage.fingerprint(part),
        "all": figures(outcomes),
        "by_language": {
            lang: figures([o for o in outcomes if o.example.lang == lang]) for lang in langs
        },
        "confusion": {
            lang: confusion([o for o in outcomes if o.example.lang == lang]) for lang in langs
        },
        "speed": speed(everything, scorer),
    }
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return
    a = report["all"]
    print(f"{args.part} part: {a['messages']} messages, {a['urgent']} urgent")
    head = (
        "lang  urgent→fwd  important→fwd  noise→fwd  precision  urgent→fwd|LLM  scams found"
        "  false scam"
    )
    print(head)
    for name, f in [*report["by_language"].items(), ("all", a)]:
        print(
            f"{name:<5} {f['urgent_recall']:>10} {f['important_forwarded']:>14} "
            f"{f['noise_forwarded']:>10} {f['precision']:>10} "
            f"{f['urgent_forwarded_or_to_llm']:>15} {f['scam_recall']:>12} "
            f"{f['scam_false_alarms']:>11}"
        )
    print("\nconfusion (label: where it went)")
    for lang, table in report["confusion"].items():
        print(f"  {lang}: " + "; ".join(f"{k} {v}" for k, v in table.items()))
    s = report["speed"]
    print(
        f"\nspeed: scorer {s['scorer_us']} µs/msg, whole triage {s['triage_us']} µs/msg; "
        f"word rules (baseline, same run) {s['word_rules_us']} µs/msg "
        f"→ scorer/baseline {s['scorer_vs_word_rules']}"
    )


if __name__ == "__main__":
    main()
