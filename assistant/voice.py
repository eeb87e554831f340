"""Voice notes to text: which notes may be sent to the transcription endpoint, how long they
are, and what is stored (the transcript, or why there is none).

Runs after a note's audio was downloaded, in the ingest service's background tasks: it never
holds up storing or forwarding other messages. Triage of a note waits for its transcript
(assistant/after_store.py). The transcript is as untrusted as the message: storage cleans it.
Message text and transcripts are logged at DEBUG only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from assistant.ogg import cut, ogg_seconds
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
#: Bytes a second of audio at most (32 kbit/s; WhatsApp records voice notes in Opus at
#: 16-24 kbit/s): a file bigger than this for its length is refused, and a cut keeps at most
#: this much a second. Opus at its lowest rate (6 kbit/s) could still hide five times its
#: claimed length in that — the cost of trusting no header is not measuring at all.
MAX_BYTES_PER_SECOND = 4_000
#: Headers and tags a note may carry besides its audio.
SLACK_BYTES = 64 * 1024
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
        why, cut_to = await self._plan(current, chat)
        text = ""
        if not why:
            text, why = await self._send(Path(current.media_path), cut_to)
            if not why and not text:
                why = "no words recognised"
            elif text and cut_to is not None:
                text = f"{text} (the first {cut_to:.0f} s: voice_max_seconds)"
        if why:
            logger.warning("voice note %d not transcribed: %s", msg.id, why)
        else:
            logger.info("voice note %d transcribed (%d characters)", msg.id, len(text))
            logger.debug("voice note %d says: %s", msg.id, text)
        await self.storage.messages.set_transcript(msg.id, text, why)
        stored = await self.storage.messages.get(msg.id)
        return stored or replace(current, transcript=text, transcript_error=why)

    async def _send(self, path: Path, cut_to: float | None) -> tuple[str, str]:
        """The words of the note (of its first ``cut_to`` seconds), or why there are none."""
        upload: Path | None = path
        try:
            if cut_to is not None:
                upload = await asyncio.to_thread(_cut_copy, path, cut_to)
                if upload is None:
                    return "", f"too long, and could not be cut to {cut_to:.0f} s"
            async with self._slots:
                return (await self.transcriber.transcribe(upload)).strip(), ""
        except LLMError as exc:
            return "", f"transcription failed: {exc}"
        except OSError as exc:
            return "", f"audio file unreadable ({type(exc).__name__})"
        finally:
            if upload is not None and upload != path:
                upload.unlink(missing_ok=True)

    async def _plan(self, msg: StoredMessage, chat: Chat) -> tuple[str, float | None]:
        """Why this note must not be sent ("" when it may), and the seconds to cut it to
        (None: sent whole)."""
        if not (chat.cloud_llm_allowed or self.transcriber.is_local):
            return "local-only chat (Cloud LLM allowed is off): not sent to a cloud endpoint", None
        limit = max(0, self.max_seconds())
        if limit == 0:
            return "voice_max_seconds is 0: voice notes are not transcribed", None
        try:
            size, seconds = await asyncio.to_thread(_measure, Path(msg.media_path or ""))
        except OSError as exc:
            return f"audio file unreadable ({type(exc).__name__})", None
        if seconds is None:
            return "length unknown: only Ogg audio (WhatsApp voice notes) is measured", None
        if seconds > limit:
            return "", limit
        if size > MAX_UPLOAD_BYTES:
            return f"too large to send: {size // 1_000_000} MB (the limit is 25 MB)", None
        if size > seconds * MAX_BYTES_PER_SECOND + SLACK_BYTES:  # its pages belie its size
            return f"too big for its length: {size // 1000} kB for {seconds:.0f} s", None
        return "", None


def _cut_copy(path: Path, seconds: float) -> Path | None:
    """Write the note's first ``seconds`` beside it; None when that cut is not possible or
    still too big (the file's pages lie about their length)."""
    most = int(seconds * MAX_BYTES_PER_SECOND)
    with path.open("rb") as handle:
        head = handle.read(most + TAIL)  # the cut needs the start only
    short = cut(head, seconds)
    if short is None or len(short) > most:
        return None
    target = path.with_name(path.name + ".first.ogg")
    target.write_bytes(short)
    return target
