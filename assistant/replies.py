"""AI replies: only in chats that are Trusted AND have AI on, never for my own messages,
status broadcasts, echoes or old (history) messages, in groups only when I am mentioned.
The prompt holds that chat's recent messages only. Draft mode (default) sends the draft to
Telegram with Send / Edit / Discard; auto mode sends directly, up to a daily cap per chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant import prompts
from assistant.llm.base import LLMError
from assistant.llm.guard import GuardedLLM
from assistant.preferences import PreferenceService
from assistant.sending import SendingService, SendOutcome
from assistant.triage_rules import TriageRules, mentions_me
from core.events import OutgoingMessage
from core.ids import is_broadcast_jid
from core.tasks import Clock
from storage import Storage
from storage.domain import Chat, Draft, StoredMessage

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 15
MAX_AGE = timedelta(minutes=15)
MAX_REPLY = 2000

DraftReady = Callable[[Draft, Chat, StoredMessage], Awaitable[None]]
AutoSent = Callable[[Chat, str, SendOutcome], Awaitable[None]]


class ReplyService:
    """Decides whether to answer, asks the LLM, and drafts or sends."""

    def __init__(
        self,
        storage: Storage,
        llm: GuardedLLM,
        sending: Callable[[int], SendingService],
        prefs: PreferenceService,
        rules: TriageRules,
        clock: Clock,
        tz: ZoneInfo,
        daily_cap: int = 5,
        on_draft: DraftReady | None = None,
        on_auto: AutoSent | None = None,
    ) -> None:
        """``sending`` gives the outbox of an account id (a reply leaves from the account
        that received the message); ``on_draft`` shows the owner a draft to approve;
        ``on_auto`` tells them what was sent on their behalf."""
        self.storage = storage
        self.llm = llm
        self.sending = sending
        self.prefs = prefs
        self.rules = rules
        self.clock = clock
        self.tz = tz
        self.daily_cap = daily_cap
        self.on_draft = on_draft
        self.on_auto = on_auto

    def skip_reason(self, msg: StoredMessage, chat: Chat) -> str | None:
        """Return why no AI reply is made, or None when one may be."""
        p = self.prefs.for_account(chat.account_id)  # an account may switch its own off
        checks = [
            (not p.ai_replies, "AI replies are switched off"),
            (not (chat.trusted and chat.ai_enabled), "chat is not Trusted with AI on"),
            (msg.from_me, "my own message"),
            (msg.history, "old message from history"),
            (is_broadcast_jid(chat.jid), "status or broadcast"),
            (self.clock.now() - msg.timestamp > MAX_AGE, "message too old"),
            (chat.is_group and not mentions_me(msg, self.rules), "group without a mention"),
            (not self.llm.available, "LLM unavailable"),
            (not (chat.cloud_llm_allowed or self.llm.is_local), "chat forbids cloud LLMs"),
            (not msg.body.strip(), "nothing to answer"),
        ]
        return next((why for failed, why in checks if failed), None)

    async def consider(self, msg: StoredMessage, chat: Chat) -> None:
        """Draft or send a reply to ``msg`` when every gate allows it."""
        why = self.skip_reason(msg, chat)
        if why is not None:
            logger.debug("no AI reply for message %d: %s", msg.id, why)
            return
        text = await self.compose(chat, msg)
        if not text:
            return
        if chat.ai_auto and await self._under_cap(chat):
            marker = self.prefs.current.auto_marker
            body = f"{text}\n{marker}" if marker else text
            outcome = await self.sending(chat.account_id).send(
                OutgoingMessage(
                    to=chat.jid, text=body, quoted_id=msg.wa_id, quoted_sender=msg.sender
                ),
                origin="ai-auto",
            )
            await self.storage.drafts.add(chat.id, msg.id, body, state="auto")
            if self.on_auto is not None:
                await self.on_auto(chat, body, outcome)
            return
        draft = await self.storage.drafts.add(chat.id, msg.id, text)
        if self.on_draft is not None:
            await self.on_draft(draft, chat, msg)

    async def compose(self, chat: Chat, msg: StoredMessage) -> str:
        """Ask the LLM for a reply, with this chat's recent messages as the only context."""
        recent = await self.storage.messages.last(chat.id, CONTEXT_MESSAGES)
        history = [
            prompts.turn(m.from_me, m.sender_name, m.body[:500])
            for m in recent
            if m.body and not m.deleted  # a deleted message is never shown to the model
        ]
        p = self.prefs.current
        try:
            answer = await self.llm.complete(
                prompts.reply_messages(p.reply_prompt, chat.name, history),
                timeout=60.0,
                max_tokens=p.llm_max_tokens,
                temperature=p.llm_temperature,
            )
        except LLMError:
            return ""
        return answer.strip()[:MAX_REPLY]

    async def _under_cap(self, chat: Chat) -> bool:
        local = self.clock.now().astimezone(self.tz)
        midnight = datetime.combine(local.date(), datetime.min.time(), self.tz)
        sent = await self.storage.drafts.count_since(chat.id, "auto", midnight)
        return sent < self.daily_cap

    async def send_draft(self, draft_id: int) -> tuple[Chat, SendOutcome] | None:
        """Send a waiting draft as a quoted reply; None when it was already settled."""
        draft = await self.storage.drafts.get(draft_id)
        if draft is None or not await self.storage.drafts.settle(draft_id, "sent"):
            return None
        chat = await self.storage.chats.get(draft.chat_id)
        msg = await self.storage.messages.get(draft.message_id)
        out = OutgoingMessage(
            to=chat.jid,
            text=draft.text,
            quoted_id=msg.wa_id if msg else None,
            quoted_sender=msg.sender if msg else None,
        )
        return chat, await self.sending(chat.account_id).send(out, origin="ai-draft")

    async def discard(self, draft_id: int) -> bool:
        """Discard a draft; False when it was already sent or discarded."""
        return await self.storage.drafts.settle(draft_id, "discarded")
