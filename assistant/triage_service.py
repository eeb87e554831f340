"""Triage of stored messages: each live message scored (the learned model, the rules, the
owner's corrections, missed calls just before), its score and forward written in one
transaction, undecided ones shown to an LLM in batches, and AI replies considered."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from assistant.llm.guard import GuardedLLM
from assistant.llm_triage import BATCH_SIZE, MAX_WAIT_SECONDS, LLMTriage, Pending, eligible
from assistant.scorer import Scorer
from assistant.triage import Importance, score_message
from assistant.triage_rules import TriageRules
from core.events import WaMessage
from core.ids import MessageKind
from core.notifications import CallNotice, Forward, Outbox
from core.tasks import Clock
from storage import Storage
from storage.calls import CallRecorded
from storage.domain import Chat, StoredMessage

#: A message this soon after repeated missed calls from its chat is urgent.
URGENT_AFTER_CALLS = timedelta(hours=2)
#: The score of a placeholder for a message WhatsApp could not decrypt yet.
WAITING = Importance(1, "waiting for WhatsApp to resend it")


class ReplyConsumer(Protocol):
    """Whatever decides on AI replies (assistant/replies.py)."""

    async def consider(self, msg: StoredMessage, chat: Chat) -> None:
        """Draft or send an AI reply to this message when its chat wants one."""
        ...


@dataclass(frozen=True)
class LLMBatches:
    """An LLM to rescore undecided messages: batches of ``size``, at most ``max_wait`` s late."""

    llm: GuardedLLM
    size: int = BATCH_SIZE
    max_wait: float = MAX_WAIT_SECONDS


class TriageService:
    """Scores stored messages and queues what they call for."""

    def __init__(
        self,
        storage: Storage,
        admin_ids: frozenset[int],
        rules: TriageRules,
        clock: Clock,
        scorer: Scorer | None = None,
        wake: Callable[[], None] = lambda: None,
        replies: ReplyConsumer | None = None,
        llm: LLMBatches | None = None,
        threshold: Callable[[], int] | None = None,
    ) -> None:
        """``wake`` tells the Telegram outbox worker something was queued; ``llm`` rescores
        undecided messages when given; ``threshold`` is read for each message (an account's
        own threshold; the rules' when None)."""
        self.storage = storage
        self.outbox: Outbox = storage.telegram_outbox
        self.admin_ids = admin_ids
        self.rules = rules
        self.clock = clock
        self.scorer = scorer
        self.wake = wake
        self.threshold = threshold or (lambda: self.rules.threshold)
        self.replies = replies
        self.llm_triage = (
            LLMTriage(llm.llm, clock, llm.size, llm.max_wait, on_decided=self.llm_decided)
            if llm is not None
            else None
        )
        #: chat id → (missed calls in a row, when the last was): its next message is urgent.
        self.called: dict[int, tuple[int, datetime]] = {}

    async def stop(self) -> None:
        """Cancel LLM batches still waiting."""
        if self.llm_triage is not None:
            await self.llm_triage.tasks.cancel_all()

    def history_scorer(self) -> Callable[[WaMessage, Chat], tuple[int, str]]:
        """Score history on the database thread: a snapshot of the rules, no scam check
        (history is never forwarded; the digest checks what it shows)."""
        rules, scorer = copy.deepcopy(self.rules), self.scorer

        def score(msg: WaMessage, chat: Chat) -> tuple[int, str]:
            importance = score_message(msg, chat, rules, scorer, check_scam=False)
            return importance.score, importance.reason

        return score

    async def missed_call(self, call: CallRecorded) -> None:
        """Tell the owner at once of a missed call from a trusted or known chat (the notice
        merges the chat's missed calls of the last minutes); after repeated calls, the
        chat's next message counts as urgent."""
        chat = call.chat
        if len(call.burst) >= 2:
            self.called[chat.id] = (len(call.burst), call.timestamp)
        if chat.is_muted(self.clock.now()) or not (chat.trusted or chat.known):
            return
        await self.outbox.add(CallNotice(call.message_id, chat.id), self.admin_ids)
        self.wake()

    def _after_calls(self, msg: StoredMessage, chat: Chat, importance: Importance) -> Importance:
        """The first message after repeated calls from a chat is urgent."""
        called = self.called.get(chat.id)
        if called is None or msg.from_me or msg.history or msg.kind == MessageKind.CALL:
            return importance
        del self.called[chat.id]
        count, when = called
        if msg.timestamp - when > URGENT_AFTER_CALLS:
            return importance
        reason = f"called you {count} times just before"
        return Importance(max(importance.score, 10), f"{reason}, {importance.reason}"[:256])

    async def run(self, paired: list[tuple[StoredMessage, Chat]]) -> None:
        """Score, queue forwards and LLM looks, and consider replies."""
        scored = [
            (m, c, WAITING if m.kind == MessageKind.WAITING else self._score(m, c))
            for m, c in paired
        ]
        later = []
        for msg, chat, importance in scored:
            pending = Pending(msg, chat, importance)
            if (
                self.llm_triage is not None
                and not msg.from_me
                and eligible(self.llm_triage.llm, pending, self.threshold())
            ):
                later.append(pending)  # the heuristic score stands until the LLM decides
        await self._record(scored, decided={p.message.id for p in later})
        for pending in later:
            await self.llm_triage.add(pending)  # type: ignore[union-attr]
        if self.replies is not None:
            for msg, chat, _ in scored:
                if msg.kind != MessageKind.WAITING:
                    await self.replies.consider(msg, chat)

    def _score(self, msg: StoredMessage, chat: Chat) -> Importance:
        return self._after_calls(msg, chat, score_message(msg, chat, self.rules, self.scorer))

    async def llm_decided(self, decided: list[tuple[Pending, Importance]]) -> None:
        """Store the LLM's scores and forward what became important."""
        await self._record([(p.message, p.chat, i) for p, i in decided])

    async def _record(
        self, items: list[tuple[StoredMessage, Chat, Importance]], decided: set[int] = frozenset()
    ) -> None:
        """Write scores and the forwards they call for (skipping ``decided``) atomically."""
        forwards = [
            Forward(msg.id, importance.reason, importance.score, chat.id)
            for msg, chat, importance in items
            if msg.id not in decided and self.should_forward(msg, chat, importance)
        ]
        scores = [(m.id, i.score, i.reason) for m, _, i in items]
        await self.storage.messages.set_importance(scores, forwards, self.admin_ids)
        if forwards:
            self.wake()

    def should_forward(self, msg: StoredMessage, chat: Chat, importance: Importance) -> bool:
        """Apply the forwarding policy: live, not mine, not muted, above the threshold."""
        if msg.from_me or msg.history or chat.is_muted(self.clock.now()):
            return False
        return importance.score >= self.threshold()
