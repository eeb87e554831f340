"""Attachments: each downloaded once, within the owner's media budget, at most two at a time;
failed and pending downloads retried by a periodic job; one the owner asks for goes past
the budget."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from core.transport import WhatsAppGateway
from storage import Storage
from storage.domain import MediaState, StoredMessage

logger = logging.getLogger(__name__)

#: (MB a day, MB in all) the owner allows for downloads (/settings media_day_mb, media_total_mb).
MediaBudget = Callable[[], tuple[int, int]]
DEFAULT_MEDIA_DAY_MB, DEFAULT_MEDIA_TOTAL_MB = 500, 10_000
#: Downloads at once (each holds a file in memory while it is written).
MAX_DOWNLOADS = 2


class MediaFetcher:
    """Downloads attachments of stored messages and records each outcome on the message."""

    def __init__(
        self,
        storage: Storage,
        gateway: WhatsAppGateway,
        budget: MediaBudget = lambda: (DEFAULT_MEDIA_DAY_MB, DEFAULT_MEDIA_TOTAL_MB),
    ) -> None:
        """``budget`` is read at each download: a /settings change applies at once."""
        self.storage = storage
        self.gateway = gateway
        self.media_budget = budget
        self._downloads = asyncio.Semaphore(MAX_DOWNLOADS)

    async def fetch(self, msg: StoredMessage, on_request: bool = False) -> MediaState:
        """Download one attachment and record the outcome on the message. The size the
        message declares is checked first, and (unless the owner asked for this one) the
        media budget; the attempt is counted before the download starts; at most
        ``MAX_DOWNLOADS`` run at once."""
        ref = await self.storage.messages.media_ref(msg.id)
        if ref is None:
            return msg.media_state
        declared = max(0, msg.media_size)
        if declared > self.gateway.media_limit:
            why = f"too large: declared {declared // 1_000_000} MB"
            await self.storage.messages.set_media(msg.id, MediaState.TOO_LARGE, None, 0, why)
            return MediaState.TOO_LARGE
        if not on_request and (why := await self._over_budget(declared)):
            await self.storage.messages.set_media(msg.id, MediaState.SKIPPED, None, 0, why)
            return MediaState.SKIPPED
        async with self._downloads:
            await self.storage.messages.begin_media(msg.id)
            chat = await self.storage.chats.get(msg.chat_id)
            result = await self.gateway.fetch_media(
                chat.jid, msg.sender, msg.wa_id, ref, msg.media_mimetype
            )
        if result.path:
            state = MediaState.DONE
        elif result.error == "too large":
            state = MediaState.TOO_LARGE
        else:
            state = MediaState.FAILED
            logger.warning("media download failed for message %d: %s", msg.id, result.error)
        await self.storage.messages.set_media(
            msg.id, state, result.path, result.size, result.error
        )
        return state

    async def _over_budget(self, declared: int) -> str:
        """Why a download would break the media budget ("" when it fits)."""
        day_mb, total_mb = self.media_budget()
        today, total = await self.storage.messages.media_usage()
        if today + declared > day_mb * 1_000_000:
            return f"over budget: {day_mb} MB a day (media_day_mb)"
        if total + declared > total_mb * 1_000_000:
            return f"over budget: {total_mb} MB in all (media_total_mb)"
        return ""

    async def retry(self) -> int:
        """Retry failed or pending downloads (run periodically); return how many were tried."""
        rows = await self.storage.messages.media_to_retry()
        for message_id, _ in rows:
            msg = await self.storage.messages.get(message_id)
            if msg is not None:
                await self.fetch(msg)
        return len(rows)
