"""Ingest: store every WhatsApp event first, then triage, queue forwards and fetch media.

Subscribed to the gateway before anyone else, so a message is in the database before any
other consumer sees it. Storing is awaited in the gateway's ordered consumer; triage and
media downloads run after, in background tasks, so a slow step never stalls the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

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
from storage.chats import NAME_GROUP
from storage.domain import ChangeOutcome, Chat, MediaState, StoredMessage

logger = logging.getLogger(__name__)

Wake = Callable[[], None]
Progress = Callable[["HistoryProgress"], Awaitable[None]]
Reconnected = Callable[[], Awaitable[None]]
Notice = Callable[[str], Awaitable[None]]


class VoiceConsumer(Protocol):
    """Whatever transcribes voice notes (assistant/voice.py)."""

    def wants(self, msg: StoredMessage) -> bool:
        """Whether this message is a voice note still to transcribe."""
        ...

    async def transcribe(self, msg: StoredMessage, chat: Chat) -> StoredMessage:
        """Transcribe it and store the words (or why not); return it as stored now."""
        ...


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
    ) -> None:
        """``scorer`` is the learned model with the owner's corrections (the shipped model
        alone when None); ``llm`` rescores undecided messages when given."""
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
        )
        self._history = HistoryProgress(0, 0, 0, 0, 0)
        self._post: asyncio.Queue[list[StoredMessage]] | None = None
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
                    self._post_queue().put_nowait(stored)
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

    def _post_queue(self) -> asyncio.Queue[list[StoredMessage]]:
        if self._post is None:
            self._post = asyncio.Queue()
            self.tasks.spawn(self._post_worker(self._post), "after-store")
        return self._post

    async def _post_worker(self, queue: asyncio.Queue[list[StoredMessage]]) -> None:
        """One worker, so forwards leave in the order the messages arrived."""
        while True:
            stored = await queue.get()
            try:
                await self.after_store(stored)
            except Exception:
                logger.exception("post-processing of %d stored message(s) failed", len(stored))
            finally:
                queue.task_done()

    async def recover(self) -> int:
        """Finish what a stopped process left undone: score and forward stored live messages
        that never got a score (a crash between storing and forwarding)."""
        total, done = 0, set()
        while batch := [m for m in await self.storage.messages.unscored() if m.id not in done]:
            done |= {m.id for m in batch}
            self._post_queue().put_nowait(batch)
            await self.idle()
            total += len(batch)
        if total:
            logger.info("recovered %d stored message(s) that were never triaged", total)
        return total

    async def idle(self) -> None:
        """Wait until every stored message has been scored, forwarded and its media fetched."""
        if self._post is not None:
            await self._post.join()
        await self.side_tasks.join()

    async def after_store(self, stored: list[StoredMessage]) -> None:
        """Fetch media, score, and queue forwards for freshly stored live messages. Scores and
        forwards are written in one transaction, so a crash leaves a message either unscored
        (``recover`` finishes it) or scored with its forward queued — never forgotten."""
        for msg in stored:
            if msg.media_state == MediaState.PENDING:
                await self.media.fetch(msg)
        paired = await self._with_chats(stored)
        if self.hooks.voice is not None:
            voice = self.hooks.voice
            for msg, chat in paired:
                if voice.wants(msg):  # triaged once its words are known
                    self.side_tasks.spawn(self._after_transcript(msg, chat), "transcribe")
            paired = [(m, c) for m, c in paired if not voice.wants(m)]
        await self.triage.run(paired)

    async def _after_transcript(self, msg: StoredMessage, chat: Chat) -> None:
        """Transcribe a voice note in the background, then triage it with its words (a
        failure leaves it untranscribed, with the reason stored, and triaged as it is)."""
        try:
            msg = await self.hooks.voice.transcribe(msg, chat)  # type: ignore[union-attr]
        except StorageError:
            raise
        except Exception:
            logger.exception("transcribing voice note %d failed", msg.id)
        await self.triage.run(await self._with_chats([msg]))  # the chat as it is now

    async def _with_chats(self, stored: list[StoredMessage]) -> list[tuple[StoredMessage, Chat]]:
        """Pair messages with their chats. A message whose chat was merged into another since
        it was stored (phone number and LID found to be one person) is read again."""
        chats = await self.storage.chats.get_many(m.chat_id for m in stored)
        moved = [m.id for m in stored if m.chat_id not in chats]
        if moved:
            current = {m.id: m for m in await self.storage.messages.get_many(moved)}
            stored = [
                current.get(m.id, m) for m in stored if m.chat_id in chats or m.id in current
            ]
            chats |= await self.storage.chats.get_many(m.chat_id for m in current.values())
        return [(m, chats[m.chat_id]) for m in stored if m.chat_id in chats]

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
