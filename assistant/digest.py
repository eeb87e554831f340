"""Digests: everything since the last one, per chat, most important first.

Heuristic (no LLM needed): top messages by score, questions and requests addressed to me,
threads where someone waits for my answer, counts for the rest. The rendered HTML is
stored, so a digest can be shown again. The "since the last digest" mark moves only when a
digest is marked sent (daily job) or confirmed (/digest).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant.summarize import ChatText, Summarizer, pick_lines
from assistant.triage import TriageRules, is_question, mentions_me
from storage import Storage
from storage.domain import Chat, Digest, StoredMessage
from whatsapp.tasks import Clock
from whatsapp.types import STATUS_BROADCAST

TOP_PER_CHAT = 3
MAX_SECTIONS = 25
SNIPPET = 140


@dataclass(frozen=True)
class DigestSection:
    """One chat's part of a digest."""

    chat: Chat
    html: str
    top_score: int
    count: int


@dataclass(frozen=True)
class DigestView:
    """A generated digest, ready to render (header, one section per chat, footer)."""

    digest: Digest
    header: str
    sections: tuple[DigestSection, ...]
    footer: str


def _snippet(msg: StoredMessage) -> str:
    body = msg.body.replace("\n", " ").strip() or f"[{msg.kind.value}]"
    if len(body) > SNIPPET:
        body = body[: SNIPPET - 1] + "…"
    return html.escape(body)


def _who(msg: StoredMessage, chat: Chat) -> str:
    if not chat.is_group:
        return ""
    return html.escape(msg.sender_name or msg.sender.partition("@")[0][-4:]) + ": "


class DigestService:
    """Builds, stores and marks digests."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        tz: ZoneInfo,
        rules: TriageRules,
        unanswered_hours: int | Callable[[], int] = 4,
        summarizer: Summarizer | None = None,
    ) -> None:
        """``unanswered_hours`` may be a callable: it is read at every digest, so a change
        in /settings applies at once."""
        self.storage = storage
        self.clock = clock
        self.tz = tz
        self.rules = rules
        self._unanswered = (
            unanswered_hours if callable(unanswered_hours) else (lambda: unanswered_hours)
        )
        self.summarizer = summarizer

    async def period_start(self) -> datetime:
        """Return where the next digest starts: the end of the last one, else 24 h ago."""
        last = await self.storage.digests.last_sent()
        return last.period_end if last else self.clock.now() - timedelta(hours=24)

    async def build(self, kind: str = "daily", hours: float | None = None) -> DigestView:
        """Generate and store a digest ("daily", "manual" or "catchup")."""
        end = self.clock.now()
        start = end - timedelta(hours=hours) if hours else await self.period_start()
        messages = await self.storage.messages.between(start, end)
        by_chat: dict[int, list[StoredMessage]] = defaultdict(list)
        for msg in messages:
            by_chat[msg.chat_id].append(msg)
        sections: list[DigestSection] = []
        skipped = 0
        for chat_id, items in by_chat.items():
            chat = await self.storage.chats.get(chat_id)
            if chat.jid == STATUS_BROADCAST:
                continue  # status updates are not conversations: /status_updates lists them
            if not chat.include_in_digest or chat.is_muted(end):
                skipped += len(items)
                continue
            section = self._section(chat, items, end)
            if section is not None:
                sections.append(section)
        sections.sort(key=lambda s: (-s.top_score, -s.count))
        shown = await self._summarize(sections[:MAX_SECTIONS], by_chat)
        rest = sum(s.count for s in sections[MAX_SECTIONS:])
        incoming = sum(s.count for s in sections)
        local = start.astimezone(self.tz)
        title = {"catchup": "Catch-up", "manual": "Digest", "daily": "Daily digest"}[kind]
        header = (
            f"<b>{title}</b> — since {local:%a %d %b %H:%M}\n"
            f"{incoming} new message(s) in {len(sections)} chat(s)"
        )
        footer_parts = []
        if rest:
            footer_parts.append(
                f"{rest} more message(s) in {len(sections) - len(shown)} quieter chat(s)"
            )
        if skipped:
            footer_parts.append(f"{skipped} from muted or excluded chats left out")
        if not sections:
            footer_parts.append("Nothing new. Enjoy the quiet.")
        footer = "\n".join(footer_parts)
        text = "\n\n".join([header, *(s.html for s in shown), footer]).strip()
        digest = await self.storage.digests.add(kind, start, end, text, incoming)
        return DigestView(digest, header, tuple(shown), footer)

    def _section(
        self, chat: Chat, items: list[StoredMessage], now: datetime
    ) -> DigestSection | None:
        incoming = [m for m in items if not m.from_me and not m.deleted]
        if not incoming:
            return None
        last_mine = max((m.timestamp for m in items if m.from_me), default=None)
        top = sorted(incoming, key=lambda m: (-(m.importance or 0), m.timestamp))[:TOP_PER_CHAT]
        asks = [
            m
            for m in incoming
            if (is_question(m.body) and (not chat.is_group or mentions_me(m, self.rules)))
            and (last_mine is None or m.timestamp > last_mine)
        ]
        senders = sorted({m.sender_name for m in incoming if m.sender_name})
        kind = "group" if chat.is_group else "person"
        lines = [
            f"<b>{html.escape(chat.name)}</b> ({kind}) — {len(incoming)} message(s)"
            + (f" from {html.escape(', '.join(senders[:4]))}" if chat.is_group and senders else "")
        ]
        for msg in top:
            score = f"[{msg.importance}] " if msg.importance is not None else ""
            lines.append(f"• {score}{_who(msg, chat)}{_snippet(msg)}")
        for msg in asks[:3]:
            when = msg.timestamp.astimezone(self.tz)
            lines.append(
                f"❓ {_who(msg, chat) or html.escape(chat.name) + ': '}"
                f"{_snippet(msg)} <i>({when:%a %H:%M})</i>"
            )
        latest = incoming[-1]
        waiting = now - latest.timestamp
        if (
            (last_mine is None or latest.timestamp > last_mine)
            and asks
            and waiting >= timedelta(hours=self._unanswered())
        ):
            lines.append(
                f"⏳ waiting for your answer for {int(waiting.total_seconds() // 3600)} h"
            )
        top_score = max((m.importance or 0) for m in incoming)
        return DigestSection(chat, "\n".join(lines), top_score, len(incoming))

    async def _summarize(
        self, sections: list[DigestSection], by_chat: dict[int, list[StoredMessage]]
    ) -> list[DigestSection]:
        """Add an LLM summary line to each section the LLM may see (when one is configured)."""
        s = self.summarizer
        if s is None or not s.llm.available:
            return sections
        texts = [
            ChatText(i, sec.chat, pick_lines(sec.chat, by_chat[sec.chat.id]))
            for i, sec in enumerate(sections)
            if sec.chat.cloud_llm_allowed or s.llm.is_local
        ]
        summaries = await s.summarize(texts)
        out = []
        for i, sec in enumerate(sections):
            if i in summaries:
                head, _, rest = sec.html.partition("\n")
                text = f"{head}\n📝 {html.escape(summaries[i])}\n{rest}".rstrip()
                sec = replace(sec, html=text)
            out.append(sec)
        return out

    async def mark_sent(self, digest_id: int) -> None:
        """Move the 'since the last digest' mark to the end of this digest."""
        await self.storage.digests.mark_sent(digest_id)

    async def missed(self, scheduled_local: datetime) -> bool:
        """Return True when the most recent scheduled digest time passed without a digest."""
        last = await self.storage.digests.last_sent(("daily",))
        due = scheduled_local.astimezone(self.tz)
        if due > self.clock.now():
            due -= timedelta(days=1)
        if last is None:
            return False  # a first start is not a missed digest
        return last.sent_at is not None and last.sent_at < due

    async def latest(self) -> Digest | None:
        """Return the most recent stored digest (to show it again)."""
        recent = await self.storage.digests.recent(1)
        return recent[0] if recent else None

    async def get(self, digest_id: int) -> Digest | None:
        return await self.storage.digests.get(digest_id)
