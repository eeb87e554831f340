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

from bot import keyboards, render, render_notice, telegram_html
from core import notifications
from core.ids import MessageKind
from core.notifications import CallNotice, Draft, Forward, Notice, Notification, Prepared, Ticks
from core.tasks import Clock, backoff_delay
from storage import Storage
from storage.domain import Chat, MediaState, OutboxItem, StoredMessage

logger = logging.getLogger(__name__)

#: Missed-call notices of one chat this close together replace each other.
CALL_BURST = timedelta(minutes=15)
MERGE_ALL_ABOVE = 3  # more waiting chats than this for one admin → one combined message
MAX_ATTEMPTS = 12
Loaded = tuple[OutboxItem, Any]
#: The notifications rendered from the messages they point at (render.forward_text,
#: render.call_notice, render.draft_text); the rest are in render_notice.TEXT.
RENDERED_FROM_STORE = (Forward, CallNotice, Draft)
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
        await self.storage.telegram_outbox.add(
            Forward(message_id, "downloaded on request"), [admin]
        )
        self.wake()

    async def tell(self, notification: Notification) -> None:
        """Queue a notification to every admin."""
        await self.storage.telegram_outbox.add(notification, self.owner_ids)
        self.wake()

    async def notice(self, text: str) -> None:
        """Queue a plain-text notice to every admin."""
        await self.tell(Notice(text))

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

    async def _read(self, items: list[OutboxItem]) -> tuple[list[Loaded], int]:
        """Each item with its notification; an item whose payload does not fit its kind is
        failed (logged, kept in the table) and left out."""
        out, bad = [], 0
        for item in items:
            try:
                out.append((item, notifications.load(item.kind, item.payload)))
            except (KeyError, TypeError, ValueError) as exc:
                logger.error(
                    "Telegram outbox item %d (%s) unreadable: %s", item.id, item.kind, exc
                )
                await self.storage.telegram_outbox.mark_failed(item.id, f"unreadable: {exc}")
                bad += 1
        return out, bad

    async def _deliver_to(self, chat_id: int, items: list[OutboxItem]) -> int:
        loaded, settled = await self._read(items)
        by_chat: dict[str, list[Loaded]] = defaultdict(list)
        # A missed call first: it is the most urgent news.
        for pair in (p for p in loaded if isinstance(p[1], CallNotice)):
            by_chat[pair[0].merge_key or str(pair[0].id)].append(pair)
        # Ticks of one sent message waiting together become one edit, to the latest state.
        for pair in (p for p in loaded if isinstance(p[1], Ticks)):
            by_chat[pair[0].merge_key or str(pair[0].id)].append(pair)
        for group in by_chat.values():
            batch = [item for item, _ in group]
            if isinstance(group[0][1], Ticks):
                send = self._edit_ticks(chat_id, group[-1][1])  # type: ignore[arg-type]
            else:
                send = self._send_call(chat_id, [n for _, n in group])  # type: ignore[misc]
            if not await self._attempt(batch, send):
                return settled
            settled += len(batch)
        for item, n in loaded:
            if isinstance(n, CallNotice | Ticks | Forward):
                continue
            if not await self._attempt([item], self._send_notice(chat_id, item, n)):
                return settled
            settled += 1
        forwards = [(item, n) for item, n in loaded if isinstance(n, Forward)]
        groups: dict[str, list[tuple[OutboxItem, Forward]]] = defaultdict(list)
        for item, f in forwards:
            groups[item.merge_key or str(item.id)].append((item, f))
        batches = [forwards] if len(groups) > MERGE_ALL_ABOVE else list(groups.values())
        for fbatch in batches:
            batch = [item for item, _ in fbatch]
            if not await self._attempt(batch, self._send_forwards(chat_id, fbatch)):
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

    async def _send_call(self, chat_id: int, batch: list[CallNotice]) -> None:
        """One notice for a chat's missed calls: the latest, and how many came within
        minutes. A notice of the same burst sent before is deleted, so one stays, and the
        escalated one arrives with a sound."""
        found = await self.storage.messages.get_many([n.message_id for n in batch])
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

    async def _edit_ticks(self, chat_id: int, latest: Ticks) -> None:
        """Show a sent message's latest state on its confirmation (edited in place); states
        only move on, so the newest item of a batch is the furthest."""
        text = render_notice.ticks(latest)
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=latest.message_id)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def _send_notice(self, chat_id: int, item: OutboxItem, n: Any) -> None:
        markup: Any = None
        answers = None  # replying to this notice answers that WhatsApp message
        if isinstance(n, Draft):
            found = await self._load([(n.message_id, "")])
            if not found:
                return  # the message is gone: so is the point of its draft
            chat, msg, _ = found[0]
            text = render.draft_text(chat, msg, n.text, self.tz)
            markup, answers = keyboards.draft(n.draft_id), msg.id
        else:
            text = render_notice.text_of(n)
            if isinstance(n, Prepared):
                raw = n.markup
                markup = InlineKeyboardMarkup.de_json(dict(raw), self.bot) if raw else None
                answers = n.message_id
        sent = await self._send_pages(chat_id, item, render.split(text), markup)
        if answers:
            await self.storage.messages.link(chat_id, sent.message_id, answers)

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

    async def _load(self, wanted: list[tuple[int, str]]) -> list[tuple[Chat, StoredMessage, str]]:
        """The (message id, reason) pairs' messages with their chats, in order, in two
        queries however many were merged (a deleted message is left out)."""
        found = {m.id: m for m in await self.storage.messages.get_many([i for i, _ in wanted])}
        chats = await self.storage.chats.get_many({m.chat_id for m in found.values()})
        out = []
        for message_id, reason in wanted:
            msg = found.get(message_id)
            if msg is not None and msg.chat_id in chats:
                out.append((chats[msg.chat_id], msg, reason))
        return out

    async def _send_forwards(self, chat_id: int, fbatch: list[tuple[OutboxItem, Forward]]) -> None:
        batch = [item for item, _ in fbatch]
        loaded = await self._load([(f.message_id, f.reason) for _, f in fbatch])
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
