"""The /status snapshot: session, traffic, queues, LLM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.learning import TriageLearner
from assistant.llm.guard import GuardedLLM
from core.ids import ChatJid, ConnectionState
from core.tasks import Clock
from core.transport import WhatsAppGateway
from storage import Storage
from storage.ingest import UNSTORABLE_KEY


@dataclass(frozen=True)
class Status:
    """What /status shows."""

    state: ConnectionState
    state_since: datetime
    reason: str
    own_jid: ChatJid | None
    uptime: timedelta
    last_event_age: timedelta | None
    reconnects: int
    messages_today: int
    chats: int
    telegram_outbox: int
    whatsapp_outbox: int
    unstorable: int
    llm: str
    next_digest: datetime | None
    #: How many corrections (👎, 👍, "This was urgent") triage has learned from.
    corrections: int = 0


class StatusService:
    """Collects the status snapshot."""

    def __init__(
        self,
        storage: Storage,
        gateway: WhatsAppGateway,
        clock: Clock,
        tz: ZoneInfo,
        llm: GuardedLLM,
        learner: TriageLearner | None = None,
    ) -> None:
        self.learner = learner
        self.storage = storage
        self.gateway = gateway
        self.clock = clock
        self.tz = tz
        self.llm = llm

    async def snapshot(self, next_digest: datetime | None = None) -> Status:
        """What /status shows now: the WhatsApp session, today's messages, the outboxes, the LLM
        and the next digest."""
        now_mono = self.clock.monotonic()
        local_midnight = (
            self.clock.now().astimezone(self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        )
        g = self.gateway
        return Status(
            state=g.state,
            state_since=g.state_since,
            reason=g.reason,
            own_jid=g.own_jid,
            uptime=timedelta(seconds=now_mono - (g.started_at or now_mono)),
            last_event_age=(
                timedelta(seconds=now_mono - g.last_event_at)
                if g.last_event_at is not None
                else None
            ),
            reconnects=g.reconnects,
            messages_today=await self.storage.messages.count_since(local_midnight),
            chats=await self.storage.chats.count(),
            telegram_outbox=await self.storage.telegram_outbox.depth(),
            whatsapp_outbox=await self.storage.whatsapp_outbox.depth(),
            unstorable=int(await self.storage.settings.get(UNSTORABLE_KEY, 0)),
            llm=self._llm_text(),
            next_digest=next_digest,
            corrections=self.learner.state.corrections if self.learner is not None else 0,
        )

    def _llm_text(self) -> str:
        if self.llm.name == "none":
            return "none (heuristics only)"
        state = "ok" if self.llm.available else "not answering (heuristics meanwhile)"
        if self.llm.over_budget:
            state = "daily budget used up (heuristics until midnight UTC)"
        bad = f", {self.llm.bad_answers} unusable answer(s)" if self.llm.bad_answers else ""
        calls, tokens = self.llm.used_today()
        budget = (
            f"; today {calls}/{self.llm.day_calls} calls, ~{tokens}/{self.llm.day_tokens} tokens"
        )
        return f"{self.llm.name} {self.llm.model} — {state}{bad}{budget}"
