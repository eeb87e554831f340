"""Voice notes to text: which notes may be sent to the transcription endpoint, how long they
are, and what is stored (the transcript, or why there is none).

Runs after a note's audio was downloaded, in the ingest service's background tasks: it never
holds up storing or forwarding other messages. Triage of a note waits for its transcript
(assistant/pipeline.py). The transcript is as untrusted as the message: storage cleans it.
Message text and transcripts are logged at DEBUG only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from core.errors import LLMError
from core.ids import MessageKind
from storage import Storage
from storage.domain import Chat, MediaState, StoredMessage

logger = logging.getLogger(__name__)

KINDS = frozenset({MessageKind.VOICE, MessageKind.AUDIO})
DEFAULT_MAX_SECONDS = 300
#: Transcriptions at once (each holds a whole file in memory while it uploads).
MAX_AT_ONCE = 2
#: OpenAI's upload limit; most compatible servers take at least this much.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
#: Bytes a second no voice note comes near (WhatsApp records Opus at ~16-32 kbit/s): a file
#: bigger than this for its limit is too long, whatever its Ogg pages claim.
MAX_BYTES_PER_SECOND = 16_000
HEAD, TAIL = 4096, 65_536  # an Ogg page is at most 65 307 bytes


class Transcriber(Protocol):
    """A speech-to-text endpoint (assistant/llm/transcribe.py)."""

    model: str
    #: True when the audio stays on this machine or its private network.
    is_local: bool

    async def transcribe(self, path: Path) -> str:
        """Return what the voice note at ``path`` says; raise ``LLMError`` on any failure."""

    async def aclose(self) -> None:
        """Release the client's connections."""


def ogg_seconds(head: bytes, tail: bytes) -> float | None:
    """The length of an Ogg Opus or Ogg Vorbis stream from its first bytes (the codec
    header: sample rate, Opus pre-skip) and its last bytes (the granule position of the last
    page of the same stream); None when the bytes are not such a stream."""
    if len(head) < 28 or not head.startswith(b"OggS"):
        return None
    serial, body = head[14:18], head[27 + head[26] :]
    if body.startswith(b"OpusHead") and len(body) >= 12:
        rate, skip = 48_000, int.from_bytes(body[10:12], "little")
    elif body.startswith(b"\x01vorbis") and len(body) >= 16:
        rate, skip = int.from_bytes(body[12:16], "little"), 0
    else:
        return None
    if rate <= 0:
        return None
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        page = tail[pos : pos + 18]
        if len(page) == 18 and page[14:18] == serial:
            granule = int.from_bytes(page[6:14], "little", signed=True)
            if granule >= 0:  # -1: no packet ends on this page
                return max(0.0, (granule - skip) / rate)
        pos = tail.rfind(b"OggS", 0, pos)
    return None


def _measure(path: Path) -> tuple[int, float | None]:
    """The file's size and its length in seconds (None when it cannot be measured)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD)
        size = handle.seek(0, 2)
        handle.seek(max(0, size - TAIL))
        tail = handle.read(TAIL)
    return size, ogg_seconds(head, tail)


class VoiceService:
    """Transcribes live voice notes (and audio files) that arrived with their audio."""

    def __init__(
        self,
        storage: Storage,
        transcriber: Transcriber,
        max_seconds: Callable[[], int] = lambda: DEFAULT_MAX_SECONDS,
    ) -> None:
        """``max_seconds`` is read for each note (``/settings voice_max_seconds``)."""
        self.storage = storage
        self.transcriber = transcriber
        self.max_seconds = max_seconds
        self._slots = asyncio.Semaphore(MAX_AT_ONCE)

    def wants(self, msg: StoredMessage) -> bool:
        """True for an incoming live voice note or audio file not handled yet."""
        return (
            msg.kind in KINDS
            and not msg.from_me
            and not msg.history
            and not msg.transcript
            and not msg.transcript_error
        )

    async def transcribe(self, msg: StoredMessage, chat: Chat) -> StoredMessage:
        """Transcribe one note and store the outcome; return the message as stored now. A
        note whose audio is not on disk is returned unchanged (nothing to send)."""
        current = await self.storage.messages.get(msg.id) or msg
        if current.media_state != MediaState.DONE or not current.media_path:
            return current
        why = await self._refusal(current, chat)
        text = ""
        if not why:
            async with self._slots:
                try:
                    text = (await self.transcriber.transcribe(Path(current.media_path))).strip()
                except LLMError as exc:
                    why = f"transcription failed: {exc}"
                except OSError as exc:
                    why = f"audio file unreadable ({type(exc).__name__})"
            if not why and not text:
                why = "no words recognised"
        if why:
            logger.warning("voice note %d not transcribed: %s", msg.id, why)
        else:
            logger.info("voice note %d transcribed (%d characters)", msg.id, len(text))
            logger.debug("voice note %d says: %s", msg.id, text)
        await self.storage.messages.set_transcript(msg.id, text, why)
        stored = await self.storage.messages.get(msg.id)
        return stored or replace(current, transcript=text, transcript_error=why)

    async def _refusal(self, msg: StoredMessage, chat: Chat) -> str:
        """Why this note must not be sent ("" when it may)."""
        if not (chat.cloud_llm_allowed or self.transcriber.is_local):
            return "local-only chat (Cloud LLM allowed is off): not sent to a cloud endpoint"
        limit = max(0, self.max_seconds())
        try:
            size, seconds = await asyncio.to_thread(_measure, Path(msg.media_path or ""))
        except OSError as exc:
            return f"audio file unreadable ({type(exc).__name__})"
        if size > MAX_UPLOAD_BYTES:
            return f"too large to send: {size // 1_000_000} MB (the limit is 25 MB)"
        if seconds is None:
            return "length unknown: only Ogg audio (WhatsApp voice notes) is measured"
        if seconds > limit or size > limit * MAX_BYTES_PER_SECOND:
            return f"too long: {seconds:.0f} s (voice_max_seconds is {limit})"
        return ""
