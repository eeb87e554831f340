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
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.senders import Senders
from core import notifications
from core.notifications import CallNotice, Forward, Notice, Notification, Ticks
from core.tasks import Clock, backoff_delay
from storage import Storage
from storage.domain import OutboxItem

logger = logging.getLogger(__name__)

MERGE_ALL_ABOVE = 3  # more waiting chats than this for one admin → one combined message
MAX_ATTEMPTS = 12
Loaded = tuple[OutboxItem, Any]


class TelegramNotifier:
    """Drains the Telegram outbox."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        tz: ZoneInfo,
        clock: Clock,
        owner_ids: frozenset[int],
        label_of: Callable[[int], str] = lambda _account_id: "",
    ) -> None:
        """``label_of`` names a chat's account in forwards ("" with a single account)."""
        self.bot = bot
        self.storage = storage
        self.tz = tz
        self.clock = clock
        self.owner_ids = owner_ids
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one drain at a time, or items would go out twice
        self.delivered = 0
        self.send = Senders(bot, storage, tz, label_of)

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
                await self.send.text(admin, text)
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
        # One reading of the clock for both: an item that fell due between two readings would
        # be neither due nor waiting, and a newer item of its chat would overtake it.
        now = self.clock.now()
        due = await self.storage.telegram_outbox.due(now, limit=500)
        waiting = await self.storage.telegram_outbox.first_waiting(now)
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
                send = self.send.ticks(chat_id, group[-1][1])  # type: ignore[arg-type]
            else:
                send = self.send.call(chat_id, [n for _, n in group])  # type: ignore[misc]
            if not await self._attempt(batch, send):
                return settled
            settled += len(batch)
        for item, n in loaded:
            if isinstance(n, CallNotice | Ticks | Forward):
                continue
            if not await self._attempt([item], self.send.notice(chat_id, item, n)):
                return settled
            settled += 1
        forwards = [(item, n) for item, n in loaded if isinstance(n, Forward)]
        groups: dict[str, list[tuple[OutboxItem, Forward]]] = defaultdict(list)
        for item, f in forwards:
            groups[item.merge_key or str(item.id)].append((item, f))
        batches = [forwards] if len(groups) > MERGE_ALL_ABOVE else list(groups.values())
        for fbatch in batches:
            batch = [item for item, _ in fbatch]
            if not await self._attempt(batch, self.send.forwards(chat_id, fbatch)):
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
