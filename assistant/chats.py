"""Chat use-cases for the control plane: list, find, card, toggles, mute, feedback."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import InvalidInput, NotFound
from core.ids import jid_user
from core.tasks import Clock
from storage import Storage
from storage.chat_search import MATCH_EXACT, MATCH_WORD
from storage.domain import Chat, Page, StoredMessage

FLAG_OF = {
    "trusted": "trusted",
    "ai": "ai_enabled",
    "auto": "ai_auto",
    "digest": "include_in_digest",
    "cloud": "cloud_llm_allowed",
}
PER_PAGE = 8


class Ambiguous(NotFound):
    """Several chats match what was typed: the owner picks one."""

    def __init__(self, name: str, candidates: list[Chat]) -> None:
        shown = ", ".join(c.name for c in candidates[:5])
        super().__init__(f"“{name}” matches several chats ({shown}); pick one")
        self.name = name
        self.candidates = candidates


class ChatService:
    """What the admin can see and change about WhatsApp chats."""

    def __init__(self, storage: Storage, clock: Clock, tz: ZoneInfo) -> None:
        self.storage = storage
        self.clock = clock
        self.tz = tz

    async def page(
        self, search: str = "", page: int = 0, account_id: int | None = None
    ) -> Page[Chat]:
        """One page of the chat list, most recently active first, narrowed to chats matching
        ``search`` (and to one account's chats when ``account_id`` is given)."""
        return await self.storage.chats.list_page(search, page, PER_PAGE, account_id)

    async def get(self, chat_id: int) -> Chat:
        """Return the chat with this id; raise ``NotFound`` when there is none."""
        return await self.storage.chats.get(chat_id)

    async def find_one(self, name: str) -> tuple[Chat | None, list[Chat]]:
        """Return (the chat, []) for a clear match, else (None, candidates). A chat is found
        by any name it was known by or its number, in any case, without accents or emoji;
        a clear match is the one chat matching a whole name, or else the one matching a
        whole word of a name ("sofia" for "Sofía Ramírez"). Anything less asks."""
        found = await self.storage.chats.find(name)
        if not found:
            raise NotFound(f"no chat matches “{name}”; see /chats")
        best = found[0][0]
        top = [c for rank, c in found if rank == best]
        if len(top) == 1 and best <= MATCH_WORD:
            return top[0], []
        if len(found) == 1:
            return found[0][1], []
        return None, [c for _, c in found][:8]

    async def toggle(self, chat_id: int, action: str) -> Chat:
        """Flip one of the chat's switches (an action of ``FLAG_OF``) and return the changed
        chat."""
        flag = FLAG_OF.get(action)
        if flag is None:
            raise InvalidInput(f"unknown toggle {action!r}")
        chat = await self.storage.chats.get(chat_id)
        return await self.storage.chats.set_flag(chat_id, flag, not getattr(chat, flag))

    async def mute(self, chat_id: int, option: str) -> Chat:
        """Mute the chat for 8 hours ("mute8h"), until 08:00 tomorrow ("mutetm"), or unmute it
        ("unmute"); return the changed chat."""
        now = self.clock.now()
        if option == "mute8h":
            until: datetime | None = now + timedelta(hours=8)
        elif option == "mutetm":
            local = now.astimezone(self.tz)
            tomorrow = datetime.combine(local.date() + timedelta(days=1), time(8, 0), self.tz)
            until = tomorrow
        elif option == "unmute":
            until = None
        else:
            raise InvalidInput(f"unknown mute option {option!r}")
        return await self.storage.chats.set_muted_until(chat_id, until)

    async def last_messages(self, chat_id: int, n: int = 10) -> tuple[Chat, list[StoredMessage]]:
        """The chat and its last ``n`` messages, oldest first; the chat counts as read from now
        on."""
        chat = await self.storage.chats.get(chat_id)
        messages = await self.storage.messages.last(chat_id, n)
        await self.storage.chats.mark_read(chat_id)
        return chat, messages

    async def status_posters(self, hours: int = 24) -> list[tuple[str, int, datetime]]:
        """Who posted status updates in the last ``hours``: (name, posts, latest)."""
        since = self.clock.now() - timedelta(hours=hours)
        rows = await self.storage.messages.status_posters(since)
        return [(name or "+" + jid_user(sender), n, at) for sender, name, n, at in rows]

    async def not_important(self, message_id: int) -> Chat:
        """Record "not important" on a forward: this chat scores lower from now on."""
        msg = await self.storage.messages.get(message_id)
        if msg is None:
            raise NotFound("that message is no longer stored")
        await self.storage.messages.set_feedback(message_id, -1)
        await self.storage.chats.adjust_bias(msg.chat_id, -1)
        return await self.storage.chats.get(msg.chat_id)

    async def liked(self, message_id: int) -> Chat:
        """Record 👍 on a forward: this chat scores higher from now on."""
        msg = await self.storage.messages.get(message_id)
        if msg is None:
            raise NotFound("that message is no longer stored")
        await self.storage.messages.set_feedback(message_id, 1)
        await self.storage.chats.adjust_bias(msg.chat_id, 1)
        return await self.storage.chats.get(msg.chat_id)

    async def not_forwarded(
        self, chat_id: int, threshold: int, n: int = 8
    ) -> tuple[Chat, list[StoredMessage]]:
        """The chat's latest incoming messages that scored below ``threshold`` (newest
        first, at most ``n``): the ones the owner may say should have been forwarded."""
        chat = await self.storage.chats.get(chat_id)
        recent = await self.storage.messages.last(chat_id, 30)
        picks = [
            m
            for m in reversed(recent)
            if not m.from_me and not m.deleted and (m.importance or 0) < threshold
        ]
        return chat, picks[:n]

    async def message(self, message_id: int) -> tuple[Chat, StoredMessage]:
        """The stored message with this id and its chat; raise ``NotFound`` when it is gone."""
        msg = await self.storage.messages.get(message_id)
        if msg is None:
            raise NotFound("that message is no longer stored")
        return await self.storage.chats.get(msg.chat_id), msg

    async def replied_message(
        self, tg_chat_id: int, tg_message_id: int
    ) -> tuple[Chat, StoredMessage] | None:
        """Return the WhatsApp message a Telegram message shows, if any."""
        msg = await self.storage.messages.linked(tg_chat_id, tg_message_id)
        if msg is None:
            return None
        return await self.storage.chats.get(msg.chat_id), msg

    async def search(self, text: str) -> list[tuple[Chat, StoredMessage]]:
        """Up to 15 stored messages containing ``text``, each with its chat; raise
        ``InvalidInput`` for an empty search."""
        if not text.strip():
            raise InvalidInput("tell me what to search for, e.g. /search invoice")
        found = await self.storage.messages.search(text, limit=15)
        chats = await self.storage.chats.get_many(m.chat_id for m in found)
        return [(chats[m.chat_id], m) for m in found]

    async def split_target(self, text: str) -> tuple[Chat, str]:
        """Split "/send" arguments into (chat, message): the longest leading words that
        name a chat exactly win; otherwise the first word is searched."""
        text = text.strip()
        if text.startswith('"') and '"' in text[1:]:
            name, _, body = text[1:].partition('"')
            chat, candidates = await self.find_one(name)
            if chat is None:
                raise Ambiguous(name, candidates)
            return chat, body.strip()
        words = text.split()
        for k in range(len(words) - 1, 0, -1):
            name = " ".join(words[:k])
            exact = [c for rank, c in await self.storage.chats.find(name) if rank == MATCH_EXACT]
            if len(exact) == 1:
                return exact[0], text.split(None, k)[k].strip()
        chat, candidates = await self.find_one(words[0])
        if chat is None:
            raise Ambiguous(words[0], candidates)
        return chat, text.split(None, 1)[1].strip()
