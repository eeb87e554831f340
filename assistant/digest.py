"""Digests: everything since the last one — first what needs the owner, then per chat, most
important first, and what looks like a scam last.

Heuristic (no LLM needed): "Needs you" (questions and requests to me that I have not
answered, by score across chats), then each chat's top messages, questions to me and
threads where someone waits for my answer, counts for the rest; scams and chain letters
are left out of the sections and counted at the end with a few examples, marked. The
rendered HTML is stored, so a digest can be shown again. The "since the last digest" mark
moves only when a digest is marked sent (daily job) or confirmed (/digest).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from assistant import scam
from assistant.summarize import ChatText, Summarizer, pick_lines
from assistant.triage import SCAM_MARK, TriageRules, is_question, is_scam_reason, mentions_me
from core.ids import STATUS_BROADCAST
from core.tasks import Clock
from storage import Storage
from storage.domain import Chat, Digest, StoredMessage

TOP_PER_CHAT = 3
MAX_SECTIONS = 25
SNIPPET = 140
#: A message scored at least this (triage: "needs you today") counts as a request to me.
NEEDS_SCORE = 6
NEEDS_SHOWN = 10
SCAMS_SHOWN = 3


def _is_scam(msg: StoredMessage, chat: Chat) -> bool:
    """Marked a scam by triage, or (history messages skip that check) found one now."""
    if is_scam_reason(msg.reason):
        return True
    return msg.history and not msg.from_me and scam.check(msg.body, chat.known).is_scam


def _scams_block(scams: list[tuple[StoredMessage, Chat]]) -> str:
    """The scams, last: a count and a few examples, each marked."""
    if not scams:
        return ""
    lines = [f"<b>{SCAM_MARK}</b> — {len(scams)} message(s), left out above"]
    for msg, chat in scams[:SCAMS_SHOWN]:
        lines.append(f"⚠️ <b>{html.escape(chat.name)}</b>: {_who(msg, chat)}{_snippet(msg)}")
    return "\n".join(lines)


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
    #: "Needs you": questions and requests to the owner across chats ("" when none).
    needs: str = ""
    #: What looked like a scam, counted, with a few examples ("" when none).
    scams: str = ""


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
        needs: list[tuple[StoredMessage, Chat]] = []
        scams: list[tuple[StoredMessage, Chat]] = []
        for chat_id, items in by_chat.items():
            chat = await self.storage.chats.get(chat_id)
            if chat.jid == STATUS_BROADCAST:
                continue  # status updates are not conversations: /status_updates lists them
            if not chat.include_in_digest or chat.is_muted(end):
                skipped += len(items)
                continue
            flagged = {m.id for m in items if _is_scam(m, chat)}
            scams += [(m, chat) for m in items if m.id in flagged]
            items = [m for m in items if m.id not in flagged]
            needs += [(m, chat) for m in self._asks(chat, items)]
            section = self._section(chat, items, end)
            if section is not None:
                sections.append(section)
        sections.sort(key=lambda s: (-s.top_score, -s.count))
        shown = await self._summarize(sections[:MAX_SECTIONS], by_chat)
        rest = sum(s.count for s in sections[MAX_SECTIONS:])
        incoming = sum(s.count for s in sections) + len(scams)
        local = start.astimezone(self.tz)
        title = {"catchup": "Catch-up", "manual": "Digest", "daily": "Daily digest"}[kind]
        chats_seen = len({c.id for _, c in scams} | {s.chat.id for s in sections})
        header = (
            f"<b>{title}</b> — since {local:%a %d %b %H:%M}\n"
            f"{incoming} new message(s) in {chats_seen} chat(s)"
        )
        needs_html = self._needs_block(needs)
        scams_html = _scams_block(scams)
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
        blocks = [header, needs_html, *(s.html for s in shown), scams_html, footer]
        text = "\n\n".join(b for b in blocks if b).strip()
        digest = await self.storage.digests.add(kind, start, end, text, incoming)
        return DigestView(digest, header, tuple(shown), footer, needs_html, scams_html)

    def _asks(self, chat: Chat, items: list[StoredMessage]) -> list[StoredMessage]:
        """Questions and requests to me in this chat since my last message there: a question
        in a person chat or one that mentions me, or a message triage scored as needing me."""
        last_mine = max((m.timestamp for m in items if m.from_me), default=None)
        return [
            m
            for m in items
            if not m.from_me
            and not m.deleted
            and (last_mine is None or m.timestamp > last_mine)
            and (not chat.is_group or mentions_me(m, self.rules))
            and (is_question(m.body) or (m.importance or 0) >= NEEDS_SCORE)
        ]

    def _needs_block(self, needs: list[tuple[StoredMessage, Chat]]) -> str:
        if not needs:
            return ""
        needs.sort(key=lambda mc: (-(mc[0].importance or 0), mc[0].timestamp))
        lines = [f"<b>🙋 Needs you</b> ({len(needs)})"]
        for msg, chat in needs[:NEEDS_SHOWN]:
            when = msg.timestamp.astimezone(self.tz)
            lines.append(
                f"• <b>{html.escape(chat.name)}</b>: {_who(msg, chat)}{_snippet(msg)} "
                f"<i>({when:%a %H:%M})</i>"
            )
        if len(needs) > NEEDS_SHOWN:
            lines.append(f"… and {len(needs) - NEEDS_SHOWN} more in the chats below")
        return "\n".join(lines)

    def _section(
        self, chat: Chat, items: list[StoredMessage], now: datetime
    ) -> DigestSection | None:
        incoming = [m for m in items if not m.from_me and not m.deleted]
        if not incoming:
            return None
        last_mine = max((m.timestamp for m in items if m.from_me), default=None)
        asks = self._asks(chat, items)  # shown under "Needs you", not again here
        shown = {m.id for m in asks}
        top = sorted(
            (m for m in incoming if m.id not in shown),
            key=lambda m: (-(m.importance or 0), m.timestamp),
        )[:TOP_PER_CHAT]
        senders = sorted({m.sender_name for m in incoming if m.sender_name})
        kind = "group" if chat.is_group else "person"
        lines = [
            f"<b>{html.escape(chat.name)}</b> ({kind}) — {len(incoming)} message(s)"
            + (f" from {html.escape(', '.join(senders[:4]))}" if chat.is_group and senders else "")
        ]
        for msg in top:
            score = f"[{msg.importance}] " if msg.importance is not None else ""
            lines.append(f"• {score}{_who(msg, chat)}{_snippet(msg)}")
        if asks:
            lines.append(f"🙋 {len(asks)} question(s) or request(s) to you — under Needs you")
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
