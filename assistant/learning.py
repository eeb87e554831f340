"""Learning from the owner: 👎 Not important, 👍 and "This was urgent" move a small table of
corrections on top of the shipped model, so messages like the corrected one score that way
from then on.

Bounded by design: one correction moves the corrected message's own logits by at most
``STEP`` (the step is divided by the number of its features), no feature's correction grows
past ``CAP``, and the table keeps at most ``MAX_FEATURES`` features. So a single click
changes what is like that message, not everything; ``/settings triage_reset`` undoes them all.
Kept in the settings table, so it survives restarts and lives with the rest of the owner's data.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from assistant.features import features
from assistant.scorer import CLASSES, Scorer, Vector, softmax
from assistant.triage import facts_of
from assistant.triage_rules import TriageRules
from storage import Storage
from storage.domain import Chat, StoredMessage

SETTING_KEY = "triage_corrections"
STEP = 2.0
CAP = 1.5
MAX_FEATURES = 20_000
#: What each action teaches.
TARGETS = {"urgent": "urgent", "liked": "urgent", "not_important": "normal"}


@dataclass(frozen=True, slots=True)
class LearningState:
    """How much the owner's corrections changed (for /status)."""

    corrections: int
    features: int


class TriageLearner:
    """Keeps the owner's corrections and applies them to ``scorer``."""

    def __init__(self, storage: Storage, scorer: Scorer, rules: TriageRules) -> None:
        self.storage = storage
        self.scorer = scorer
        self.rules = rules
        self._extra: dict[str, list[float]] = {}
        self._count = 0

    @property
    def state(self) -> LearningState:
        """How many corrections were learned and how many features they moved."""
        return LearningState(self._count, len(self._extra))

    async def load(self) -> LearningState:
        """Read the stored corrections and apply them."""
        stored = await self.storage.settings.get(SETTING_KEY, None) or {}
        raw = stored.get("weights", {}) if isinstance(stored, dict) else {}
        self._extra = {
            str(f): [_bounded(x) for x in v][:4]
            for f, v in raw.items()
            if isinstance(v, list) and len(v) == 4
        }
        self._count = int(stored.get("count", 0)) if isinstance(stored, dict) else 0
        self._apply()
        return self.state

    async def learn(self, msg: StoredMessage, chat: Chat, action: str) -> LearningState:
        """Teach that ``msg`` was ``action`` ("urgent", "liked" or "not_important")."""
        target = CLASSES.index(TARGETS[action])
        facts = facts_of(msg, chat, self.rules)
        counts = Counter(features(msg.body, facts))
        if not counts:
            return self.state
        probs = softmax(self.scorer.logits(msg.body, facts))
        p = (probs.urgent, probs.important, probs.normal, probs.noise)
        grad = [(1.0 if k == target else 0.0) - p[k] for k in range(4)]
        rate = STEP / sum(c * c for c in counts.values())
        for f, c in counts.items():
            w = self._extra.setdefault(f, [0.0] * 4)
            for k in range(4):
                w[k] = round(_bounded(w[k] + rate * c * grad[k]), 5)  # as stored
        if len(self._extra) > MAX_FEATURES:  # keep the strongest corrections
            strongest = sorted(self._extra, key=lambda f: -max(map(abs, self._extra[f])))
            self._extra = {f: self._extra[f] for f in strongest[:MAX_FEATURES]}
        self._count += 1
        await self._save()
        self._apply()
        return self.state

    async def reset(self) -> LearningState:
        """Forget every correction (``/settings triage_reset``)."""
        self._extra, self._count = {}, 0
        await self.storage.settings.delete(SETTING_KEY)
        self._apply()
        return self.state

    async def _save(self) -> None:
        await self.storage.settings.set(
            SETTING_KEY, {"count": self._count, "weights": self._extra}
        )

    def _apply(self) -> None:
        extra: dict[str, Vector] = {f: tuple(w) for f, w in self._extra.items()}  # type: ignore[misc]
        self.scorer.with_extra(extra)


def _bounded(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(v):
        return 0.0
    return max(-CAP, min(CAP, v))
