"""Sending each kind of notification to one Telegram chat: rendered (``bot/render*.py``,
``bot/keyboards.py``) and sent; whatever Telegram raises goes back to the notifier, which
retries or gives up. Forwards, calls and drafts are rendered from the stored messages they
point at."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError

from bot import keyboards, render, render_digest, render_messages, render_notice, telegram_html
from core.ids import MessageKind
from core.notifications import CallNotice, DigestReady, Draft, Forward, Prepared, Ticks
from storage import Storage
from storage.domain import Chat, MediaState, OutboxItem, StoredMessage

logger = logging.getLogger(__name__)

#: Missed-call notices of one chat this close together replace each other.
CALL_BURST = timedelta(minutes=15)
CAPTION_LIMIT = 1024
#: Attachments not fetched by themselves that the owner can fetch with a button.
DOWNLOADABLE = frozenset({MediaState.SKIPPED, MediaState.FAILED})
#: The notifications rendered from the messages they point at (``render_messages``:
#: forward_text, call_notice, draft_text) or, a digest, from its report (render_digest);
#: the rest are in render_notice.TEXT.
RENDERED_HERE = (Forward, CallNotice, Draft, DigestReady)


class Senders:
    """Send one notification (or a merged batch) to one Telegram chat."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        tz: ZoneInfo,
        label_of: Callable[[int], str] = lambda _account_id: "",
    ) -> None:
        """``label_of`` names a chat's account in front of it ("" with a single account)."""
        self.bot = bot
        self.storage = storage
        self.tz = tz
        self.label_of = label_of
        #: (admin, chat id) → the last missed-call notice: (its message id, the call's time).
        self._call_notices: dict[tuple[int, int], tuple[int, datetime]] = {}

    async def text(self, chat_id: int, text: str, **kwargs: Any) -> Message:
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

    async def call(self, chat_id: int, batch: list[CallNotice]) -> None:
        """One notice for a chat's missed calls: the latest, and how many came within
        minutes. A notice of the same burst sent before is deleted, so one stays, and the
        escalated one arrives with a sound."""
        found = await self.storage.messages.get_many([n.message_id for n in batch])
        if not found:
            return
        call = max(found, key=lambda m: m.timestamp)
        chat = await self.storage.chats.get(call.chat_id)
        burst = await self.storage.messages.missed_calls(chat.id, call.timestamp)
        text = render_messages.call_notice(
            chat, call, burst, self.tz, self.label_of(chat.account_id)
        )
        sent = await self.text(chat_id, text, reply_markup=keyboards.call(chat.id))
        before = self._call_notices.get((chat_id, chat.id))
        self._call_notices[(chat_id, chat.id)] = (sent.message_id, call.timestamp)
        if before is not None and call.timestamp - before[1] <= CALL_BURST:
            with contextlib.suppress(TelegramError):
                await self.bot.delete_message(chat_id, before[0])

    async def ticks(self, chat_id: int, latest: Ticks) -> None:
        """Show a sent message's latest state on its confirmation (edited in place); states
        only move on, so the newest item of a batch is the furthest."""
        text = render_notice.ticks(latest)
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=latest.message_id)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def notice(self, chat_id: int, item: OutboxItem, n: Any) -> None:
        """Render one notification of any kind but forwards and send it."""
        markup: Any = None
        answers = None  # replying to this notice answers that WhatsApp message
        if isinstance(n, DigestReady):
            await self.digest(chat_id, item, n)
            return
        if isinstance(n, Draft):
            found = await self.load([(n.message_id, "")])
            if not found:
                return  # the message is gone: so is the point of its draft
            chat, msg, _ = found[0]
            text = render_messages.draft_text(
                chat, msg, n.text, self.tz, self.label_of(chat.account_id)
            )
            markup, answers = keyboards.draft(n.draft_id), msg.id
        else:
            text = render_notice.text_of(n)
            if isinstance(n, Prepared):
                raw = n.markup
                markup = InlineKeyboardMarkup.de_json(dict(raw), self.bot) if raw else None
                answers = n.message_id
        sent = await self.pages(chat_id, item, render.split(text), markup)
        if answers:
            await self.storage.messages.link(chat_id, sent.message_id, answers)

    async def digest(self, chat_id: int, item: OutboxItem, n: DigestReady) -> None:
        """A digest's pages, each with its chats' buttons; a retry resumes at the first page
        not sent."""
        pages = render_digest.pages(n.report)
        done = min(int(item.payload.get("pages_sent", 0)), len(pages) - 1)
        for i in range(done, len(pages)):
            text, markup = pages[i]
            await self.text(chat_id, text, reply_markup=markup)
            if i < len(pages) - 1:
                await self.storage.telegram_outbox.set_pages_sent(item.id, i + 1)

    async def pages(
        self, chat_id: int, item: OutboxItem, chunks: list[str], markup: Any
    ) -> Message:
        """Send an item's pages, the buttons under the last; each page sent is recorded, so
        a retry after a failure (a 429 half-way) resumes at the first page not sent."""
        done = min(int(item.payload.get("pages_sent", 0)), len(chunks) - 1)
        for i in range(done, len(chunks) - 1):
            await self.text(chat_id, chunks[i])
            await self.storage.telegram_outbox.set_pages_sent(item.id, i + 1)
        return await self.text(chat_id, chunks[-1], reply_markup=markup)

    async def load(self, wanted: list[tuple[int, str]]) -> list[tuple[Chat, StoredMessage, str]]:
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

    async def forwards(self, chat_id: int, fbatch: list[tuple[OutboxItem, Forward]]) -> None:
        """Send a batch of forwards (several of one chat merge into one message)."""
        batch = [item for item, _ in fbatch]
        loaded = await self.load([(f.message_id, f.reason) for _, f in fbatch])
        if not loaded:
            return
        if len(loaded) == 1:
            chat, msg, reason = loaded[0]
            sent = await self.single(chat_id, batch[0], chat, msg, reason)
            await self.storage.messages.link(chat_id, sent.message_id, msg.id)
            return
        chats = {c.id: c for c, _, _ in loaded}
        if len(chats) == 1:
            chat = next(iter(chats.values()))
            items = [(m, r) for _, m, r in loaded]
            text = render_messages.merged_text(
                chat, items, self.tz, self.label_of(chat.account_id)
            )
            markup = keyboards.forward(loaded[-1][1].id, chat.id)
        else:
            parts = []
            for cid, chat in chats.items():
                items = [(m, r) for c, m, r in loaded if c.id == cid]
                parts.append(
                    render_messages.merged_text(
                        chat, items, self.tz, self.label_of(chat.account_id)
                    )
                )
            text = (
                f"📬 {len(loaded)} important messages from {len(chats)} chats\n\n"
                + "\n\n".join(parts)
            )
            markup = None
        sent = await self.pages(chat_id, batch[0], render.split(text), markup)
        await self.storage.messages.link(chat_id, sent.message_id, loaded[-1][1].id)

    async def single(
        self, chat_id: int, item: OutboxItem, chat: Chat, msg: StoredMessage, reason: str
    ) -> Message:
        """Send one forward with its buttons (and its stored media); return the message."""
        text = render_messages.forward_text(
            chat, msg, reason, self.tz, self.label_of(chat.account_id)
        )
        markup = keyboards.forward(
            msg.id,
            chat.id,
            msg.media_state in DOWNLOADABLE,
            len(msg.body) > render_messages.FORWARD_BODY,
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
        return await self.pages(chat_id, item, render.split(text), markup)
