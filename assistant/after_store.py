"""After a live message is stored: fetch its media, transcribe a voice note, then triage it.

One ordered worker takes what ``IngestService`` stored, so forwards leave in the order the
messages arrived; a voice note is transcribed in a side task and triaged once its words are
known. Nothing here stores an event: that is the store step, ``assistant/pipeline.py``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from assistant.media import MediaFetcher
from assistant.triage_service import TriageService
from core.errors import StorageError
from core.tasks import TaskGroup
from storage import Storage
from storage.domain import Chat, MediaState, StoredMessage

logger = logging.getLogger(__name__)


class VoiceConsumer(Protocol):
    """Whatever transcribes voice notes (assistant/voice.py)."""

    def wants(self, msg: StoredMessage) -> bool:
        """Whether this message is a voice note still to transcribe."""
        ...

    async def transcribe(self, msg: StoredMessage, chat: Chat) -> StoredMessage:
        """Transcribe it and store the words (or why not); return it as stored now."""
        ...


@dataclass
class AfterStore:
    """The after-store steps of freshly stored live messages, in arrival order."""

    storage: Storage
    media: MediaFetcher
    triage: TriageService
    voice: VoiceConsumer | None
    #: Runs the ordered worker.
    tasks: TaskGroup
    #: Runs the voice-note transcriptions.
    side_tasks: TaskGroup
    _queue: asyncio.Queue[list[StoredMessage]] | None = field(default=None, init=False)

    def queue(self, stored: list[StoredMessage]) -> None:
        """Hand stored messages to the worker (started on first use)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self.tasks.spawn(self._worker(self._queue), "after-store")
        self._queue.put_nowait(stored)

    async def join(self) -> None:
        """Wait until the worker has processed everything queued so far."""
        if self._queue is not None:
            await self._queue.join()

    async def _worker(self, queue: asyncio.Queue[list[StoredMessage]]) -> None:
        """One worker, so forwards leave in the order the messages arrived."""
        while True:
            stored = await queue.get()
            try:
                await self.process(stored)
            except Exception:
                logger.exception("post-processing of %d stored message(s) failed", len(stored))
            finally:
                queue.task_done()

    async def process(self, stored: list[StoredMessage]) -> None:
        """Fetch media, score, and queue forwards for freshly stored live messages. Scores and
        forwards are written in one transaction, so a crash leaves a message either unscored
        (``IngestService.recover`` finishes it) or scored with its forward queued — never
        forgotten."""
        for msg in stored:
            if msg.media_state == MediaState.PENDING:
                await self.media.fetch(msg)
        paired = await self._with_chats(stored)
        if self.voice is not None:
            voice = self.voice
            for msg, chat in paired:
                if voice.wants(msg):  # triaged once its words are known
                    self.side_tasks.spawn(self._after_transcript(msg, chat), "transcribe")
            paired = [(m, c) for m, c in paired if not voice.wants(m)]
        await self.triage.run(paired)

    async def _after_transcript(self, msg: StoredMessage, chat: Chat) -> None:
        """Transcribe a voice note in the background, then triage it with its words (a
        failure leaves it untranscribed, with the reason stored, and triaged as it is)."""
        try:
            msg = await self.voice.transcribe(msg, chat)  # type: ignore[union-attr]
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
