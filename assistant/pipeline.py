"""Ingest, the store step: store every WhatsApp event first, then hand live messages on.

Subscribed to the gateway before anyone else, so a message is in the database before any
other consumer sees it. Storing is awaited in the gateway's ordered consumer; media
downloads, transcription and triage run after, in background tasks
(``assistant/after_store.py``), so a slow step never stalls the session.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from assistant.after_store import AfterStore, VoiceConsumer
from assistant.llm_triage import LLMTriage
from assistant.media import DEFAULT_MEDIA_DAY_MB, DEFAULT_MEDIA_TOTAL_MB, MediaBudget, MediaFetcher
from assistant.scorer import Scorer
from assistant.triage_rules import TriageRules
from assistant.triage_service import LLMBatches, ReplyConsumer, TriageService
from core.errors import StorageError
from core.events import (
    AddressBookRead,
    CallSeen,
    ConnectionChanged,
    ContactSeen,
    GatewayEvent,
    GroupSeen,
    HistoryBatchReceived,
    IdentityLinked,
    MessageEdited,
    MessageReceived,
    MessageRevoked,
    ReactionReceived,
    ReceiptReceived,
)
from core.ids import OWN_SENDER, ConnectionState
from core.tasks import Clock, TaskGroup
from core.transport import WhatsAppGateway
from storage import Storage
from storage.domain import ChangeOutcome
from storage.names import NAME_GROUP

logger = logging.getLogger(__name__)

Wake = Callable[[], None]
Progress = Callable[["HistoryProgress"], Awaitable[None]]
Reconnected = Callable[[], Awaitable[None]]
Notice = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HistoryProgress:
    """Running totals of a history sync, for the progress message."""

    batches: int
    chats: int
    messages: int
    new_messages: int
    percent: int


@dataclass(frozen=True)
class IngestHooks:
    """Whom ingest tells what happened; each may be left out (tests and benches leave most)."""

    #: A forward or notice was queued in the Telegram outbox.
    wake_notifier: Wake = lambda: None
    #: History sync made progress.
    on_progress: Progress | None = None
    #: WhatsApp (re)connected: queued sends may go.
    on_connected: Reconnected | None = None
    #: The database refused a write for a while: tell the owner directly.
    on_storage_problem: Notice | None = None
    #: AI replies consider each new message.
    replies: ReplyConsumer | None = None
    #: Transcribes voice notes before they are triaged; None when transcription is off.
    voice: VoiceConsumer | None = None


def _log_change(kind: str, outcome: ChangeOutcome) -> None:
    if outcome == ChangeOutcome.REJECTED:
        logger.warning("%s of another sender's message rejected (kept aside, not applied)", kind)
    elif outcome == ChangeOutcome.UNKNOWN:
        logger.info("%s for an unknown message skipped", kind)


class IngestService:
    """Turns gateway events into stored rows, scores and queued forwards."""

    def __init__(
        self,
        storage: Storage,
        gateway: WhatsAppGateway,
        admin_ids: frozenset[int],
        rules: TriageRules | None = None,
        clock: Clock | None = None,
        media_budget: MediaBudget = lambda: (DEFAULT_MEDIA_DAY_MB, DEFAULT_MEDIA_TOTAL_MB),
        scorer: Scorer | None = None,
        hooks: IngestHooks = IngestHooks(),
        llm: LLMBatches | None = None,
        threshold: Callable[[], int] | None = None,
    ) -> None:
        """``scorer`` is the learned model with the owner's corrections (the shipped model
        alone when None); ``llm`` rescores undecided messages when given; ``threshold`` is
        the account's forwarding threshold, read for each message (the rules' when None)."""
        self.storage = storage
        self.gateway = gateway
        #: Attachments: downloads within the media budget, and their retries.
        self.media = MediaFetcher(storage, gateway, media_budget)
        self.rules = rules or TriageRules()
        self.clock = clock or Clock()
        self.tasks = TaskGroup("ingest")
        self.side_tasks = TaskGroup("ingest-side")
        self.hooks = hooks
        #: Scores stored messages and queues their forwards, LLM looks and replies.
        self.triage = TriageService(
            storage,
            admin_ids,
            self.rules,
            self.clock,
            scorer,
            hooks.wake_notifier,
            hooks.replies,
            llm,
            threshold,
        )
        #: Media, transcription and triage of stored live messages, in arrival order.
        self.after = AfterStore(
            storage, self.media, self.triage, hooks.voice, self.tasks, self.side_tasks
        )
        self._history = HistoryProgress(0, 0, 0, 0, 0)
        self._storage_down_since: float | None = None

    @property
    def llm_triage(self) -> LLMTriage | None:
        """The LLM batches that rescore undecided messages (None without an LLM)."""
        return self.triage.llm_triage

    async def stop(self) -> None:
        """Cancel what is still running: storing, scoring, downloads and LLM batches."""
        await self.tasks.cancel_all()
        await self.side_tasks.cancel_all()
        await self.triage.stop()

    async def on_event(self, event: GatewayEvent) -> None:
        """Handle one gateway event (subscribed first, awaited in order)."""
        try:
            await self._on_event(event)
        except StorageError as exc:
            await self._storage_problem(exc)
            raise
        if self._storage_down_since is not None:
            self._storage_down_since = None
            if self.hooks.on_storage_problem is not None:
                await self.hooks.on_storage_problem(
                    "✅ The database works again; nothing was lost."
                )

    async def _storage_problem(self, exc: StorageError) -> None:
        if self._storage_down_since is None:
            self._storage_down_since = self.clock.monotonic()
            logger.error("storage failed: %s", exc)
            if self.hooks.on_storage_problem is not None:
                await self.hooks.on_storage_problem(
                    f"⚠️ I cannot write to the database ({str(exc)[:120]}). WhatsApp messages "
                    "are kept in the event journal and stored as soon as it works again "
                    "(full disk? free some space)."
                )

    async def _on_event(self, event: GatewayEvent) -> None:
        match event:
            case MessageReceived(message=msg, history=history):
                stored = await self.storage.messages.store([msg], history=history)
                if stored:
                    self.after.queue(stored)
                else:
                    logger.debug("duplicate message ignored")
            case HistoryBatchReceived():
                await self._history_batch(event)
            case MessageEdited(chat=chat, sender=sender, target_id=target, text=text):
                editor = OWN_SENDER if event.from_me else sender
                outcome = await self.storage.messages.apply_edit(chat, target, editor, text)
                _log_change("edit", outcome)
            case MessageRevoked(chat=chat, sender=sender, target_id=target, by_admin=admin):
                revoker = OWN_SENDER if event.from_me else sender
                outcome = await self.storage.messages.apply_revoke(chat, target, revoker, admin)
                _log_change("revoke", outcome)
            case ReactionReceived(chat=chat, sender=sender, target_id=target, emoji=emoji):
                if not await self.storage.messages.apply_reaction(chat, target, sender, emoji):
                    logger.info("reaction to an unknown message skipped")
            case CallSeen():
                recorded = await self.storage.messages.record_call(event)
                if recorded is None:
                    logger.warning("a call could not be stored (no chat); skipped")
                elif recorded.became_missed:
                    await self.triage.missed_call(recorded)
            case ReceiptReceived(chat=chat, message_ids=ids, kind=kind):
                await self.storage.messages.set_delivery(chat, list(ids), kind.value)
                if await self.storage.ticks.receipt(chat, list(ids), kind.value):
                    self.hooks.wake_notifier()
            case IdentityLinked(phone_jid=phone, lid=lid):
                await self.storage.chats.link_identity(phone, lid)
            case ContactSeen():
                await self.storage.chats.upsert_contacts([event])
            case AddressBookRead(contacts=entries):
                renamed = await self.storage.chats.upsert_contacts(list(entries))
                logger.info("address book: %d entries, %d chat(s)", len(entries), renamed)
            case GroupSeen(jid=jid, name=name):
                if name:
                    await self.storage.chats.ensure(jid, name=name, rank=NAME_GROUP)
                if event.admins is not None or event.promoted or event.demoted:
                    await self.storage.chats.set_group_admins(
                        jid, event.admins, event.promoted, event.demoted
                    )
            case ConnectionChanged(state=ConnectionState.CONNECTED, own_jid=own):
                if own:
                    self.rules.own_jids.add(own)
                if self.hooks.on_connected is not None:
                    self.side_tasks.spawn(self.hooks.on_connected(), "reconnected")
            case _:
                pass

    async def recover(self) -> int:
        """Finish what a stopped process left undone: score and forward stored live messages
        that never got a score (a crash between storing and forwarding)."""
        total, done = 0, set()
        while batch := [m for m in await self.storage.messages.unscored() if m.id not in done]:
            done |= {m.id for m in batch}
            self.after.queue(batch)
            await self.idle()
            total += len(batch)
        if total:
            logger.info("recovered %d stored message(s) that were never triaged", total)
        return total

    async def idle(self) -> None:
        """Wait until every stored message has been scored, forwarded and its media fetched."""
        await self.after.join()
        await self.side_tasks.join()

    async def _history_batch(self, event: HistoryBatchReceived) -> None:
        score = self.triage.history_scorer()  # runs on the database thread
        new = await self.storage.messages.store_history(list(event.messages), score)
        if not event.messages and not event.chats:
            return  # a contacts/push-names chunk: nothing to report
        h = self._history
        self._history = HistoryProgress(
            h.batches + 1,
            h.chats + event.chats,
            h.messages + len(event.messages),
            h.new_messages + new,
            event.progress,
        )
        logger.info("history batch: %d message(s), %d new", len(event.messages), new)
        if self.hooks.on_progress is not None:
            await self.hooks.on_progress(self._history)
