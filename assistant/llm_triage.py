"""LLM triage for the messages heuristics cannot decide: many messages per call, strict
parsing that survives malformed output, and a time window so live traffic batches too."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from assistant import prompts
from assistant.llm.base import LLMError, json_entries
from assistant.llm.guard import GuardedLLM
from assistant.triage import SCAM_MARK, Importance, is_scam_reason
from core.tasks import Clock, TaskGroup
from storage.domain import Chat, StoredMessage

logger = logging.getLogger(__name__)

BATCH_SIZE = 25
MAX_WAIT_SECONDS = 5.0
TEXT_LIMIT = 600


@dataclass(frozen=True)
class Pending:
    """A message waiting for the LLM, with its chat and the score the heuristics gave it."""

    message: StoredMessage
    chat: Chat
    heuristic: Importance


Decided = Callable[[list[tuple[Pending, Importance]]], Awaitable[None]]


def parse_scores(raw: str, count: int) -> dict[int, Importance]:
    """Read ``{"scores": [{"i", "score", "reason"}]}`` defensively; skip what is unusable."""
    out: dict[int, Importance] = {}
    for entry in json_entries(raw, "scores"):
        try:
            index, number = int(entry.get("i")), float(entry.get("score"))
            score = round(number)  # inf/nan raise here
        except (TypeError, ValueError, OverflowError):
            continue
        if 0 <= index < count and index not in out:
            reason = str(entry.get("reason", "") or "LLM")[:120]
            out[index] = Importance(max(0, min(10, score)), f"LLM: {reason}")
    return out


#: The LLM overrules the local scam detector only with a score this sure.
SURE = 9


def _merge(local: Importance, llm: Importance | None) -> Importance:
    """The LLM's score replaces the local one (up or down), except that a local scam verdict
    stays unless the LLM is sure the message matters."""
    if llm is None:
        return local
    if is_scam_reason(local.reason) and llm.score < SURE:
        return local
    return llm


def eligible(llm: GuardedLLM, pending: Pending, threshold: int = 7) -> bool:
    """Messages the local score did not forward and that an LLM should look at
    (``Importance.look``); never a cloud LLM for a chat that forbids it."""
    return (
        pending.heuristic.look
        and pending.heuristic.score < threshold
        and llm.available
        and (llm.is_local or pending.chat.cloud_llm_allowed)
    )


class LLMTriage:
    """Scores undecided messages in batches; ``add`` for live traffic, ``score`` for history."""

    def __init__(
        self,
        llm: GuardedLLM,
        clock: Clock,
        batch_size: int = BATCH_SIZE,
        max_wait: float = MAX_WAIT_SECONDS,
        on_decided: Decided | None = None,
    ) -> None:
        """``on_decided`` gets each batch's new scores (live traffic, from ``add``)."""
        self.llm = llm
        self.clock = clock
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.on_decided = on_decided
        self.tasks = TaskGroup("llm-triage")
        self._pending: list[Pending] = []
        self._timer = False

    async def score(self, items: Sequence[Pending]) -> list[tuple[Pending, Importance]]:
        """Score ``items`` in ⌈N / batch⌉ calls; an item the LLM did not score keeps its
        heuristic score."""
        out: list[tuple[Pending, Importance]] = []
        for start in range(0, len(items), self.batch_size):
            batch = list(items[start : start + self.batch_size])
            scores = await self._call(batch)
            out += [(p, _merge(p.heuristic, scores.get(i))) for i, p in enumerate(batch)]
        return out

    async def _call(self, batch: list[Pending]) -> dict[int, Importance]:
        data = [
            {
                "i": i,
                "chat": p.chat.name,
                "group": p.chat.is_group,
                "from": {"contact": p.message.sender_name or "someone"},
                "text": p.message.body[:TEXT_LIMIT],
                **({"local_check": SCAM_MARK} if is_scam_reason(p.heuristic.reason) else {}),
            }
            for i, p in enumerate(batch)
        ]
        try:
            raw = await self.llm.complete(
                prompts.triage_messages(data), json_output=True, timeout=60.0
            )
        except LLMError:
            return {}
        scores = parse_scores(raw, len(batch))
        if not scores:
            self.llm.note_bad_answer()
        if len(scores) < len(batch):
            logger.info(
                "LLM scored %d of %d messages; the rest keep heuristic scores",
                len(scores),
                len(batch),
            )
        return scores

    def calls_for(self, n: int) -> int:
        """How many LLM calls scoring ``n`` messages takes (one per batch)."""
        return math.ceil(n / self.batch_size)

    async def add(self, pending: Pending) -> None:
        """Queue a live message; a full batch goes at once, else after ``max_wait``."""
        self._pending.append(pending)
        if len(self._pending) >= self.batch_size:
            await self.flush()
        elif not self._timer:
            self._timer = True
            self.tasks.spawn(self._later(), "flush")

    async def _later(self) -> None:
        await self.clock.sleep(self.max_wait)
        self._timer = False
        await self.flush()

    async def flush(self) -> None:
        """Score the queued messages now and hand the results to ``on_decided``."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        decided = await self.score(batch)
        if self.on_decided is not None:
            await self.on_decided(decided)
