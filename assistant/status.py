"""The /status snapshot: each account's session and traffic, the queues, the LLM."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from assistant.learning import TriageLearner
from assistant.llm.guard import GuardedLLM
from core.ids import ChatJid, ConnectionState
from core.tasks import Clock
from core.transport import WhatsAppGateway
from storage import Storage
from storage.ingest import UNSTORABLE_KEY


class LinkedAccount(Protocol):
    """A linked WhatsApp account as /status reads it (bot/context.py's ``Account``)."""

    id: int
    label: str
    gateway: WhatsAppGateway


class LinkedAccounts(Protocol):
    """Every linked account, read at each snapshot as accounts come and go while the bot runs
    (bot/context.py's ``Accounts``)."""

    default_id: int

    def __iter__(self) -> Iterator[LinkedAccount]: ...


@dataclass(frozen=True)
class SessionStatus:
    """One account's session and today's traffic, as /status shows it."""

    account_id: int
    label: str
    state: ConnectionState
    state_since: datetime
    own_jid: ChatJid | None
    last_event_age: timedelta | None
    reconnects: int
    messages_today: int
    chats: int
    #: The account the owner's commands use when they name none.
    is_default: bool = False


@dataclass(frozen=True)
class Status:
    """What /status shows. The session fields are the default account's; ``messages_today``
    and ``chats`` count every account; ``sessions`` holds each account's own."""

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
    #: Every linked account's session, the default first.
    sessions: tuple[SessionStatus, ...] = ()


class StatusService:
    """Collects the status snapshot."""

    def __init__(
        self,
        storage: Storage,
        accounts: LinkedAccounts,
        clock: Clock,
        tz: ZoneInfo,
        llm: GuardedLLM,
        learner: TriageLearner | None = None,
    ) -> None:
        self.learner = learner
        self.storage = storage
        self.accounts = accounts
        self.clock = clock
        self.tz = tz
        self.llm = llm

    async def snapshot(self, next_digest: datetime | None = None) -> Status:
        """What /status shows now: every WhatsApp session, today's messages, the outboxes,
        the LLM and the next digest."""
        now_mono = self.clock.monotonic()
        local_midnight = (
            self.clock.now().astimezone(self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        )
        listed = sorted(self.accounts, key=lambda a: a.id != self.accounts.default_id)
        sessions = tuple([await self._session(a, local_midnight, now_mono) for a in listed])
        g, first = listed[0].gateway, sessions[0]
        return Status(
            state=first.state,
            state_since=first.state_since,
            reason=g.reason,
            own_jid=first.own_jid,
            uptime=timedelta(seconds=now_mono - (g.started_at or now_mono)),
            last_event_age=first.last_event_age,
            reconnects=first.reconnects,
            messages_today=await self.storage.messages.count_since(local_midnight),
            chats=await self.storage.chats.count(),
            telegram_outbox=await self.storage.telegram_outbox.depth(),
            whatsapp_outbox=await self.storage.whatsapp_outbox.depth(),
            unstorable=int(await self.storage.settings.get(UNSTORABLE_KEY, 0)),
            llm=self._llm_text(),
            next_digest=next_digest,
            corrections=self.learner.state.corrections if self.learner is not None else 0,
            sessions=sessions,
        )

    async def _session(
        self, account: LinkedAccount, midnight: datetime, now_mono: float
    ) -> SessionStatus:
        """One account's session and its traffic since local midnight."""
        g = account.gateway
        return SessionStatus(
            account_id=account.id,
            label=account.label,
            state=g.state,
            state_since=g.state_since,
            own_jid=g.own_jid,
            last_event_age=(
                timedelta(seconds=max(0.0, now_mono - g.last_event_at))
                if g.last_event_at is not None
                else None
            ),
            reconnects=g.reconnects,
            messages_today=await self.storage.messages.count_since(midnight, account.id),
            chats=await self.storage.for_account(account.id).chats.count(),
            is_default=account.id == self.accounts.default_id,
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
