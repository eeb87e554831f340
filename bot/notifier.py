"""Delivery to Telegram through the durable outbox: forwards and notices.

One worker drains due items, oldest first per admin chat. Several waiting forwards of one
WhatsApp chat become one message; when many chats are waiting, they all become one
message, so a burst arrives now instead of as a backlog paced at Telegram's ~1 msg/s.
429 honours retry_after; 5xx, timeouts and network errors retry with backoff; pending items
survive a restart. A send that timed out may still have arrived: its retry is the only
duplicate allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import keyboards, render, telegram_html
from core.ids import MessageKind
from core.tasks import Clock, backoff_delay
from storage import Storage
from storage.domain import Chat, MediaState, OutboxItem, StoredMessage

logger = logging.getLogger(__name__)

#: Missed-call notices of one chat this close together replace each other.
CALL_BURST = timedelta(minutes=15)
MERGE_ALL_ABOVE = 3  # more waiting chats than this for one admin → one combined message
MAX_ATTEMPTS = 12
CAPTION_LIMIT = 1024
#: Attachments not fetched by themselves that the owner can fetch with a button.
DOWNLOADABLE = frozenset({MediaState.SKIPPED, MediaState.FAILED})


class TelegramNotifier:
    """Drains the Telegram outbox."""

    def __init__(
        self, bot: Bot, storage: Storage, tz: ZoneInfo, clock: Clock, owner_ids: frozenset[int]
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.tz = tz
        self.clock = clock
        self.owner_ids = owner_ids
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one drain at a time, or items would go out twice
        self.delivered = 0
        #: (admin, chat id) → the last missed-call notice: (its message id, the call's time).
        self._call_notices: dict[tuple[int, int], tuple[int, datetime]] = {}

    def wake(self) -> None:
        """Ask the worker to look at the outbox now."""
        self._wake.set()

    async def forward_again(self, admin: int, message_id: int) -> None:
        """Queue one message's forward again for one admin (e.g. once its file is here)."""
        payload = {"message_id": message_id, "reason": "downloaded on request"}
        await self.storage.telegram_outbox.add(admin, "forward", payload, None)
        self.wake()

    async def notice(self, text: str) -> None:
        """Queue a plain notice (HTML) to every admin."""
        await self.storage.telegram_outbox.add_many(
            [(admin, "notice", {"text": text}, None) for admin in sorted(self.owner_ids)]
        )
        self.wake()

    async def direct(self, text: str) -> None:
        """Send to every admin now, bypassing the outbox (used when the database fails)."""
        for admin in sorted(self.owner_ids):
            try:
                await self._send_text(admin, text)
            except Exception:
                logger.warning("could not send a direct notice to an admin", exc_info=True)

    async def run(self) -> None:
        """Deliver forever (a background task); an unexpected error never ends the loop."""
        while True:
            try:
                await self.drain_once()
            except Exception:
                logger.exception("Telegram outbox round failed")
            nxt = await self.storage.telegram_outbox.next_due_at()
            wait = 30.0 if nxt is None else (nxt - self.clock.now()).total_seconds()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(30.0, max(0.05, wait)))

    async def drain_once(self) -> int:
        """Deliver what is due now; return how many outbox items were settled."""
        async with self._lock:
            return await self._drain()

    async def _drain(self) -> int:
        due = await self.storage.telegram_outbox.due(self.clock.now(), limit=500)
        waiting = await self.storage.telegram_outbox.first_waiting(self.clock.now())
        by_admin: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in due:
            if item.target not in waiting or item.id < waiting[item.target]:
                by_admin[item.target].append(item)  # nothing overtakes an item awaiting retry
        settled = 0
        for target, items in by_admin.items():
            settled += await self._deliver_to(int(target), items)
        return settled

    async def _deliver_to(self, chat_id: int, items: list[OutboxItem]) -> int:
        calls = [i for i in items if i.kind == "call"]
        notices = [i for i in items if i.kind not in {"forward", "call"}]
        forwards = [i for i in items if i.kind == "forward"]
        settled = 0
        by_chat: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in calls:  # a missed call first: it is the most urgent news
            by_chat[item.merge_key or str(item.id)].append(item)
        for batch in by_chat.values():
            if not await self._attempt(batch, self._send_call(chat_id, batch)):
                return settled
            settled += len(batch)
        for item in notices:
            if not await self._attempt([item], self._send_notice(chat_id, item)):
                return settled
            settled += 1
        groups: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in forwards:
            groups[item.merge_key or str(item.id)].append(item)
        batches = [forwards] if len(groups) > MERGE_ALL_ABOVE else list(groups.values())
        for batch in batches:
            if not await self._attempt(batch, self._send_forwards(chat_id, batch)):
                return settled
            settled += len(batch)
        return settled

    async def _attempt(self, batch: list[OutboxItem], send: Any) -> bool:
        """Run one send; settle or reschedule its items. False means: stop this chat now."""
        first = batch[0]
        logger.debug("delivering outbox item(s) %s", [i.id for i in batch])
        try:
            await send
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            logger.info("Telegram rate limit: retrying in %.1f s", seconds)
            await self._reschedule(batch, timedelta(seconds=seconds + 0.1), "429 retry after")
            return False
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest):
                return await self._give_up(batch, exc)
            wait = timedelta(seconds=backoff_delay(first.attempts + 1, base=1, cap=120))
            await self._reschedule(batch, wait, type(exc).__name__)
            return False
        except Forbidden as exc:
            return await self._give_up(batch, exc)
        except Exception:
            logger.exception("Telegram delivery failed unexpectedly")
            await self._reschedule(batch, timedelta(seconds=30), "unexpected error")
            return False
        await self.storage.telegram_outbox.mark_sent(first.id)
        if len(batch) > 1:
            await self.storage.telegram_outbox.mark_merged([i.id for i in batch[1:]])
        self.delivered += len(batch)
        return True

    async def _reschedule(self, batch: list[OutboxItem], delay: timedelta, why: str) -> None:
        logger.debug("outbox item(s) %s retry in %s (%s)", [i.id for i in batch], delay, why)
        again = []
        for item in batch:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                await self.storage.telegram_outbox.mark_failed(item.id, why)
                logger.error(
                    "Telegram outbox item %d given up after %d attempts",
                    item.id,
                    item.attempts + 1,
                )
            else:
                again.append(item.id)
        if again:
            await self.storage.telegram_outbox.retry_later(again, delay, why)

    async def _give_up(self, batch: list[OutboxItem], exc: Exception) -> bool:
        logger.error("Telegram refused outbox item(s) %s: %s", [i.id for i in batch], exc)
        for item in batch:
            await self.storage.telegram_outbox.mark_failed(item.id, str(exc))
            if item.kind == "digest" and item.payload.get("digest_id"):
                # The digest's mark moved when it was queued; a page that will never arrive
                # moves it back, so the next digest covers that period again.
                await self.storage.digests.unmark_sent(int(item.payload["digest_id"]))
        return True

    async def _send_text(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        """Send one HTML page; a page Telegram cannot parse goes once more as plain text
        (the markup lost, the words kept) instead of failing for good."""
        try:
            return await self.bot.send_message(chat_id, text, **kwargs)
        except BadRequest as exc:
            if "can't parse entities" not in exc.message.lower():
                raise
            logger.warning("Telegram could not parse a page's HTML; sent as plain text")
            plain = telegram_html.to_plain(text)
            return await self.bot.send_message(chat_id, plain, parse_mode=None, **kwargs)

    async def _send_call(self, chat_id: int, batch: list[OutboxItem]) -> None:
        """One notice for a chat's missed calls: the latest, and how many came within
        minutes. A notice of the same burst sent before is deleted, so one stays, and the
        escalated one arrives with a sound."""
        found = await self.storage.messages.get_many(
            [int(item.payload["message_id"]) for item in batch]
        )
        if not found:
            return
        call = max(found, key=lambda m: m.timestamp)
        chat = await self.storage.chats.get(call.chat_id)
        burst = await self.storage.messages.missed_calls(chat.id, call.timestamp)
        text = render.call_notice(chat, call, burst, self.tz)
        sent = await self._send_text(chat_id, text, reply_markup=keyboards.call(chat.id))
        before = self._call_notices.get((chat_id, chat.id))
        self._call_notices[(chat_id, chat.id)] = (sent.message_id, call.timestamp)
        if before is not None and call.timestamp - before[1] <= CALL_BURST:
            with contextlib.suppress(TelegramError):
                await self.bot.delete_message(chat_id, before[0])

    async def _send_notice(self, chat_id: int, item: OutboxItem) -> None:
        raw = item.payload.get("markup")
        markup = InlineKeyboardMarkup.de_json(raw, self.bot) if raw else None
        chunks = render.split(str(item.payload.get("text", "")))
        sent = await self._send_pages(chat_id, item, chunks, markup)
        if item.payload.get("message_id"):  # replying to this notice answers that message
            await self.storage.messages.link(
                chat_id, sent.message_id, int(item.payload["message_id"])
            )

    async def _send_pages(
        self, chat_id: int, item: OutboxItem, chunks: list[str], markup: Any
    ) -> Message:
        """Send an item's pages, the buttons under the last; each page sent is recorded, so
        a retry after a failure (a 429 half-way) resumes at the first page not sent."""
        done = min(int(item.payload.get("pages_sent", 0)), len(chunks) - 1)
        for i in range(done, len(chunks) - 1):
            await self._send_text(chat_id, chunks[i])
            await self.storage.telegram_outbox.set_pages_sent(item.id, i + 1)
        return await self._send_text(chat_id, chunks[-1], reply_markup=markup)

    async def _load(self, batch: list[OutboxItem]) -> list[tuple[Chat, StoredMessage, str]]:
        """The messages of a batch with their chats, in batch order, in two queries however
        many were merged (a deleted message is left out)."""
        ids = [int(item.payload["message_id"]) for item in batch]
        found = {m.id: m for m in await self.storage.messages.get_many(ids)}
        chats = await self.storage.chats.get_many({m.chat_id for m in found.values()})
        out = []
        for item, message_id in zip(batch, ids, strict=True):
            msg = found.get(message_id)
            if msg is not None and msg.chat_id in chats:
                out.append((chats[msg.chat_id], msg, str(item.payload.get("reason", ""))))
        return out

    async def _send_forwards(self, chat_id: int, batch: list[OutboxItem]) -> None:
        loaded = await self._load(batch)
        if not loaded:
            return
        if len(loaded) == 1:
            chat, msg, reason = loaded[0]
            sent = await self._send_single(chat_id, batch[0], chat, msg, reason)
            await self.storage.messages.link(chat_id, sent.message_id, msg.id)
            return
        chats = {c.id: c for c, _, _ in loaded}
        if len(chats) == 1:
            chat = next(iter(chats.values()))
            text = render.merged_text(chat, [(m, r) for _, m, r in loaded], self.tz)
            markup = keyboards.forward(loaded[-1][1].id, chat.id)
        else:
            parts = []
            for cid, chat in chats.items():
                items = [(m, r) for c, m, r in loaded if c.id == cid]
                parts.append(render.merged_text(chat, items, self.tz))
            text = (
                f"📬 {len(loaded)} important messages from {len(chats)} chats\n\n"
                + "\n\n".join(parts)
            )
            markup = None
        sent = await self._send_pages(chat_id, batch[0], render.split(text), markup)
        await self.storage.messages.link(chat_id, sent.message_id, loaded[-1][1].id)

    async def _send_single(
        self, chat_id: int, item: OutboxItem, chat: Chat, msg: StoredMessage, reason: str
    ) -> Message:
        text = render.forward_text(chat, msg, reason, self.tz)
        markup = keyboards.forward(
            msg.id, chat.id, msg.media_state in DOWNLOADABLE, len(msg.body) > render.FORWARD_BODY
        )
        path = Path(msg.media_path) if msg.media_path else None
        if msg.media_state == MediaState.DONE and path is not None and path.exists():
            data = await asyncio.to_thread(path.read_bytes)
            caption = telegram_html.truncate(text, CAPTION_LIMIT)
            kwargs: dict[str, Any] = {"caption": caption, "reply_markup": markup}
            if msg.kind == MessageKind.IMAGE:
                return await self.bot.send_photo(chat_id, data, **kwargs)
            if msg.kind == MessageKind.VIDEO:
                return await self.bot.send_video(chat_id, data, **kwargs)
            if msg.kind == MessageKind.VOICE:
                return await self.bot.send_voice(chat_id, data, **kwargs)
            return await self.bot.send_document(
                chat_id, data, filename=msg.media_file_name or path.name, **kwargs
            )
        return await self._send_pages(chat_id, item, render.split(text), markup)
